//! One tonic server for whatever services a process runs, with the standard
//! health service, reflection in both v1 and v1alpha, and gRPC-Web.

use std::future::Future;

use anyhow::Context;
use tokio::net::TcpListener;
use tonic::service::RoutesBuilder;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower_http::validate_request::ValidateRequestHeaderLayer;

use crate::web::OriginPolicy;

/// Health and reflection routes, added to `routes` for the named services.
pub async fn add_standard_services(routes: &mut RoutesBuilder, services: &[&str]) -> anyhow::Result<HealthReporter> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in services {
        reporter.set_service_status(*name, ServingStatus::Serving).await;
    }
    reporter.set_service_status("", ServingStatus::Serving).await;
    let v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(chat_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("building reflection v1")?;
    let v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(chat_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("building reflection v1alpha")?;
    routes.add_service(health).add_service(v1).add_service(v1alpha);
    Ok(reporter)
}

/// Serves `routes` on `listener` (HTTP/2 gRPC and HTTP/1.1 gRPC-Web) until
/// `shutdown` resolves, then lets in-flight calls finish.
///
/// Browsers on a page of another origin may call only when `origins` lists
/// it (gRPC-Web with CORS, preflights included); calls without an `Origin`
/// (native clients) always may.
pub async fn serve(
    listener: TcpListener,
    routes: RoutesBuilder,
    origins: &OriginPolicy,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let policy = origins.clone();
    // The refusal is a whole response by the layer's design.
    #[allow(clippy::result_large_err)]
    let refuse_other_origins = ValidateRequestHeaderLayer::custom(move |request: &mut http::Request<_>| {
        if policy.allows(request.headers()) {
            Ok(())
        } else {
            let mut refused = http::Response::new(tonic::body::Body::default());
            *refused.status_mut() = http::StatusCode::FORBIDDEN;
            Err(refused)
        }
    });
    tonic::transport::Server::builder()
        .trace_fn(crate::telemetry::grpc_span)
        .accept_http1(true)
        .layer(refuse_other_origins)
        .layer(origins.cors())
        .layer(crate::metrics::GrpcMetricsLayer)
        .layer(tonic_web::GrpcWebLayer::new())
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(
            // Without TCP_NODELAY a response larger than one segment waits
            // for the peer's delayed ACK: ~40 ms on every bigger reply.
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
        .context("gRPC server failed")
}

/// A channel to a peer service, balanced over its replicas (see
/// [`crate::balance`]): `url` is one URL, or several separated by commas.
pub type Channel = crate::balance::BalancedChannel;

/// A lazily connecting channel to a peer service: the peer may start later,
/// and calls fail with UNAVAILABLE until it does. Every replica behind the
/// URL (or URLs) takes calls; see [`crate::balance`].
pub fn channel(url: &str) -> anyhow::Result<Channel> {
    let urls: Vec<String> = url
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(!urls.is_empty(), "no service URL given");
    crate::balance::BalancedChannel::new(urls, endpoint)
}

/// The connection settings of every replica.
fn endpoint(url: &str) -> anyhow::Result<tonic::transport::Endpoint> {
    Ok(tonic::transport::Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("invalid service URL {url}"))?
        .connect_timeout(std::time::Duration::from_secs(3))
        // No call may hang forever; streams are exempt (they set no deadline).
        .timeout(std::time::Duration::from_secs(15))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(std::time::Duration::from_secs(30)))
}

/// What the composition root needs of a built service: its routes, and its
/// database for readiness.
pub trait GrpcService: Send + Sync {
    fn add_routes(&self, routes: &mut RoutesBuilder);
    fn database(&self) -> &crate::db::Database;
}
