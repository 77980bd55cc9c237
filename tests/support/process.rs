//! The `chat` binary as a real OS process, for tests that kill or signal it.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::TestApp;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn wait_http(base: &str) {
    for _ in 0..300 {
        if reqwest::get(format!("{base}/health"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} never became healthy");
}

/// The bus of `app`, as a process's environment: its Redis Cluster, or
/// its Redis (the machine's when `app` runs in process).
fn backplane_env(app: &TestApp) -> Vec<(&'static str, String)> {
    let backplane = &app.settings.shared.backplane;
    if !backplane.cluster_nodes.is_empty() {
        return vec![("REDIS_CLUSTER_NODES", backplane.cluster_nodes.join(","))];
    }
    let url = backplane.redis_url.as_deref().unwrap_or("redis://127.0.0.1:6379");
    vec![("REDIS_URL", url.to_owned())]
}

/// `chat <role>` as its own OS process, wired to `app`'s services, bus and
/// secret, with `env` on top.
fn role_process(app: &TestApp, role: &str, env: &[(&str, String)]) -> Child {
    let dir = tempfile::tempdir().unwrap().keep();
    Command::new(env!("CARGO_BIN_EXE_chat"))
        .arg(role)
        .env_clear()
        .env("AUTH_SERVICE_URL", &app.grpc)
        .env("PROFILE_SERVICE_URL", &app.grpc)
        .env("ROOM_SERVICE_URL", &app.grpc)
        .env("MESSAGING_SERVICE_URL", &app.grpc)
        .envs(backplane_env(app))
        .env("REDIS_CHANNEL_PREFIX", &app.settings.shared.backplane.prefix)
        .env("INTERNAL_SECRET", "test-internal-secret-0123456789")
        .env("PRESENCE_TTL_SECS", "3")
        .env("RATE_LIMITS", "off")
        .env("DATA_DIR", dir)
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(if std::env::var("TEST_LOG").is_ok() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true)
        .spawn()
        .expect("start the chat binary")
}

/// `chat gateway` as its own OS process, wired to `app`'s services and bus.
pub async fn gateway_process(app: &TestApp) -> (Child, String) {
    gateway_process_with(app, &[]).await
}

/// The same, with extra environment variables.
pub async fn gateway_process_with(app: &TestApp, extra: &[(&str, &str)]) -> (Child, String) {
    let port = free_port();
    let mut env = vec![("HTTP_ADDR", format!("127.0.0.1:{port}"))];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let child = role_process(app, "gateway", &env);
    let base = format!("http://127.0.0.1:{port}");
    wait_http(&base).await;
    (child, base)
}

/// One gRPC service as its own OS process: its gRPC URL and `/metrics`.
pub struct Replica {
    pub child: Child,
    pub grpc: String,
    pub metrics: String,
}

impl Replica {
    /// How many calls of `rpc` (a full gRPC path) this process answered.
    pub async fn served(&self, rpc: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.metrics))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with("chat_grpc_requests_total{") && l.contains(&format!("rpc=\"{rpc}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// SIGKILL, and waits until it is gone.
    pub async fn kill(&mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}

/// `chat <role>` for one gRPC service as its own OS process, on
/// `database_url`.
pub async fn replica(app: &TestApp, role: &str, database_url: &str) -> Replica {
    replica_on(app, role, database_url, free_port()).await
}

/// The same, listening for gRPC on `grpc` (a replica restarted where its
/// callers knew it).
pub async fn replica_on(app: &TestApp, role: &str, database_url: &str, grpc: u16) -> Replica {
    let metrics = free_port();
    let env = [
        ("GRPC_ADDR", format!("127.0.0.1:{grpc}")),
        ("METRICS_ADDR", format!("127.0.0.1:{metrics}")),
        ("DATABASE_URL", database_url.to_owned()),
    ];
    let child = role_process(app, role, &env);
    // Ready when its metrics listener answers (it binds after start-up).
    let base = format!("http://127.0.0.1:{metrics}");
    for _ in 0..300 {
        if reqwest::get(format!("{base}/metrics"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Replica {
        child,
        grpc: format!("http://127.0.0.1:{grpc}"),
        metrics: base,
    }
}

/// `chat <role>` for one gRPC service as its own OS process, on
/// `database_url`. Returns the process and its gRPC URL.
pub async fn service_process(app: &TestApp, role: &str, database_url: &str) -> (Child, String) {
    let replica = replica(app, role, database_url).await;
    (replica.child, replica.grpc)
}
