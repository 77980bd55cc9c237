//! Reading typed configuration from environment variables, and the
//! settings every process shares ([`Shared`]).
//!
//! Every reader fails with a [`ConfigError`] that names the variable and the
//! expected form, so a bad deployment stops at start with a fix-it message.

use std::fmt::Display;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use crate::service::Service;

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {name}={shown}: {reason}")]
pub struct ConfigError {
    pub name: String,
    /// The value as it may be shown: secrets are never echoed.
    pub shown: String,
    pub reason: String,
}

/// A string variable, or `None` when unset or empty.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A parsed variable, or `default` when unset.
pub fn parse_or<T>(name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match optional(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|e: T::Err| ConfigError {
            name: name.to_owned(),
            shown: raw.clone(),
            reason: e.to_string(),
        }),
    }
}

/// A duration in seconds, or `default_secs` when unset. Must be positive.
pub fn seconds_or(name: &str, default_secs: u64) -> Result<std::time::Duration, ConfigError> {
    let secs: u64 = parse_or(name, default_secs)?;
    if secs == 0 {
        return Err(ConfigError {
            name: name.to_owned(),
            shown: "0".into(),
            reason: "must be a positive number of seconds".into(),
        });
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// An http(s) URL for a peer gRPC service, or `default` when unset.
pub fn endpoint_or(name: &str, default: &str) -> Result<String, ConfigError> {
    let value = optional(name).unwrap_or_else(|| default.to_owned());
    if !(value.starts_with("http://") || value.starts_with("https://")) {
        return Err(ConfigError {
            name: name.to_owned(),
            shown: value,
            reason: "expected an http:// or https:// URL, e.g. http://auth:50051".into(),
        });
    }
    Ok(value)
}

/// `iss` and `aud` of access tokens: what every verifier checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwt {
    pub issuer: String,
    pub audience: String,
}

impl Default for Jwt {
    fn default() -> Self {
        Self {
            issuer: "chat-auth".into(),
            audience: "chat".into(),
        }
    }
}

/// Where each service is reached, by the table of services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peers(std::collections::BTreeMap<Service, String>);

impl Peers {
    /// Every service at the same URL (a single process, or tests).
    pub fn all_at(url: &str) -> Self {
        Self(Service::all().map(|s| (s, url.to_owned())).collect())
    }

    /// `<SERVICE>_SERVICE_URL` for each service, else `default`.
    pub fn from_env(default: &str) -> Result<Self, ConfigError> {
        Service::all()
            .map(|s| Ok((s, endpoint_or(&s.url_variable(), default)?)))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn url(&self, service: Service) -> &str {
        &self.0[&service]
    }

    /// Points one service elsewhere (a replica, in tests).
    pub fn set(&mut self, service: Service, url: impl Into<String>) {
        self.0.insert(service, url.into());
    }
}

/// Where cross-process events and presence live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackplaneSettings {
    /// `REDIS_URL`: Redis pub/sub and presence; in-process when unset.
    pub redis_url: Option<String>,
    /// `REDIS_CHANNEL_PREFIX`: lets deployments share one Redis.
    pub prefix: String,
}

impl BackplaneSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let redis_url = match optional("REDIS_URL") {
            Some(url) if !(url.starts_with("redis://") || url.starts_with("rediss://")) => {
                return Err(ConfigError {
                    name: "REDIS_URL".into(),
                    shown: "(hidden)".into(),
                    reason: "expected redis://host:6379".into(),
                });
            }
            url => url,
        };
        Ok(Self {
            redis_url,
            prefix: optional("REDIS_CHANNEL_PREFIX").unwrap_or_else(|| "chat:".into()),
        })
    }

    /// The in-process bus and presence store, for one process.
    pub fn local() -> Self {
        Self {
            redis_url: None,
            prefix: "chat:".into(),
        }
    }
}

/// Settings every process shares, read once by the composition root and
/// handed to each part (linkerd2-proxy's root config built from per-part
/// configs).
#[derive(Debug, Clone)]
pub struct Shared {
    /// `DATA_DIR`: SQLite files and generated secrets.
    pub data_dir: PathBuf,
    pub jwt: Jwt,
    /// `INTERNAL_SECRET`: traded with the auth service for service tokens.
    pub internal_secret: SecretString,
    /// `PRESENCE_TTL_SECS`: how long a connection stays online without a
    /// refresh, so a dead gateway's users go offline within it.
    pub presence_ttl: Duration,
    pub peers: Peers,
    pub backplane: BackplaneSettings,
    pub limits: crate::limits::Limits,
    /// `ALLOWED_ORIGINS`: web pages on other origins that may call us.
    pub origins: crate::web::OriginPolicy,
}

/// The longest presence TTL: a dead gateway's users go offline within a minute.
pub const MAX_PRESENCE_TTL: Duration = Duration::from_secs(60);

impl Shared {
    /// Reads the shared settings; `default_peer` is where services are
    /// looked for when their own URL is unset.
    pub fn from_env(default_peer: &str) -> Result<Self, ConfigError> {
        let data_dir = optional("DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from);
        let presence_ttl = seconds_or("PRESENCE_TTL_SECS", 30)?;
        if presence_ttl > MAX_PRESENCE_TTL {
            return Err(ConfigError {
                name: "PRESENCE_TTL_SECS".into(),
                shown: presence_ttl.as_secs().to_string(),
                reason: "must be at most 60 so a dead gateway's users go offline within a minute".into(),
            });
        }
        let jwt = Jwt {
            issuer: optional("JWT_ISSUER").unwrap_or_else(|| Jwt::default().issuer),
            audience: optional("JWT_AUDIENCE").unwrap_or_else(|| Jwt::default().audience),
        };
        Ok(Self {
            internal_secret: crate::internal::secret_from_env(&data_dir)?,
            data_dir,
            jwt,
            presence_ttl,
            peers: Peers::from_env(default_peer)?,
            backplane: BackplaneSettings::from_env()?,
            limits: crate::limits::Limits::from_env()?,
            origins: crate::web::OriginPolicy::from_env()?,
        })
    }
}
