//! The plumbing every chat process shares, services and gateway alike. Kept
//! small on purpose; it knows nothing of any one service's rules.
//!
//! - [`service`]: the table of services, the one list that run, migrate,
//!   readiness, health and peer URLs iterate.
//! - [`config`]: typed environment variables with start-up errors that say
//!   what to fix, and [`config::Shared`], the settings read once for all parts.
//! - [`error`]: the service error type and its single mapping to `tonic::Status`.
//! - [`token`]: access-token claims and the verifier every service uses.
//! - [`sessions`]: ended sessions, announced on the bus and refused everywhere.
//! - [`internal`]: service-to-service identity (the internal secret traded for service tokens).
//! - [`files`]: generated secrets written atomically, owner-only.
//! - [`limits`]: abuse limits and quotas (`RATE_LIMITS=off` for load tests), and a keyed limiter.
//! - [`db`]: opening a service's database (PostgreSQL schema or SQLite file) and migrating it.
//! - [`backplane`]: the [`bus`] (fan-out of events between processes) and the
//!   [`presence`] store, on Redis or in process.
//! - [`grpc`]: one tonic server with health, reflection (v1 and v1alpha) and
//!   gRPC-Web; lazily connecting peer channels.
//! - [`metrics`]: the Prometheus recorder and the gRPC metrics layer.
//! - [`telemetry`]: logs and OTLP traces with W3C context propagation.
//! - [`page`]: AIP-158 page sizes and tokens.
//! - [`domain`]: validated user text (names, room names, message content) and its limits.
//! - [`shutdown`]: the SIGTERM / Ctrl-C future passed to every server.
//! - [`web`]: the `Origin` allowlist and CORS, for REST, WebSocket and gRPC-Web.

pub mod backplane;
pub mod balance;
pub mod bus;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod grpc;
pub mod internal;
pub mod limits;
pub mod metrics;
pub mod page;
pub mod presence;
pub mod redis_link;
pub mod room_events;
pub mod service;
pub mod sessions;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod token;
pub mod web;

pub use error::{ServiceError, ServiceResult};

/// Microseconds since the Unix epoch, UTC: how every table stores time.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}
