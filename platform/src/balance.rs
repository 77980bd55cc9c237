//! Client-side balancing of gRPC calls over every ready replica of a peer.
//!
//! A peer is named by one URL or several, comma-separated
//! (`http://messaging:50051` for a Kubernetes headless Service, whose name
//! resolves to every ready pod; `http://a:50051,http://b:50051` for a fixed
//! list). A discovery task re-resolves each name every
//! [`DISCOVERY_INTERVAL`], probes every address with the standard health
//! service, and keeps tower's power-of-two-choices balancer
//! (`tower::balance::p2c`, least pending requests) over the healthy ones.
//!
//! Ejection is immediate: a replica whose call fails at the transport
//! (refused, reset, timed out) is marked broken, which makes the balancer
//! drop it at its next readiness check; the health probe brings it back
//! once it answers SERVING again. When no address is healthy, all of them
//! stay in, so calls fail fast with UNAVAILABLE instead of waiting.
//!
//! Retries: a call that fails at the transport is sent once more (to
//! another replica, as the failed one is out by then) when it cannot have
//! run twice: when it never reached a server (connect failures), or when
//! its method is declared `NO_SIDE_EFFECTS` or `IDEMPOTENT` in `proto/`.
//! Client-streaming calls (avatar uploads) are never buffered or retried.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use prost::Message as _;
use tokio::sync::mpsc;
use tonic::body::Body;
use tower::Service;
use tower::ServiceExt as _;
use tower::balance::p2c::Balance;
use tower::buffer::Buffer;
use tower::discover::Change;
use tower::load::{CompleteOnResponse, PendingRequests};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Response = http::Response<Body>;
type ResponseFuture = BoxFuture<'static, Result<Response, BoxError>>;

/// How often names are re-resolved and replicas probed.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(1);
/// How long a health probe may take before its replica counts as down.
const PROBE_TIMEOUT: Duration = Duration::from_millis(800);
/// Calls waiting for a replica, per client.
const BUFFER: usize = 1024;

/// What a failed call may do again, by its method in `proto/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Only when it never reached a server.
    IfUnsent,
    /// After any transport failure (declared without side effects, or idempotent).
    Always,
    /// Never: a client stream is not buffered.
    Never,
}

/// Each method's retry rule, read from the contract's descriptors.
static RULES: LazyLock<HashMap<String, Retry>> = LazyLock::new(|| {
    let mut rules = HashMap::new();
    rules.insert("/grpc.health.v1.Health/Check".to_owned(), Retry::Always);
    let Ok(set) = prost_types::FileDescriptorSet::decode(chat_proto::FILE_DESCRIPTOR_SET) else {
        return rules;
    };
    for file in set.file {
        let package = file.package.unwrap_or_default();
        for service in file.service {
            let service_name = service.name.unwrap_or_default();
            for method in service.method {
                let idempotency = method.options.as_ref().and_then(|o| o.idempotency_level).unwrap_or(0);
                let rule = if method.client_streaming.unwrap_or(false) {
                    Retry::Never
                } else if idempotency != 0 {
                    // NO_SIDE_EFFECTS (1) or IDEMPOTENT (2).
                    Retry::Always
                } else {
                    Retry::IfUnsent
                };
                let path = format!("/{package}.{service_name}/{}", method.name.unwrap_or_default());
                rules.insert(path, rule);
            }
        }
    }
    rules
});

fn rule(path: &str) -> Retry {
    RULES.get(path).copied().unwrap_or(Retry::IfUnsent)
}

/// Whether `error` proves the request never reached a server.
fn unsent(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<tonic::ConnectError>().is_some() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// One replica in the balancer: its own HTTP/2 connection, and a flag the
/// first transport failure sets so the balancer drops it.
struct Member {
    channel: tonic::transport::Channel,
    broken: Arc<AtomicBool>,
}

impl Service<http::Request<Body>> for Member {
    type Response = Response;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.broken.load(Ordering::Relaxed) {
            return Poll::Ready(Err("replica failed; ejected".into()));
        }
        self.channel.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let broken = self.broken.clone();
        let call = self.channel.call(request);
        Box::pin(async move {
            let result = call.await;
            if result.is_err() {
                broken.store(true, Ordering::Relaxed);
            }
            result.map_err(Into::into)
        })
    }
}

