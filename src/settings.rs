//! The configuration of every part a process may run, read once.

use chat_platform::config::{self, ConfigError, Shared};
use chat_platform::db::DatabaseUrl;
use chat_platform::service::Service;

#[derive(Debug, Clone)]
pub struct Settings {
    /// What every part shares: token rules, the internal secret, peers, the backplane.
    pub shared: Shared,
    pub auth: chat_auth::Config,
    pub profile: chat_profile::Config,
    pub room: chat_room::Config,
    pub messaging: chat_messaging::Config,
    pub gateway: chat_gateway::Config,
    /// `SHUTDOWN_GRACE_SECS`: how long draining may take before the process exits.
    pub shutdown_grace: std::time::Duration,
}

impl Settings {
    /// Reads every setting from the environment. `default_peer` is where
    /// services are looked for when their own URL is unset.
    pub fn from_env(default_peer: &str) -> Result<Self, ConfigError> {
        let shared = Shared::from_env(default_peer)?;
        Ok(Self {
            auth: chat_auth::Config::from_env(&shared)?,
            profile: chat_profile::Config::from_env(&shared)?,
            room: chat_room::Config::from_env(&shared)?,
            messaging: chat_messaging::Config::from_env(&shared)?,
            gateway: chat_gateway::Config::from_env(&shared)?,
            shutdown_grace: config::seconds_or("SHUTDOWN_GRACE_SECS", 25)?,
            shared,
        })
    }

    /// The database a service owns.
    pub fn database_url(&self, service: Service) -> &DatabaseUrl {
        match service {
            Service::Auth => &self.auth.database_url,
            Service::Profile => &self.profile.database_url,
            Service::Room => &self.room.database_url,
            Service::Messaging => &self.messaging.database_url,
        }
    }
}
