//! Wiring for the single `chat` binary: which services a process runs and
//! on which listeners.
//!
//! `Role::All` puts every service on one gRPC server and runs the gateway
//! beside it; the services still reach each other through gRPC clients, so
//! the code path is the one a split deployment uses. Every other role runs
//! one piece. Tests call [`run`] with their own [`Settings`] and listeners.

use std::future::Future;
use std::path::PathBuf;

use anyhow::Context;
use chat_platform::config::{self, ConfigError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Every service and the gateway in one process.
    All,
    Gateway,
    Auth,
    Profile,
    Room,
    Messaging,
    /// Apply every service's migrations and exit.
    Migrate,
}

/// The configuration of every piece a process may run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub auth: chat_auth::Config,
    pub profile: chat_profile::Config,
    pub room: chat_room::Config,
    pub messaging: chat_messaging::Config,
    pub gateway: chat_gateway::Config,
    /// `REDIS_URL`: Redis pub/sub for fan-out; the in-process bus when unset.
    pub redis_url: Option<String>,
    /// `REDIS_CHANNEL_PREFIX`: lets deployments share one Redis.
    pub redis_prefix: String,
    /// `SHUTDOWN_GRACE_SECS`: how long draining may take before the process exits.
    pub shutdown_grace: std::time::Duration,
}

impl Settings {
    /// Reads every setting from the environment. `default_peer` is where
    /// services are looked for when their own URL is unset.
    pub fn from_env(default_peer: &str) -> Result<Self, ConfigError> {
        let data_dir = data_dir();
        Ok(Self {
            auth: chat_auth::Config::from_env(data_dir.clone(), default_peer)?,
            profile: chat_profile::Config::from_env(data_dir.clone(), default_peer)?,
            room: chat_room::Config::from_env(data_dir.clone(), default_peer)?,
            messaging: chat_messaging::Config::from_env(data_dir.clone(), default_peer)?,
            gateway: chat_gateway::Config::from_env(&data_dir, default_peer)?,
            redis_url: redis_url()?,
            redis_prefix: config::optional("REDIS_CHANNEL_PREFIX").unwrap_or_else(|| "chat:".into()),
            shutdown_grace: config::seconds_or("SHUTDOWN_GRACE_SECS", 25)?,
        })
    }
}

