//! Pieces every chat service shares, kept small on purpose.
//!
//! - [`config`]: typed environment variables with start-up errors that say what to fix.
//! - [`error`]: the service error type and its single mapping to `tonic::Status`.
//! - [`token`]: access-token claims and the verifier every service uses.
//! - [`db`]: opening a service's database (PostgreSQL schema or SQLite file) and migrating it.
//! - [`grpc`]: one tonic server with health, reflection (v1 and v1alpha) and gRPC-Web.
//! - [`telemetry`]: tracing setup.
//! - [`validate`]: input rules several services share (names, id batches).
//! - [`shutdown`]: the SIGTERM / Ctrl-C future passed to every server.

pub mod bus;
pub mod config;
pub mod db;
pub mod error;
pub mod grpc;
pub mod internal;
pub mod metrics;
pub mod page;
pub mod shutdown;
pub mod telemetry;
pub mod token;
pub mod validate;

pub use error::{ServiceError, ServiceResult};

/// Microseconds since the Unix epoch, UTC: how every table stores time.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}
