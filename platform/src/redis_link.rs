//! Connecting to Redis for the backplane: one server (`REDIS_URL`) or a
//! Redis Cluster (`REDIS_CLUSTER_NODES`), each in plaintext or TLS
//! (`rediss://`, with the roots and client certificate of
//! [`RedisTls`]).
//!
//! A TLS failure (an unknown CA, a plaintext server behind `rediss://`, a
//! name the certificate doesn't cover) stops the start at once with the
//! reason: it will not go away by retrying, and nothing ever falls back to
//! plaintext. An unreachable server is retried for a while, as before.

use std::time::Duration;

use anyhow::Context;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, TlsCertificates, Value};

use crate::tls::is_tls_failure;

use crate::config::{BackplaneSettings, RedisTls};

/// A command connection to the backplane's Redis, whichever its shape.
/// Both shapes reconnect by themselves; the cluster one follows slot moves
/// and failovers.
#[derive(Clone)]
pub enum RedisConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl RedisConn {
    /// Whether this is a Redis Cluster (whose pub/sub is sharded).
    pub fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// What a subscriber needs to open its own connection.
#[derive(Clone)]
pub enum RedisTarget {
    Single(redis::Client),
    Cluster {
        nodes: Vec<String>,
        certs: Option<TlsCertificates>,
    },
}

impl RedisTarget {
    /// A cluster client whose pushes (sharded messages, disconnections)
    /// go to `pushes`; RESP3, which pushes need.
    pub fn cluster_client(
        nodes: &[String],
        certs: Option<&TlsCertificates>,
        pushes: Option<tokio::sync::mpsc::UnboundedSender<redis::PushInfo>>,
    ) -> redis::RedisResult<ClusterClient> {
        let mut builder = ClusterClient::builder(nodes.iter().map(String::as_str))
            .use_protocol(redis::ProtocolVersion::RESP3)
            .connection_timeout(Duration::from_secs(3))
            .response_timeout(Duration::from_secs(3));
        if let Some(certs) = certs {
            builder = builder.certs(certs.clone());
        }
        if let Some(pushes) = pushes {
            builder = builder.push_sender(pushes);
        }
        builder.build()
    }
}

/// Reads the PEM files of `tls`, or `None` when none is set.
fn certificates(tls: &RedisTls) -> anyhow::Result<Option<TlsCertificates>> {
    if !tls.is_set() {
        return Ok(None);
    }
    let read = |path: &std::path::Path, what: &str| {
        std::fs::read(path).with_context(|| format!("reading {what} {}", path.display()))
    };
    let root_cert = tls.ca_file.as_deref().map(|p| read(p, "REDIS_CA_FILE")).transpose()?;
    let client_tls = match (&tls.client_cert_file, &tls.client_key_file) {
        (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
            client_cert: read(cert, "REDIS_CLIENT_CERT_FILE")?,
            client_key: read(key, "REDIS_CLIENT_KEY_FILE")?,
        }),
        _ => None,
    };
    Ok(Some(TlsCertificates { client_tls, root_cert }))
}

/// Whether the server at `url` (a `rediss://` URL) answers plaintext
/// RESP: then TLS to it can never work, and saying so beats a handshake
/// that times out. A TLS server just drops the probe.
async fn speaks_plaintext(url: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(info) = redis::IntoConnectionInfo::into_connection_info(url) else {
        return false;
    };
    let (host, port) = match info.addr() {
        redis::ConnectionAddr::TcpTls { host, port, .. } | redis::ConnectionAddr::Tcp(host, port) => {
            (host.clone(), *port)
        }
        _ => return false,
    };
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect((host.as_str(), port)).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut first = [0u8; 1];
        stream.read_exact(&mut first).await.ok()?;
        Some(matches!(first[0], b'+' | b'-'))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), probe).await,
        Ok(Some(true))
    )
}

/// Connects to the Redis (or Redis Cluster) of `settings`, or `None` for
/// the in-process backplane.
pub async fn connect(settings: &BackplaneSettings) -> anyhow::Result<Option<(RedisConn, RedisTarget)>> {
    settings.validate()?;
    crate::tls::install_provider();
    let certs = certificates(&settings.tls)?;
    let tls_urls = settings
        .cluster_nodes
        .iter()
        .chain(settings.redis_url.iter())
        .filter(|u| u.starts_with("rediss://"));
    for url in tls_urls {
        if speaks_plaintext(url).await {
            anyhow::bail!(
                "TLS to Redis failed: the server of a rediss:// address answers in plaintext; \
                 use redis:// only if plaintext is really intended, or enable TLS on the server"
            );
        }
    }
    if !settings.cluster_nodes.is_empty() {
        let client = RedisTarget::cluster_client(&settings.cluster_nodes, certs.as_ref(), None)
            .map_err(|e| anyhow::anyhow!("invalid REDIS_CLUSTER_NODES: {e}"))?;
        let conn = retry("Redis Cluster", || client.get_async_connection()).await?;
        return Ok(Some((
            RedisConn::Cluster(conn),
            RedisTarget::Cluster {
                nodes: settings.cluster_nodes.clone(),
                certs,
            },
        )));
    }
    let Some(url) = settings.redis_url.as_deref() else {
        return Ok(None);
    };
    let client = match &certs {
        Some(certs) => redis::Client::build_with_tls(url, certs.clone()),
        None => redis::Client::open(url),
    }
    .map_err(|e| anyhow::anyhow!("invalid REDIS_URL: {e}"))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_response_timeout(Some(Duration::from_secs(3)))
        .set_number_of_retries(2);
    let conn = retry("Redis", || client.get_connection_manager_with_config(config.clone())).await?;
    // The manager connects lazily in the background after its first
    // success; a PING proves the TLS session works now.
    let mut probe = conn.clone();
    redis::cmd("PING")
        .query_async::<String>(&mut probe)
        .await
        .map_err(|e| refuse("Redis", &e))?;
    Ok(Some((RedisConn::Single(conn), RedisTarget::Single(client))))
}

fn refuse(what: &str, e: &RedisError) -> anyhow::Error {
    if is_tls_failure(e) {
        anyhow::anyhow!("TLS to {what} failed: {e} (check REDIS_CA_FILE, the host name and that the server speaks TLS)")
    } else {
        anyhow::anyhow!("connecting to {what}: {e}")
    }
}

/// Retries `attempt` while the server is unreachable, but not past a TLS
/// failure.
async fn retry<T, F, Fut>(what: &str, mut attempt: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = redis::RedisResult<T>>,
{
    let mut delay = Duration::from_millis(200);
    for round in 1.. {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) if is_tls_failure(&e) || round >= 10 => return Err(refuse(what, &e)),
            Err(e) => {
                tracing::warn!(error = %e, attempt = round, "{what} not reachable yet, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    unreachable!("the loop returns")
}
