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

/// The http(s) URL of a peer gRPC service (or several, comma-separated:
/// its replicas), or `default` when unset.
pub fn endpoint_or(name: &str, default: &str) -> Result<String, ConfigError> {
    let value = optional(name).unwrap_or_else(|| default.to_owned());
    let urls: Vec<&str> = value.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
    let valid = |u: &&str| u.starts_with("http://") || u.starts_with("https://");
    if urls.is_empty() || !urls.iter().all(valid) {
        return Err(ConfigError {
            name: name.to_owned(),
            shown: value,
            reason: "expected an http:// or https:// URL, e.g. http://auth:50051, or several separated by commas"
                .into(),
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
    /// `rediss://` connects with TLS.
    pub redis_url: Option<String>,
    /// `REDIS_CLUSTER_NODES`: seed nodes of a Redis Cluster (`host:port`,
    /// or `redis://`/`rediss://` URLs), used in place of `REDIS_URL`: the
    /// bus then uses sharded pub/sub.
    pub cluster_nodes: Vec<String>,
    /// Certificates for `rediss://`.
    pub tls: RedisTls,
    /// `REDIS_CHANNEL_PREFIX`: lets deployments share one Redis.
    pub prefix: String,
}

/// `REDIS_CA_FILE` (PEM roots to trust instead of the built-in web roots),
/// and `REDIS_CLIENT_CERT_FILE` + `REDIS_CLIENT_KEY_FILE` (PEM) for servers
/// that ask for a client certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedisTls {
    pub ca_file: Option<PathBuf>,
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
}

impl RedisTls {
    pub fn from_env() -> Result<Self, ConfigError> {
        let tls = Self {
            ca_file: optional("REDIS_CA_FILE").map(PathBuf::from),
            client_cert_file: optional("REDIS_CLIENT_CERT_FILE").map(PathBuf::from),
            client_key_file: optional("REDIS_CLIENT_KEY_FILE").map(PathBuf::from),
        };
        if tls.client_cert_file.is_some() != tls.client_key_file.is_some() {
            return Err(ConfigError {
                name: "REDIS_CLIENT_CERT_FILE".into(),
                shown: "(file paths)".into(),
                reason: "set both REDIS_CLIENT_CERT_FILE and REDIS_CLIENT_KEY_FILE, or neither".into(),
            });
        }
        Ok(tls)
    }

    /// Whether any certificate is configured (then the URLs must be `rediss://`).
    pub fn is_set(&self) -> bool {
        self.ca_file.is_some() || self.client_cert_file.is_some()
    }
}

fn redis_error(name: &str, reason: &str) -> ConfigError {
    ConfigError {
        name: name.into(),
        shown: "(hidden)".into(),
        reason: reason.into(),
    }
}

/// `host:port` becomes `redis://host:port`; URLs stay as they are.
fn cluster_node(node: &str) -> Result<String, ConfigError> {
    let node = node.trim();
    if node.starts_with("redis://") || node.starts_with("rediss://") {
        return Ok(node.to_owned());
    }
    match node.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() && !node.contains('/') => {
            Ok(format!("redis://{node}"))
        }
        _ => Err(redis_error(
            "REDIS_CLUSTER_NODES",
            "expected comma-separated host:port (or redis://, rediss:// URLs) of seed nodes",
        )),
    }
}

impl BackplaneSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let redis_url = optional("REDIS_URL");
        let cluster_nodes = optional("REDIS_CLUSTER_NODES")
            .map(|raw| {
                raw.split(',')
                    .filter(|n| !n.trim().is_empty())
                    .map(cluster_node)
                    .collect()
            })
            .transpose()?
            .unwrap_or_default();
        let settings = Self {
            redis_url,
            cluster_nodes,
            tls: RedisTls::from_env()?,
            prefix: optional("REDIS_CHANNEL_PREFIX").unwrap_or_else(|| "chat:".into()),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses settings that are ambiguous or would fall back to plaintext.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(redis_error(
                "REDIS_URL",
                "expected redis://host:6379 or rediss://host:6380",
            ));
        }
        if self.redis_url.is_some() && !self.cluster_nodes.is_empty() {
            return Err(redis_error(
                "REDIS_CLUSTER_NODES",
                "set either REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster), not both",
            ));
        }
        let tls_nodes = self.cluster_nodes.iter().filter(|n| n.starts_with("rediss://")).count();
        if tls_nodes != 0 && tls_nodes != self.cluster_nodes.len() {
            return Err(redis_error(
                "REDIS_CLUSTER_NODES",
                "either every node is rediss:// (TLS) or none is",
            ));
        }
        let tls = self.redis_url.as_deref().is_some_and(|u| u.starts_with("rediss://")) || tls_nodes != 0;
        let any = self.redis_url.is_some() || !self.cluster_nodes.is_empty();
        if any && self.tls.is_set() && !tls {
            return Err(redis_error(
                "REDIS_CA_FILE",
                "certificates are set but the Redis address is not rediss://; refusing to connect without TLS",
            ));
        }
        Ok(())
    }

    /// Whether processes share the backplane (Redis or a Redis Cluster).
    pub fn is_shared(&self) -> bool {
        self.redis_url.is_some() || !self.cluster_nodes.is_empty()
    }

    /// The in-process bus and presence store, for one process.
    pub fn local() -> Self {
        Self {
            redis_url: None,
            cluster_nodes: Vec::new(),
            tls: RedisTls::default(),
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
