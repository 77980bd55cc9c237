//! Reading typed configuration from environment variables.
//!
//! Every reader fails with a [`ConfigError`] that names the variable and the
//! expected form, so a bad deployment stops at start with a fix-it message.

use std::fmt::Display;
use std::str::FromStr;

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
