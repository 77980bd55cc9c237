//! The composition root of the `chat` binary: which services a process runs,
//! on which listeners, over which backplane.
//!
//! - [`role`]: `chat [ROLE]`, derived from the table of services
//!   (`chat_platform::service::Service`).
//! - [`settings`]: every part's configuration, with the shared part read once.
//! - [`run`]: builds the backplane, starts each of the role's services from
//!   the table (one `match` per service, in [`start`]), serves them on one
//!   gRPC server with health and reflection, runs the gateway, and drains on
//!   shutdown.
//!
//! `Role::All` puts every service on one gRPC server and runs the gateway
//! beside it; the services still reach each other through gRPC clients, so
//! the code path is the one a split deployment uses. Tests call [`run`] with
//! their own [`Settings`] and listeners.

pub mod role;
pub mod settings;

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use chat_platform::backplane::Backplane;
use chat_platform::db::{self, Database, Migrations};
use chat_platform::grpc::GrpcService;
use chat_platform::service::Service;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use role::Role;
pub use settings::Settings;

/// The listeners a role serves on. `None` where the role has no such surface.
#[derive(Default)]
pub struct Listeners {
    pub grpc: Option<TcpListener>,
    pub http: Option<TcpListener>,
    /// `/metrics` for roles without the gateway's HTTP listener.
    pub metrics: Option<TcpListener>,
}

/// Builds one service of the table. The only place that names each crate.
async fn start(service: Service, settings: &Settings, backplane: &Backplane) -> anyhow::Result<Box<dyn GrpcService>> {
    Ok(match service {
        Service::Auth => Box::new(chat_auth::build(settings.auth.clone(), backplane).await?),
        Service::Profile => Box::new(chat_profile::build(settings.profile.clone(), backplane).await?),
        Service::Room => Box::new(chat_room::build(settings.room.clone(), backplane).await?),
        Service::Messaging => Box::new(chat_messaging::build(settings.messaging.clone(), backplane).await?),
    })
}

/// A service's migrations, by the table.
pub fn migrations(service: Service) -> Migrations {
    match service {
        Service::Auth => chat_auth::migrations(),
        Service::Profile => chat_profile::migrations(),
        Service::Room => chat_room::migrations(),
        Service::Messaging => chat_messaging::migrations(),
    }
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

    let backplane = Backplane::connect(&settings.shared.backplane)
        .await
        .context("connecting to the event bus")?;
    if !settings.shared.limits.rate_limits {
        tracing::warn!("RATE_LIMITS=off: every rate limit is off (size caps stay); use it only for load tests");
    }
    if !settings.shared.backplane.is_shared() && role != Role::All {
        tracing::warn!(
            "neither REDIS_URL nor REDIS_CLUSTER_NODES is set: events reach only this process; set one when running one role per process"
        );
    }

    let mut tasks = JoinSet::new();
    let mut services = Vec::new();
    for service in role.services() {
        let built = start(service, &settings, &backplane)
            .await
            .with_context(|| format!("starting the {service} service"))?;
        services.push((service, built));
    }
    if !services.is_empty() {
        let listener = listeners.grpc.context("this role needs a gRPC listener")?;
        tasks.spawn(serve_grpc(
            listener,
            services,
            backplane.clone(),
            settings.shared.origins.clone(),
            stop.clone(),
        ));
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
    if role.serves_http() {
        let listener = listeners.http.context("this role needs an HTTP listener")?;
        let state = chat_gateway::AppState::new(settings.gateway.clone(), &backplane).await?;
        tracing::info!(addr = %listener.local_addr()?, "gateway listening on http://{}", listener.local_addr()?);
        let stop = stop.clone();
        tasks.spawn(async move { chat_gateway::serve(listener, state, stop.cancelled_owned()).await });
    }
    chat_platform::metrics::handle();
    supervise(tasks, stop, settings.shutdown_grace).await
}

/// One gRPC server for the role's services, with health that follows their
/// databases and the bus, and turns NOT_SERVING first on shutdown.
async fn serve_grpc(
    listener: TcpListener,
    services: Vec<(Service, Box<dyn GrpcService>)>,
    backplane: Backplane,
    origins: chat_platform::web::OriginPolicy,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let mut routes = tonic::service::RoutesBuilder::default();
    for (_, service) in &services {
        service.add_routes(&mut routes);
    }
    let names: Vec<&'static str> = services.iter().map(|(s, _)| s.grpc_name()).collect();
    let reporter = chat_platform::grpc::add_standard_services(&mut routes, &names).await?;
    let checks: Vec<(Service, Database)> = services.iter().map(|(s, b)| (*s, b.database().clone())).collect();
    tokio::spawn(watch_readiness(checks, backplane, reporter.clone(), stop.clone()));
    tracing::info!(addr = %listener.local_addr()?, services = ?names, "gRPC listening");
    // Readiness fails first; then the server stops taking calls and lets
    // the in-flight ones finish.
    let shutdown = async move {
        stop.cancelled().await;
        for name in names {
            reporter
                .set_service_status(name, tonic_health::ServingStatus::NotServing)
                .await;
        }
        reporter
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
    };
    chat_platform::grpc::serve(listener, routes, &origins, shutdown).await
}

/// Every 5 s: pool gauges, and readiness that follows the dependencies: a
/// service whose database (or the bus) doesn't answer reports NOT_SERVING
/// until it does again.
async fn watch_readiness(
    checks: Vec<(Service, Database)>,
    backplane: Backplane,
    reporter: tonic_health::server::HealthReporter,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        let bus_up = backplane.bus.ping().await;
        metrics::gauge!("chat_redis_up").set(if bus_up { 1.0 } else { 0.0 });
        for (service, db) in &checks {
            chat_platform::metrics::record_pool(service.as_str(), db.pool.size(), db.pool.num_idle());
            let db_up = db.ping().await;
            metrics::gauge!("chat_db_up", "service" => service.grpc_name()).set(if db_up { 1.0 } else { 0.0 });
            let status = if db_up && bus_up {
                tonic_health::ServingStatus::Serving
            } else {
                tonic_health::ServingStatus::NotServing
            };
            if !stop.is_cancelled() {
                reporter.set_service_status(service.grpc_name(), status).await;
            }
        }
    }
}

/// The first server to stop, for whatever reason, stops the others; once
/// stopping, the grace period bounds how long draining may take.
async fn supervise(
    mut tasks: JoinSet<anyhow::Result<()>>,
    stop: CancellationToken,
    grace: Duration,
) -> anyhow::Result<()> {
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
                deadline = Some(tokio::time::Instant::now() + grace);
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

/// Applies every service's migrations, by the table, and returns.
async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    for service in Service::all() {
        db::connect(settings.database_url(service), service, Some(&migrations(service)))
            .await
            .with_context(|| format!("migrating the {service} service"))?;
        tracing::info!(%service, "migrations applied");
    }
    Ok(())
}
