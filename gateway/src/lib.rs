//! The HTTP gateway: browser-facing REST and Socket.IO turned into gRPC
//! calls on the services, plus the frontend from the same origin. It owns no
//! tables and reaches the services only through generated clients.
//!
//! - [`error`]: the JSON error body and the single gRPC→HTTP status mapping.
//! - [`extract`]: JSON, bearer-token and path-id extractors with precise rejections.
//! - [`client`]: who the client is (its IP, behind trusted proxies) and the
//!   `Origin` allowlist.
//! - [`json`]: every JSON view (users, profiles, rooms, messages), in one place.
//! - [`routes`]: one module per resource, each with `router()`, merged in [`app`].
//! - [`server`]: HTTP/1.1 connections served by hyper directly (see why there).
//! - [`realtime`]: Socket.IO: sessions, one handler per event, presence,
//!   typing, and the fan-out of bus events to local sockets.

pub mod client;
pub mod error;
pub mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod json;
pub mod realtime;
pub mod routes;
pub mod server;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use chat_platform::backplane::Backplane;
use chat_platform::bus::SharedSubscriber;
use chat_platform::config::{self, ConfigError, Jwt, Peers, Shared};
use chat_platform::grpc::Channel;
use chat_platform::internal::ServiceTokens;
use chat_platform::limits::Limits;
use chat_platform::service::Service;
use chat_platform::token::TokenVerifier;
use chat_platform::web::OriginPolicy;
use chat_proto::auth::v1::auth_service_client::AuthServiceClient;
use chat_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use chat_proto::profile::v1::profile_service_client::ProfileServiceClient;
use chat_proto::room::v1::room_service_client::RoomServiceClient;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct Config {
    /// Where each service is reached.
    pub peers: Peers,
    /// Largest JSON body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Where the built frontend lives.
    pub frontend_dir: PathBuf,
    pub jwt: Jwt,
    /// Traded with the auth service for the gateway's service token.
    pub internal_secret: SecretString,
    /// How long a connection stays online without a refresh.
    pub presence_ttl: Duration,
    pub limits: Limits,
    /// Web pages of other origins that may call (`ALLOWED_ORIGINS`).
    pub origins: OriginPolicy,
    /// `TRUSTED_PROXIES`: proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `SOCKET_QUERY_TOKEN=on`: also take a socket's token from the URL's
    /// `?token=` (off by default: proxies log URLs).
    pub socket_query_token: bool,
    /// `/metrics` is served on its own listener (`METRICS_ADDR`), not on the
    /// public port; set by the composition root.
    pub metrics_elsewhere: bool,
}

impl Config {
    /// The gateway's part of the shared settings, plus its own variables.
    pub fn from_env(shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self {
            peers: shared.peers.clone(),
            jwt: shared.jwt.clone(),
            internal_secret: shared.internal_secret.clone(),
            presence_ttl: shared.presence_ttl,
            max_body_bytes: config::parse_or("MAX_BODY_BYTES", 64 * 1024)?,
            frontend_dir: config::optional("FRONTEND_DIR").map_or_else(default_frontend_dir, PathBuf::from),
            limits: shared.limits.clone(),
            origins: shared.origins.clone(),
            trusted_proxies: client::trusted_proxies_from_env()?,
            socket_query_token: config::optional("SOCKET_QUERY_TOKEN").is_some_and(|v| v.eq_ignore_ascii_case("on")),
            metrics_elsewhere: false,
        })
    }
}

fn default_frontend_dir() -> PathBuf {
    let built = PathBuf::from("frontend/dist");
    if built.exists() {
        built
    } else {
        PathBuf::from("frontend")
    }
}

/// One gRPC client per service.
#[derive(Clone)]
pub struct AppClients {
    pub auth: AuthServiceClient<Channel>,
    pub profile: ProfileServiceClient<Channel>,
    pub room: RoomServiceClient<Channel>,
    pub messaging: MessagingServiceClient<Channel>,
}

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    pub clients: AppClients,
    /// A channel to each service, by the table of services, for `/health`.
    pub channels: Vec<(Service, Channel)>,
    pub config: Config,
    /// The gateway's service token, for calls made on a client's behalf.
    pub tokens: ServiceTokens,
    pub realtime: realtime::Realtime,
    pub io: socketioxide::SocketIo,
    socket_layer: socketioxide::layer::SocketIoLayer,
    /// Set on shutdown: readiness fails at once, before anything closes.
    pub draining: Arc<AtomicBool>,
}

