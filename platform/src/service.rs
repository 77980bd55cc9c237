//! The table of services: every place that runs, migrates, checks or names
//! the services iterates this one enum, so they cannot drift apart.

use std::fmt;
use std::str::FromStr;

use chat_proto::auth::v1::auth_service_server;
use chat_proto::messaging::v1::messaging_service_server;
use chat_proto::profile::v1::profile_service_server;
use chat_proto::room::v1::room_service_server;

/// One of the four gRPC services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, enum_iterator::Sequence)]
pub enum Service {
    Auth,
    Profile,
    Room,
    Messaging,
}

impl Service {
    /// Every service, in start-up order.
    pub fn all() -> impl Iterator<Item = Service> {
        enum_iterator::all::<Service>()
    }

    /// The short name: the role, the PostgreSQL schema, the SQLite file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Profile => "profile",
            Self::Room => "room",
            Self::Messaging => "messaging",
        }
    }

    /// The full gRPC name, as health checks and reflection report it; taken
    /// from the generated server, never spelled out again.
    pub const fn grpc_name(self) -> &'static str {
        match self {
            Self::Auth => auth_service_server::SERVICE_NAME,
            Self::Profile => profile_service_server::SERVICE_NAME,
            Self::Room => room_service_server::SERVICE_NAME,
            Self::Messaging => messaging_service_server::SERVICE_NAME,
        }
    }

    /// The environment variable naming where peers reach this service.
    pub fn url_variable(self) -> String {
        format!("{}_SERVICE_URL", self.as_str().to_uppercase())
    }

    /// The environment variable that moves this service to its own database.
    pub fn database_variable(self) -> String {
        format!("{}_DATABASE_URL", self.as_str().to_uppercase())
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown service `{given}`; expected one of: {}", names())]
pub struct UnknownService {
    given: String,
}

/// The short names, comma-separated, for error messages.
pub fn names() -> String {
    Service::all().map(Service::as_str).collect::<Vec<_>>().join(", ")
}

impl FromStr for Service {
    type Err = UnknownService;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::all()
            .find(|service| service.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownService { given: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_errors_list_the_choices() {
        for service in Service::all() {
            assert_eq!(service.as_str().parse::<Service>().unwrap(), service);
            assert!(
                service
                    .grpc_name()
                    .starts_with(&format!("chat.{}.v1.", service.as_str()))
            );
        }
        let err = "chat".parse::<Service>().unwrap_err().to_string();
        assert!(err.contains("auth, profile, room, messaging"), "{err}");
    }
}
