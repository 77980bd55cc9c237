//! `chat [ROLE]`: runs one role of the chat suite (default `all`).
//! Every setting comes from the environment; see the README's table.

use std::net::SocketAddr;

use anyhow::Context;
use chat::{Listeners, Role, Settings};
use clap::Parser;

/// mimalloc: lower per-allocation overhead than glibc's malloc for the many
/// small, long-lived allocations of idle connections, and faster frees.
/// The `system-alloc` feature drops it, for heap profilers that only see
/// the system allocator.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Real-time chat: every service and the gateway, or one role per process"
)]
struct Cli {
    /// What this process runs: all, gateway, auth, profile, room, messaging or migrate.
    #[arg(env = "CHAT_ROLE", default_value = "all")]
    role: Role,
    /// Where the gateway serves HTTP (REST, Socket.IO, the frontend).
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8080")]
    http_addr: SocketAddr,
    /// Where the services serve gRPC.
    #[arg(long, env = "GRPC_ADDR", default_value = "0.0.0.0:50051")]
    grpc_addr: SocketAddr,
    /// Where `/metrics` is served. Service-only roles default to
    /// 0.0.0.0:9090; with a gateway it is on HTTP_ADDR unless this is set,
    /// so the public port need not expose it.
    #[arg(long, env = "METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = chat_platform::telemetry::init(&format!("chat-{}", cli.role));

    let default_peer = format!("http://127.0.0.1:{}", cli.grpc_addr.port());
    let mut settings = Settings::from_env(&default_peer)?;

    let serves_grpc = cli.role.serves_grpc();
    let serves_http = cli.role.serves_http();
    let metrics_addr = match (cli.metrics_addr, serves_http) {
        (Some(addr), _) => Some(addr),
        (None, false) if serves_grpc => Some(SocketAddr::from(([0, 0, 0, 0], 9090))),
        (None, _) => None,
    };
    settings.gateway.metrics_elsewhere = serves_http && metrics_addr.is_some();
    let listeners = Listeners {
        grpc: bind(serves_grpc, cli.grpc_addr, "GRPC_ADDR").await?,
        http: bind(serves_http, cli.http_addr, "HTTP_ADDR").await?,
        metrics: match metrics_addr {
            Some(addr) => bind(true, addr, "METRICS_ADDR").await?,
            None => None,
        },
    };
    let result = chat::run(cli.role, settings, listeners, chat_platform::shutdown::signal()).await;
    telemetry.shutdown();
    result
}

async fn bind(wanted: bool, addr: SocketAddr, name: &str) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    if !wanted {
        return Ok(None);
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}; set {name} to a free address"))?;
    Ok(Some(listener))
}