type Changes = mpsc::UnboundedSender<Result<Change<String, PendingRequests<Member, CompleteOnResponse>>, Infallible>>;

/// A gRPC channel balanced over every healthy replica of one peer; a
/// drop-in for `tonic::transport::Channel` in generated clients.
#[derive(Clone)]
pub struct BalancedChannel {
    inner: Buffer<http::Request<Body>, ResponseFuture>,
}

impl std::fmt::Debug for BalancedChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BalancedChannel")
    }
}

impl BalancedChannel {
    /// A channel over the replicas of `urls`, each made into an endpoint by
    /// `endpoint` (timeouts, keep-alive). Must run inside a tokio runtime.
    pub fn new(
        urls: Vec<String>,
        endpoint: impl Fn(&str) -> anyhow::Result<tonic::transport::Endpoint> + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        for url in &urls {
            endpoint(url)?;
        }
        let (changes, discovered) = mpsc::unbounded_channel();
        let discover = tokio_stream::wrappers::UnboundedReceiverStream::new(discovered);
        let balance = Balance::new(discover);
        let (inner, worker) = Buffer::pair(tower::util::BoxService::new(balance), BUFFER);
        tokio::spawn(worker);
        tokio::spawn(discover_replicas(urls, endpoint, changes));
        Ok(Self { inner })
    }
}

impl Service<http::Request<Body>> for BalancedChannel {
    type Response = Response;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The handle that was made ready makes the first attempt.
        let fresh = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, fresh);
        let rule = rule(request.uri().path());
        if rule == Retry::Never {
            let call = ready.call(request);
            return Box::pin(async move { call.await.map_err(unavailable) });
        }
        let spare = self.inner.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(status) => return Err(BoxError::from(status)),
            };
            let rebuild = |body: Bytes| {
                let mut request = http::Request::new(Body::new(http_body_util::Full::new(body)));
                *request.method_mut() = parts.method.clone();
                *request.uri_mut() = parts.uri.clone();
                *request.version_mut() = parts.version;
                *request.headers_mut() = parts.headers.clone();
                *request.extensions_mut() = parts.extensions.clone();
                request
            };
            let first: ResponseFuture = Box::pin(ready.call(rebuild(body.clone())));
            let result = match first.await {
                Err(error) if rule == Retry::Always || unsent(error.as_ref()) => {
                    tracing::debug!(%error, path = %parts.uri.path(), "gRPC call failed at the transport; retrying once");
                    oneshot(spare, rebuild(body)).await
                }
                result => result,
            };
            result.map_err(unavailable)
        })
    }
}

/// A transport failure is UNAVAILABLE in gRPC's terms (the peer could not
/// be reached or went away), which callers map to 503, not to an internal
/// error.
fn unavailable(error: BoxError) -> BoxError {
    if error.is::<tonic::Status>() {
        return error;
    }
    // The detail names internal addresses: it goes to the log only.
    tracing::debug!(%error, "gRPC call failed at the transport");
    Box::new(tonic::Status::unavailable(
        "transport: the peer service could not be reached",
    ))
}

fn oneshot(service: Buffer<http::Request<Body>, ResponseFuture>, request: http::Request<Body>) -> ResponseFuture {
    Box::pin(service.oneshot(request))
}

/// Where one name points now: its resolved addresses, or the name itself
/// when it does not resolve (so calls fail with UNAVAILABLE, not hang).
async fn resolve(url: &str) -> Vec<String> {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return vec![url.to_owned()];
    };
    let (Some(host), scheme) = (uri.host(), uri.scheme_str().unwrap_or("http")) else {
        return vec![url.to_owned()];
    };
    let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => {
            let mut seen: Vec<String> = addrs
                .map(|addr: SocketAddr| format!("{scheme}://{addr}"))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            seen.sort();
            if seen.is_empty() { vec![url.to_owned()] } else { seen }
        }
        Err(_) => vec![url.to_owned()],
    }
}

