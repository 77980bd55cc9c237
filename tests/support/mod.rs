//! `spawn_app()`: the whole suite on ephemeral ports, on SQLite (a fresh
//! temp directory) or PostgreSQL (a fresh database), with real HTTP and gRPC
//! clients. Logs stay silent unless `TEST_LOG=1`.
#![allow(dead_code)]

pub mod cluster;
pub mod process;
pub mod redis_cluster;
pub mod sio;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chat::{Listeners, Role, Settings};
use chat_platform::config::{BackplaneSettings, Jwt, Peers, Shared};
use chat_platform::db::DatabaseUrl;
use chat_platform::limits::Limits;
use chat_platform::service::Service;
use chat_platform::web::OriginPolicy;
use serde_json::{Value, json};
use sqlx::AnyPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend for each listed `async fn(&TestApp)`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::support::spawn_app($crate::support::Backend::Sqlite).await;
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::support::spawn_app($crate::support::Backend::Postgres).await;
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
    };
}

pub struct TestApp {
    pub backend: Backend,
    pub http: String,
    pub grpc: String,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    pub settings: Settings,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _temp: tempfile::TempDir,
    pg_database: Option<String>,
}

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = chat_platform::telemetry::init("chat-test");
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Starts a PostgreSQL app whose bus is the Redis at `url` (one a test may restart).
pub async fn spawn_app_with_redis(url: &str) -> TestApp {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().to_path_buf();
    spawn_app_on(Backend::Postgres, temp, data_dir, None, Some(url.to_owned()), |_| {}).await
}

/// Starts a PostgreSQL app on the given backplane (a TLS Redis, a Redis Cluster).
pub async fn spawn_app_on_backplane(
    temp: tempfile::TempDir,
    data_dir: PathBuf,
    backplane: BackplaneSettings,
) -> TestApp {
    spawn_app_on(Backend::Postgres, temp, data_dir, None, None, move |s| {
        s.shared.backplane = backplane;
    })
    .await
}

pub async fn create_pg_database() -> (String, String) {
    sqlx::any::install_default_drivers();
    let name = format!(
        "chat_test_{}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let admin = admin_url();
    let pool = AnyPool::connect(&admin)
        .await
        .expect("PostgreSQL must be running for the postgres tests (TEST_DATABASE_URL)");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .expect("create test database");
    pool.close().await;
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin);
    (name.clone(), format!("{base}/{name}"))
}

