//! Abuse limits and quotas, read once with the shared settings. Every one has
//! an environment variable and a default (docs/SECURITY.md lists them).
//!
//! `RATE_LIMITS=off` turns the rate limits off (load tests, benchmarks, test
//! suites that register many users from one address), with a warning at
//! start. It never turns off a size cap: frames, bodies, history pages and
//! avatars stay bounded whatever it says.

use std::time::Duration;

use crate::config::{ConfigError, optional, parse_or};

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// `RATE_LIMITS` (`on`/`off`): whether the rate limits below apply.
    pub rate_limits: bool,
    /// `LOGIN_FAILURES_PER_MINUTE`: failed logins per account before 429.
    pub login_failures_per_minute: u32,
    /// `AUTH_REQUESTS_PER_MINUTE`: register/login/refresh calls per client IP.
    pub auth_requests_per_minute: u32,
    /// `AUTH_HASHES_PER_IP`: password hashes one client IP may have running or queued.
    pub auth_hashes_per_ip: u32,
    /// `SOCKET_SEND_BURST` and `SOCKET_SENDS_PER_SECOND`: `send_message` per socket.
    pub socket_send_burst: u32,
    pub socket_sends_per_second: u32,
    /// `SOCKET_EVENT_BURST` and `SOCKET_EVENTS_PER_SECOND`: any event per socket.
    pub socket_event_burst: u32,
    pub socket_events_per_second: u32,
    /// `SOCKET_MAX_IN_FLIGHT`: events of one socket being handled or waiting (a size cap).
    pub socket_max_in_flight: u32,
    /// `WS_MAX_MESSAGE_BYTES`: the largest WebSocket message or frame (a size cap).
    pub ws_max_message_bytes: usize,
    /// `ROOMS_PER_USER`: rooms one user may create.
    pub rooms_per_user: u32,
    /// `AVATAR_MAX_DIMENSION`, `AVATAR_MAX_DECODE_BYTES`, `AVATAR_DECODES`: size caps on avatars.
    pub avatar_max_dimension: u32,
    pub avatar_max_decode_bytes: u64,
    pub avatar_decodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            rate_limits: true,
            login_failures_per_minute: 30,
            auth_requests_per_minute: 120,
            auth_hashes_per_ip: 4,
            socket_send_burst: 10,
            socket_sends_per_second: 5,
            socket_event_burst: 60,
            socket_events_per_second: 30,
            socket_max_in_flight: 32,
            ws_max_message_bytes: 64 * 1024,
            rooms_per_user: 100,
            avatar_max_dimension: 4096,
            avatar_max_decode_bytes: 64 * 1024 * 1024,
            avatar_decodes: 2,
        }
    }
}

fn positive<T: PartialOrd + Default + std::fmt::Display>(name: &str, value: T) -> Result<T, ConfigError> {
    if value <= T::default() {
        return Err(ConfigError {
            name: name.into(),
            shown: value.to_string(),
            reason: "must be positive".into(),
        });
    }
    Ok(value)
}

impl Limits {
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        let rate_limits = match optional("RATE_LIMITS").map(|v| v.to_ascii_lowercase()) {
            None => true,
            Some(v) if v == "on" => true,
            Some(v) if v == "off" => false,
            Some(v) => {
                return Err(ConfigError {
                    name: "RATE_LIMITS".into(),
                    shown: v,
                    reason: "expected on or off".into(),
                });
            }
        };
        macro_rules! read {
            ($name:literal, $field:ident) => {
                positive($name, parse_or($name, d.$field)?)?
            };
        }
        Ok(Self {
            rate_limits,
            login_failures_per_minute: read!("LOGIN_FAILURES_PER_MINUTE", login_failures_per_minute),
            auth_requests_per_minute: read!("AUTH_REQUESTS_PER_MINUTE", auth_requests_per_minute),
            auth_hashes_per_ip: read!("AUTH_HASHES_PER_IP", auth_hashes_per_ip),
            socket_send_burst: read!("SOCKET_SEND_BURST", socket_send_burst),
            socket_sends_per_second: read!("SOCKET_SENDS_PER_SECOND", socket_sends_per_second),
            socket_event_burst: read!("SOCKET_EVENT_BURST", socket_event_burst),
            socket_events_per_second: read!("SOCKET_EVENTS_PER_SECOND", socket_events_per_second),
            socket_max_in_flight: read!("SOCKET_MAX_IN_FLIGHT", socket_max_in_flight),
            ws_max_message_bytes: read!("WS_MAX_MESSAGE_BYTES", ws_max_message_bytes),
            rooms_per_user: read!("ROOMS_PER_USER", rooms_per_user),
            avatar_max_dimension: read!("AVATAR_MAX_DIMENSION", avatar_max_dimension),
            avatar_max_decode_bytes: read!("AVATAR_MAX_DECODE_BYTES", avatar_max_decode_bytes),
            avatar_decodes: read!("AVATAR_DECODES", avatar_decodes),
        })
    }

    /// The limits with every rate limit off (size caps stay): for tests and
    /// load generators that act as many users from one address.
    pub fn without_rate_limits() -> Self {
        Self {
            rate_limits: false,
            ..Self::default()
        }
    }
}

/// A keyed rate limiter (GCRA, from `governor`) that can be switched off.
/// `check` answers how long to wait when the key is over its quota.
pub struct KeyedLimiter<K: std::hash::Hash + Eq + Clone> {
    inner: Option<governor::DefaultKeyedRateLimiter<K>>,
}

impl<K: std::hash::Hash + Eq + Clone> KeyedLimiter<K> {
    /// `burst` at once, refilled evenly over `per`.
    pub fn new(enabled: bool, burst: u32, per: Duration) -> Self {
        let burst = std::num::NonZeroU32::new(burst.max(1)).expect("non-zero");
        let period = per / burst.get();
        let quota = governor::Quota::with_period(period.max(Duration::from_nanos(1)))
            .expect("non-zero period")
            .allow_burst(burst);
        Self {
            inner: enabled.then(|| governor::RateLimiter::keyed(quota)),
        }
    }

    /// `Err(wait)` when `key` is over its quota.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let Some(limiter) = &self.inner else { return Ok(()) };
        limiter.check_key(key).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()))
        })
    }

    /// Drops keys whose quota is full again, so memory follows the active keys.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.inner {
            limiter.retain_recent();
        }
    }
}
