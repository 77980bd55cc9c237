//! One module per resource; each exposes `router()`, merged in [`crate::app`].

pub mod auth;
pub mod config;
pub mod health;
pub mod messages;
pub mod metrics;
pub mod profile;
pub mod rooms;
