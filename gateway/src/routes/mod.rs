//! One module per resource; each exposes `router()`.

pub mod auth;
pub mod health;
pub mod metrics;
pub mod profile;
pub mod rooms;