impl std::ops::Deref for AppState {
    type Target = AppClients;
    fn deref(&self) -> &AppClients {
        &self.clients
    }
}

impl AppState {
    /// Connects (lazily) to the services and starts the Socket.IO fan-out
    /// on the backplane's bus.
    pub async fn new(config: Config, backplane: &Backplane) -> anyhow::Result<Self> {
        let channels = Service::all()
            .map(|s| Ok((s, chat_platform::grpc::channel(config.peers.url(s))?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let channel = |service: Service| {
            channels
                .iter()
                .find(|(s, _)| *s == service)
                .map(|(_, c)| c.clone())
                .expect("a channel per service")
        };
        let auth = channel(Service::Auth);
        let clients = AppClients {
            auth: AuthServiceClient::new(auth.clone()),
            profile: ProfileServiceClient::new(channel(Service::Profile)),
            room: RoomServiceClient::new(channel(Service::Room)),
            messaging: MessagingServiceClient::new(channel(Service::Messaging)),
        };
        let verifier = TokenVerifier::from_auth_service(&config.jwt, auth.clone(), &backplane.revocations);
        let tokens = ServiceTokens::new("gateway", config.internal_secret.clone(), auth);
        let shared = SharedSubscriber::new(backplane.bus.subscriber());
        let (socket_layer, io, realtime) =
            realtime::start(clients.clone(), verifier, tokens.clone(), shared, &config).await;
        Ok(Self {
            clients,
            channels,
            tokens,
            config,
            realtime,
            io,
            socket_layer,
            draining: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// The whole HTTP application, for serving and for `oneshot` tests.
pub fn app(state: AppState) -> Router {
    let frontend =
        tower_http::services::ServeDir::new(&state.config.frontend_dir).append_index_html_on_directories(true);
    let mut api = Router::new()
        .merge(routes::auth::router())
        .merge(routes::config::router())
        .merge(routes::health::router())
        .merge(routes::rooms::router())
        .merge(routes::messages::router())
        // The avatar route sets its own, larger limit, which wins over this one.
        .merge(routes::profile::router());
    if !state.config.metrics_elsewhere {
        api = api.merge(routes::metrics::router());
    }
    let api = api
        .route_layer(axum::middleware::from_fn(routes::metrics::track))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes));
    let socket_layer = state.socket_layer.clone();
    let cors = state.config.origins.cors();
    let origin_check = axum::middleware::from_fn_with_state(state.clone(), client::check_origin);
    Router::new()
        .merge(api)
        .fallback_service(frontend.fallback(axum::routing::any(not_found).with_state(())))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(TraceLayer::new_for_http())
        // Outside the routes, so it sees /socket.io/ before routing and the fallback.
        .layer(socket_layer)
        // What a socket keeps of its request: see `trim_socket_request`.
        .layer(tower::util::MapRequestLayer::new(realtime::trim_socket_request))
        .layer(cors)
        // Outermost: a page of a foreign origin gets nothing, WebSockets included.
        .layer(origin_check)
        .with_state(state)
}

/// No inline script or style, and no origin but our own.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; \
     style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// Serves the gateway on `listener` until `shutdown` resolves, then drains:
/// readiness fails at once, Socket.IO clients are told to reconnect
/// (elsewhere), and in-flight HTTP requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let drain = state.clone();
    let drained = async move {
        shutdown.await;
        drain.draining.store(true, Ordering::SeqCst);
        tracing::info!("draining: closing Socket.IO connections so clients reconnect elsewhere");
        // Closing the transport (not a Socket.IO disconnect) makes clients reconnect.
        drain.io.close().await;
    };
    server::serve(listener, app(state), drained)
        .await
        .context("gateway server failed")
}