/// A known replica: its channel (kept while its address resolves), and
/// whether, and under which flag, it is in the balancer.
struct Replica {
    channel: tonic::transport::Channel,
    member: Option<Arc<AtomicBool>>,
}

async fn healthy(channel: &tonic::transport::Channel) -> bool {
    use tonic_health::pb::health_check_response::ServingStatus;
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let ask = client.check(tonic_health::pb::HealthCheckRequest { service: String::new() });
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, ask).await,
        Ok(Ok(answer)) if answer.get_ref().status == ServingStatus::Serving as i32
    )
}

/// Keeps the balancer's set equal to the healthy replicas of `urls`.
async fn discover_replicas(
    urls: Vec<String>,
    endpoint: impl Fn(&str) -> anyhow::Result<tonic::transport::Endpoint>,
    changes: Changes,
) {
    let mut replicas: HashMap<String, Replica> = HashMap::new();
    let mut first = true;
    loop {
        if changes.is_closed() {
            return;
        }
        let mut resolved = Vec::new();
        for url in &urls {
            resolved.extend(resolve(url).await);
        }
        // Addresses gone from DNS leave the balancer.
        replicas.retain(|address, replica| {
            let keep = resolved.contains(address);
            if !keep && replica.member.is_some() {
                let _ = changes.send(Ok(Change::Remove(address.clone())));
            }
            keep
        });
        for address in &resolved {
            if !replicas.contains_key(address) {
                let Ok(endpoint) = endpoint(address) else { continue };
                let channel = endpoint.connect_lazy();
                replicas.insert(address.clone(), Replica { channel, member: None });
            }
        }
        let probes = replicas
            .iter()
            .map(|(address, replica)| async move { (address.clone(), healthy(&replica.channel).await) });
        let health: HashMap<String, bool> = futures::future::join_all(probes).await.into_iter().collect();
        let none_healthy = !health.values().any(|ok| *ok);
        for (address, replica) in &mut replicas {
            let ok = health.get(address).copied().unwrap_or(false);
            let broken = replica.member.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed));
            let wanted = ok || none_healthy;
            match (&replica.member, wanted) {
                (Some(_), true) if !broken || ok => {
                    if broken {
                        // The balancer dropped it; it answers again.
                        insert(&changes, address, replica);
                    }
                }
                (Some(_), _) => {
                    if !first {
                        tracing::warn!(replica = %address, "gRPC replica failing its health check; ejected");
                    }
                    let _ = changes.send(Ok(Change::Remove(address.clone())));
                    replica.member = None;
                    if none_healthy {
                        insert(&changes, address, replica);
                    }
                }
                (None, true) => {
                    if !first && ok {
                        tracing::info!(replica = %address, "gRPC replica healthy; added");
                    }
                    insert(&changes, address, replica);
                }
                (None, false) => {}
            }
        }
        first = false;
        tokio::time::sleep(DISCOVERY_INTERVAL).await;
    }
}

fn insert(changes: &Changes, address: &str, replica: &mut Replica) {
    let flag = Arc::new(AtomicBool::new(false));
    let member = Member {
        channel: replica.channel.clone(),
        broken: flag.clone(),
    };
    let service = PendingRequests::new(member, CompleteOnResponse::default());
    let _ = changes.send(Ok(Change::Insert(address.to_owned(), service)));
    replica.member = Some(flag);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_declares_which_calls_may_repeat() {
        assert_eq!(rule("/chat.messaging.v1.MessagingService/ListMessages"), Retry::Always);
        assert_eq!(rule("/chat.room.v1.RoomService/CheckMembership"), Retry::Always);
        assert_eq!(rule("/chat.messaging.v1.MessagingService/SendMessage"), Retry::IfUnsent);
        assert_eq!(rule("/chat.room.v1.RoomService/CreateRoom"), Retry::IfUnsent);
        assert_eq!(rule("/chat.profile.v1.ProfileService/UploadAvatar"), Retry::Never);
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_stays_itself() {
        let url = "http://no-such-host.invalid:50051";
        assert_eq!(resolve(url).await, vec![url.to_owned()]);
        assert_eq!(
            resolve("http://127.0.0.1:7").await,
            vec!["http://127.0.0.1:7".to_owned()]
        );
    }
}
