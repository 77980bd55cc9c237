//! The gateway's HTTP/1.1 server: one task per connection, served by hyper
//! directly.
//!
//! Why not `axum::serve`: it detects the HTTP version first, which wraps each
//! connection in a private rewind type, so after a WebSocket upgrade the
//! connection can't be taken back out of hyper's `Upgraded` and hyper's
//! 8–16 KiB read buffer stays allocated for the socket's whole life. Served
//! as plain HTTP/1.1 over `TokioIo<TcpStream>`, the upgraded stream can be
//! unwrapped (vendor/engineioxide) and that buffer freed. Browsers speak
//! HTTP/1.1 to a gateway without TLS anyway (h2 needs TLS in browsers).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` resolves; then stops
/// accepting and lets in-flight requests finish (upgraded WebSockets are
/// closed by the caller's shutdown future itself).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = CancellationToken::new();
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                // hyper's URI is a slice of the connection's read buffer: a
                // copy that outlived the request (axum's `OriginalUri`, which
                // sockets kept before `realtime::trim_socket_request`) would
                // pin the whole buffer. Own it instead.
                if let Ok(owned) = http::Uri::try_from(request.uri().to_string()) {
                    *request.uri_mut() = owned;
                }
                request
            });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let stopping = stopping.clone();
        connections.spawn(async move {
            tokio::pin!(connection);
            let outcome = tokio::select! {
                outcome = connection.as_mut() => outcome,
                _ = stopping.cancelled() => {
                    // Finish the request in flight, then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = outcome {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    stopping.cancel();
    connections.close();
    connections.wait().await;
    Ok(())
}