/// Settings for a test app whose services all listen on `grpc_addr`.
pub fn test_settings(data_dir: PathBuf, database_url: Option<&str>, grpc_addr: &str) -> Settings {
    let peer = format!("http://{grpc_addr}");
    let url = |service: Service| match database_url {
        Some(url) => DatabaseUrl::new(url).unwrap(),
        None => DatabaseUrl::sqlite_file(&data_dir, &format!("{service}.db")),
    };
    let shared = Shared {
        data_dir: data_dir.clone(),
        jwt: Jwt::default(),
        internal_secret: secrecy::SecretString::from("test-internal-secret-0123456789".to_owned()),
        presence_ttl: Duration::from_secs(3),
        peers: Peers::all_at(&peer),
        backplane: BackplaneSettings {
            prefix: "test:".into(),
            ..BackplaneSettings::local()
        },
        // Tests act as many users from one address; each limit's own test
        // turns the limits back on (`spawn_app_with_limits`).
        limits: Limits::without_rate_limits(),
        origins: OriginPolicy::default(),
    };
    Settings {
        auth: chat_auth::Config {
            database_url: url(Service::Auth),
            data_dir: data_dir.clone(),
            private_key: None,
            private_key_file: None,
            jwt: shared.jwt.clone(),
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(3600),
            profile_url: peer.clone(),
            hash_concurrency: 2,
            internal_secret: shared.internal_secret.clone(),
            session_lifetime: Duration::from_secs(30 * 24 * 3600),
            limits: shared.limits.clone(),
        },
        profile: chat_profile::Config {
            database_url: url(Service::Profile),
            auth_url: peer.clone(),
            jwt: shared.jwt.clone(),
            limits: shared.limits.clone(),
        },
        room: chat_room::Config {
            database_url: url(Service::Room),
            auth_url: peer.clone(),
            profile_url: peer.clone(),
            messaging_url: peer.clone(),
            jwt: shared.jwt.clone(),
            internal_secret: shared.internal_secret.clone(),
            rooms_per_user: shared.limits.rooms_per_user,
        },
        messaging: chat_messaging::Config {
            database_url: url(Service::Messaging),
            auth_url: peer.clone(),
            room_url: peer.clone(),
            profile_url: peer.clone(),
            jwt: shared.jwt.clone(),
            internal_secret: shared.internal_secret.clone(),
            presence_ttl: shared.presence_ttl,
        },
        gateway: chat_gateway::Config {
            peers: shared.peers.clone(),
            max_body_bytes: 64 * 1024,
            frontend_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("frontend"),
            jwt: shared.jwt.clone(),
            internal_secret: shared.internal_secret.clone(),
            presence_ttl: shared.presence_ttl,
            limits: shared.limits.clone(),
            origins: shared.origins.clone(),
            trusted_proxies: Vec::new(),
            socket_query_token: false,
            metrics_elsewhere: false,
        },
        shared,
        shutdown_grace: Duration::from_secs(10),
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts an app whose settings `adjust` changes first (limits, origins…).
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().to_path_buf();
    spawn_app_on(backend, temp, data_dir, None, None, adjust).await
}

/// Gives every part of `settings` these limits.
pub fn set_limits(settings: &mut Settings, limits: Limits) {
    settings.auth.limits = limits.clone();
    settings.profile.limits = limits.clone();
    settings.room.rooms_per_user = limits.rooms_per_user;
    settings.gateway.limits = limits.clone();
    settings.shared.limits = limits;
}

/// Starts an app on an existing data directory / database (for restarts).
pub async fn spawn_app_in(
    backend: Backend,
    temp: tempfile::TempDir,
    data_dir: PathBuf,
    pg: Option<(String, String)>,
) -> TestApp {
    spawn_app_on(backend, temp, data_dir, pg, None, |_| {}).await
}

async fn spawn_app_on(
    backend: Backend,
    temp: tempfile::TempDir,
    data_dir: PathBuf,
    pg: Option<(String, String)>,
    redis: Option<String>,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    init_logs();
    let grpc_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc = grpc_listener.local_addr().unwrap().to_string();
    let http = http_listener.local_addr().unwrap().to_string();
    let pg = match (backend, pg) {
        (Backend::Postgres, None) => Some(create_pg_database().await),
        (_, pg) => pg,
    };
    let mut settings = test_settings(data_dir.clone(), pg.as_ref().map(|(_, url)| url.as_str()), &grpc);
    if backend == Backend::Postgres {
        // The real thing: Redis pub/sub, namespaced so parallel tests don't meet.
        settings.shared.backplane.redis_url =
            Some(redis.unwrap_or_else(|| {
                std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
            }));
        settings.shared.backplane.prefix = format!(
            "test{}_{}:",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
    }
    adjust(&mut settings);
    let stop = CancellationToken::new();
    let listeners = Listeners {
        grpc: Some(grpc_listener),
        http: Some(http_listener),
        metrics: None,
    };
    let task = tokio::spawn(chat::run(
        Role::All,
        settings.clone(),
        listeners,
        stop.clone().cancelled_owned(),
    ));
    let app = TestApp {
        backend,
        http: format!("http://{http}"),
        grpc: format!("http://{grpc}"),
        data_dir,
        client: reqwest::Client::new(),
        settings,
        stop,
        task,
        _temp: temp,
        pg_database: pg.map(|(name, _)| name),
    };
    app.wait_ready().await;
    app
}

impl TestApp {
    async fn wait_ready(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if self.task.is_finished() {
                panic!("app exited during start-up");
            }
            let answer = self.client.get(format!("{}/health", self.http)).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "app did not become healthy");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the servers and drops the test database.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        if let Some(name) = self.pg_database
            && let Ok(pool) = AnyPool::connect(&admin_url()).await
        {
            let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await;
        }
    }

    /// Stops the servers but keeps the data, returning what a restart needs.
    pub async fn shutdown_keep_data(self) -> (tempfile::TempDir, PathBuf, Option<(String, String)>) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        let pg = self.pg_database.map(|name| {
            let url = self.settings.auth.database_url.expose().to_owned();
            (name, url)
        });
        (self._temp, self.data_dir, pg)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.http, path)
    }

    pub async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::read(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::read(req.send().await.unwrap()).await
    }

    /// Any method with an optional JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::read(req.send().await.unwrap()).await
    }

    pub async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::read(req.send().await.unwrap()).await
    }

    pub async fn read(response: reqwest::Response) -> (u16, Value) {
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, value)
    }

    /// Registers a user and returns the session JSON (token, refresh_token, user).
    pub async fn register(&self, email: &str, first: &str) -> Value {
        let (status, body) = self
            .post_json(
                "/auth/register",
                &json!({"email": email, "password": "Passw0rd!", "first_name": first, "last_name": "Tester"}),
                None,
            )
            .await;
        assert_eq!(status, 201, "register {email}: {body}");
        body
    }

    /// Registers an account and returns it as a signed-in [`User`].
    pub async fn user(&self, email: &str, first: &str) -> User {
        let session = self.register(email, first).await;
        User {
            token: session["token"].as_str().expect("token").to_owned(),
            id: session["user"]["id"].as_i64().expect("user id"),
        }
    }

    /// A pool on one service's own database, for asserting on rows.
    pub async fn service_db(&self, service: &str) -> AnyPool {
        sqlx::any::install_default_drivers();
        let url = self
            .settings
            .database_url(service.parse().unwrap_or_else(|e| panic!("{e}")));
        let schema = service.to_owned();
        let is_pg = self.backend == Backend::Postgres;
        sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    if is_pg {
                        sqlx::Executor::execute(conn, sqlx::AssertSqlSafe(format!("SET search_path TO {schema}")))
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url.expose())
            .await
            .unwrap()
    }

    pub async fn count(&self, service: &str, table: &str) -> i64 {
        let pool = self.service_db(service).await;
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }

    pub async fn grpc_channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.grpc.clone())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }
}

/// A gateway-only process (in this test process) beside an app, e.g. a
/// second gateway on the same bus.
pub struct ExtraGateway {
    pub url: String,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl ExtraGateway {
    /// Starts a gateway with `settings` and waits until it answers `/health`.
    pub async fn start(settings: Settings) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let listeners = Listeners {
            http: Some(listener),
            ..Default::default()
        };
        let task = tokio::spawn(chat::run(
            Role::Gateway,
            settings,
            listeners,
            stop.clone().cancelled_owned(),
        ));
        process::wait_http(&url).await;
        Self { url, stop, task }
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

pub fn error_code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"))
}

pub fn error_field(body: &Value) -> Option<&str> {
    body["error"]["field"].as_str()
}

/// A signed-in account: its access token and user id.
#[allow(dead_code)] // not every test binary reads both fields
pub struct User {
    pub token: String,
    pub id: i64,
}
