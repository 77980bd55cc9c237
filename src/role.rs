//! What one process runs: `chat [ROLE]`.

use std::fmt;
use std::str::FromStr;

use chat_platform::service::{self, Service};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Every service and the gateway in one process.
    All,
    /// HTTP only: REST, Socket.IO and the frontend.
    Gateway,
    /// One gRPC service.
    Service(Service),
    /// Apply every service's migrations and exit.
    Migrate,
}

impl Role {
    /// The services this role runs, from the table of services.
    pub fn services(self) -> Vec<Service> {
        match self {
            Self::All => Service::all().collect(),
            Self::Service(service) => vec![service],
            Self::Gateway | Self::Migrate => Vec::new(),
        }
    }

    pub fn serves_http(self) -> bool {
        matches!(self, Self::All | Self::Gateway)
    }

    pub fn serves_grpc(self) -> bool {
        !self.services().is_empty()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::Gateway => f.write_str("gateway"),
            Self::Migrate => f.write_str("migrate"),
            Self::Service(service) => f.write_str(service.as_str()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role `{0}`; expected one of: all, gateway, {services}, migrate", services = service::names())]
pub struct UnknownRole(String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(Self::All),
            "gateway" => Ok(Self::Gateway),
            "migrate" => Ok(Self::Migrate),
            other => other.parse().map(Self::Service).map_err(|_| UnknownRole(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_parses_from_its_name() {
        let roles = [Role::All, Role::Gateway, Role::Migrate]
            .into_iter()
            .chain(Service::all().map(Role::Service));
        for role in roles {
            assert_eq!(role.to_string().parse::<Role>().unwrap(), role);
        }
        let err = "chats".parse::<Role>().unwrap_err().to_string();
        assert!(
            err.contains("all, gateway, auth, profile, room, messaging, migrate"),
            "{err}"
        );
    }
}