/// `DATA_DIR`, default `./data`: SQLite files and the generated JWT key.
pub fn data_dir() -> PathBuf {
    config::optional("DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from)
}

fn redis_url() -> Result<Option<String>, ConfigError> {
    match config::optional("REDIS_URL") {
        Some(url) if !(url.starts_with("redis://") || url.starts_with("rediss://")) => Err(ConfigError {
            name: "REDIS_URL".into(),
            shown: "(hidden)".into(),
            reason: "expected redis://host:6379".into(),
        }),
        url => Ok(url),
    }
}

/// The listeners a role serves on. `None` where the role has no such surface.
#[derive(Default)]
pub struct Listeners {
    pub grpc: Option<TcpListener>,
    pub http: Option<TcpListener>,
    /// `/metrics` for roles without the gateway's HTTP listener.
    pub metrics: Option<TcpListener>,
}

/// Runs `role` until `shutdown` resolves.
pub async fn run(
    role: Role,
    settings: Settings,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        trigger.cancel();
    });

    if role == Role::Migrate {
        return migrate(&settings).await;
    }

    let bus = chat_platform::bus::EventBus::from_url(settings.redis_url.as_deref(), &settings.redis_prefix)
        .await
        .context("connecting to the event bus")?;
    if settings.redis_url.is_none() && role != Role::All {
        tracing::warn!("REDIS_URL is unset: events reach only this process; set it when running one role per process");
    }

    let mut routes = tonic::service::RoutesBuilder::default();
    let mut names = Vec::new();
    // (short name, database) of each service run here, in `names` order.
    let mut databases: Vec<(&'static str, chat_platform::db::Database)> = Vec::new();
    if matches!(role, Role::All | Role::Auth) {
        let service = chat_auth::build(settings.auth.clone())
            .await
            .context("starting the auth service")?;
        databases.push(("auth", service.database().clone()));
        names.push(service.add_routes(&mut routes));
    }
    if matches!(role, Role::All | Role::Profile) {
        let service = chat_profile::build(settings.profile.clone(), bus.clone())
            .await
            .context("starting the profile service")?;
        databases.push(("profile", service.database().clone()));
        names.push(service.add_routes(&mut routes));
    }
    if matches!(role, Role::All | Role::Room) {
        let service = chat_room::build(settings.room.clone(), bus.clone())
            .await
            .context("starting the room service")?;
        databases.push(("room", service.database().clone()));
        names.push(service.add_routes(&mut routes));
    }
    if matches!(role, Role::All | Role::Messaging) {
        let service = chat_messaging::build(settings.messaging.clone(), bus.clone())
            .await
            .context("starting the messaging service")?;
        databases.push(("messaging", service.database().clone()));
        names.push(service.add_routes(&mut routes));
    }

    let mut tasks = tokio::task::JoinSet::new();
    if !names.is_empty() {
        let listener = listeners.grpc.context("this role needs a gRPC listener")?;
        let reporter = chat_platform::grpc::add_standard_services(&mut routes, &names).await?;
        // Every 5 s: pool gauges, and readiness that follows the
        // dependencies: a service whose database (or the bus) doesn't answer
        // reports NOT_SERVING until it does again.
        let checks: Vec<(&'static str, &'static str, chat_platform::db::Database)> = names
            .iter()
            .copied()
            .zip(databases)
            .map(|(name, (short, db))| (name, short, db))
            .collect();
        let (watch_reporter, watch_bus, watch_stop) = (reporter.clone(), bus.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = watch_stop.cancelled() => return,
                }
                let bus_up = watch_bus.ping().await;
                metrics::gauge!("chat_redis_up").set(if bus_up { 1.0 } else { 0.0 });
                for (name, short, db) in &checks {
                    chat_platform::metrics::record_pool(short, db.pool.size(), db.pool.num_idle());
                    let db_up = db.ping().await;
                    metrics::gauge!("chat_db_up", "service" => *name).set(if db_up { 1.0 } else { 0.0 });
                    let status = if db_up && bus_up {
                        tonic_health::ServingStatus::Serving
                    } else {
                        tonic_health::ServingStatus::NotServing
                    };
                    if !watch_stop.is_cancelled() {
                        watch_reporter.set_service_status(*name, status).await;
                    }
                }
            }
        });
        tracing::info!(addr = %listener.local_addr()?, services = ?names, "gRPC listening");
        let stop = stop.clone();
        let served = names.clone();
        // Readiness fails first; then the server stops taking calls and
        // lets the in-flight ones finish.
        let shutdown = async move {
            stop.cancelled().await;
            for name in served {
                reporter
                    .set_service_status(name, tonic_health::ServingStatus::NotServing)
                    .await;
            }
            reporter
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
        };
        tasks.spawn(async move { chat_platform::grpc::serve(listener, routes, shutdown).await });
    }
    if let Some(listener) = listeners.metrics {
        let stop = stop.clone();
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(|| async { chat_platform::metrics::handle().render() }),
        );
        tasks.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
                .context("metrics server failed")
        });
    }
    if matches!(role, Role::All | Role::Gateway) {
        let listener = listeners.http.context("this role needs an HTTP listener")?;
        let state = chat_gateway::AppState::new(settings.gateway.clone(), &bus).await?;
        tracing::info!(addr = %listener.local_addr()?, "gateway listening on http://{}", listener.local_addr()?);
        let stop = stop.clone();
        tasks.spawn(async move { chat_gateway::serve(listener, state, stop.cancelled_owned()).await });
    }
    chat_platform::metrics::handle();
    // The first server to stop, for whatever reason, stops the others; once
    // stopping, the grace period bounds how long draining may take.
    let mut result = Ok(());
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let grace_over = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            joined = tasks.join_next() => {
                let Some(joined) = joined else { break };
                stop.cancel();
                let outcome = joined.context("server task panicked").and_then(|r| r);
                if result.is_ok() {
                    result = outcome;
                }
            }
            _ = stop.cancelled(), if deadline.is_none() => {
                deadline = Some(tokio::time::Instant::now() + settings.shutdown_grace);
            }
            _ = grace_over => {
                tracing::warn!("grace period over; exiting with work still in flight");
                tasks.abort_all();
                break;
            }
        }
    }
    result
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    use chat_platform::db;
    db::connect(&settings.auth.database_url, "auth", Some(&chat_auth::migrations())).await?;
    db::connect(
        &settings.profile.database_url,
        "profile",
        Some(&chat_profile::migrations()),
    )
    .await?;
    tracing::info!("migrations applied");
    Ok(())
}
