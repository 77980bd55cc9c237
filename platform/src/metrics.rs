//! Prometheus metrics: one recorder per process, rendered at `/metrics`.
//!
//! Names (all prefixed `chat_`):
//! - `http_requests_total`, `http_request_duration_seconds` by method, route, status;
//! - `grpc_requests_total`, `grpc_request_duration_seconds` by rpc and code;
//! - `socketio_connections` and `fanout_rooms_followed` (gauges);
//! - `fanout_lag_seconds`: commit to emit, per delivered message;
//! - `bus_resyncs_total`: bus reconnects and lags that forced a catch-up;
//! - `db_pool_connections` by service and state (idle, in use).

use std::collections::HashSet;
use std::sync::{LazyLock, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed on first use.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (several apps in one
            // test process); then this handle still renders what it records.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Every RPC path this suite serves (`/package.Service/Method`), from the
/// descriptor sets: anything else is labelled `unmatched`, so random paths
/// can't create unbounded series.
static KNOWN_RPCS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    use prost::Message;
    let mut known = HashSet::new();
    for bytes in [chat_proto::FILE_DESCRIPTOR_SET, tonic_health::pb::FILE_DESCRIPTOR_SET] {
        let Ok(set) = prost_types::FileDescriptorSet::decode(bytes) else {
            continue;
        };
        for file in set.file {
            let package = file.package.unwrap_or_default();
            for service in file.service {
                let name = service.name.unwrap_or_default();
                for method in service.method {
                    known.insert(format!("/{package}.{name}/{}", method.name.unwrap_or_default()));
                }
            }
        }
    }
    known
});

/// The label for an RPC path: itself when it is one of ours.
pub fn rpc_label(path: &str) -> &str {
    if KNOWN_RPCS.contains(path) { path } else { "unmatched" }
}

/// Records one gRPC call.
pub fn record_grpc(path: &str, code: &str, started: Instant) {
    let labels = [("rpc", rpc_label(path).to_owned()), ("code", code.to_owned())];
    metrics::counter!("chat_grpc_requests_total", &labels).increment(1);
    metrics::histogram!("chat_grpc_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
}

/// Records a pool's state.
pub fn record_pool(service: &'static str, size: u32, idle: usize) {
    let in_use = (size as usize).saturating_sub(idle);
    metrics::gauge!("chat_db_pool_connections", "service" => service, "state" => "idle").set(idle as f64);
    metrics::gauge!("chat_db_pool_connections", "service" => service, "state" => "in_use").set(in_use as f64);
}

/// A tower layer that records every gRPC call by method path and status.
#[derive(Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

#[derive(Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S, B, RB> tower::Service<http::Request<B>> for GrpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await;
            if let Ok(r) = &response {
                // Errors come back trailers-only, with the code in the headers.
                let code = r
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("0")
                    .to_owned();
                if !path.starts_with("/grpc.reflection") {
                    record_grpc(&path, &code, started);
                }
            }
            response
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_our_rpcs_get_their_own_label() {
        assert_eq!(
            super::rpc_label("/chat.auth.v1.AuthService/Login"),
            "/chat.auth.v1.AuthService/Login"
        );
        assert_eq!(
            super::rpc_label("/grpc.health.v1.Health/Check"),
            "/grpc.health.v1.Health/Check"
        );
        assert_eq!(super::rpc_label("/chat.auth.v1.AuthService/Nope"), "unmatched");
        assert_eq!(super::rpc_label("/random/junk/3f9a"), "unmatched");
    }
}
