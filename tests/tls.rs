//! TLS to PostgreSQL and Redis, as managed providers demand it.
//!
//! - PostgreSQL: this machine's server has SSL on with Debian's snakeoil
//!   certificate (self-signed, for `localhost`); the suite connects with
//!   `sslmode=verify-ca` / `verify-full` and that root, and the server's
//!   `pg_stat_ssl` shows every session of the suite's database is TLS.
//! - Redis: a private `redis-server` that speaks only TLS, with a CA, a
//!   server and a client certificate made here (rcgen), carries a fan-out
//!   between two gateways.
//! - Misconfiguration is refused at start with the reason, never answered
//!   by plaintext: an unknown CA, a plaintext server behind TLS, a
//!   certificate for another host.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chat_platform::backplane::Backplane;
use chat_platform::config::{BackplaneSettings, RedisTls};
use chat_platform::db::DatabaseUrl;
use chat_platform::service::Service;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::json;
use support::process::free_port;
use support::sio::SioClient;
use support::{Backend, ExtraGateway, admin_url, create_pg_database, spawn_app_in};
use tokio::process::{Child, Command};

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

/// The admin URL with `host` in place of its host and `params` appended.
fn pg_url(database_url: &str, host: &str, params: &str) -> String {
    let url = database_url.replace("127.0.0.1", host);
    format!("{url}?{params}")
}

fn snakeoil_present() -> bool {
    if Path::new(SNAKEOIL).exists() {
        return true;
    }
    eprintln!("SKIPPED: {SNAKEOIL} is missing, so this machine's PostgreSQL has no certificate to verify");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_runs_on_postgres_over_verified_tls() {
    if !snakeoil_present() {
        return;
    }
    let (name, url) = create_pg_database().await;
    let tls_url = pg_url(&url, "127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={SNAKEOIL}"));
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_path_buf();
    let app = spawn_app_in(Backend::Postgres, temp, dir, Some((name.clone(), tls_url))).await;

    // Every service writes and reads over its pool.
    let ana = app.user("ana@example.com", "Ana").await;
    let (status, room) = app
        .post_json("/chat/rooms", &json!({"name": "Encrypted"}), Some(&ana.token))
        .await;
    assert_eq!(status, 201, "{room}");
    let room_id = room["id"].as_i64().unwrap();
    let mut socket = SioClient::connect(&app.http, Some(&ana.token)).await.unwrap();
    assert_eq!(
        socket.emit_ack("join_room", json!({"room_id": room_id})).await["ok"],
        true
    );
    let ack = socket
        .emit_ack("send_message", json!({"room_id": room_id, "content": "over TLS"}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    let (status, history) = app
        .get(&format!("/chat/rooms/{room_id}/messages"), Some(&ana.token))
        .await;
    assert_eq!(status, 200, "{history}");
    assert!(history.to_string().contains("over TLS"), "{history}");
    socket.close().await;

    // The server's own view: every session on the suite's database is TLS.
    let admin = sqlx::PgPool::connect(&admin_url()).await.unwrap();
    let (tls, plain): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
         FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
    )
    .bind(&name)
    .fetch_one(&admin)
    .await
    .unwrap();
    assert!(tls > 0, "the suite's sessions are on TLS");
    assert_eq!(plain, 0, "no session of the suite is in plaintext");
    admin.close().await;

    // verify-full with the name the certificate carries works too.
    let full = pg_url(
        &url,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={SNAKEOIL}"),
    );
    let db = chat_platform::db::connect(&DatabaseUrl::new(full).unwrap(), Service::Room, None).await;
    assert!(db.is_ok(), "verify-full against localhost: {:?}", db.err());
    app.stop().await;
}

/// A CA and a certificate it signed for `127.0.0.1` and `localhost`.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (ca, ca_key) = Self::ca("chat test CA");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        let issuer = Issuer::new(Self::ca_params("chat test CA"), ca_key);
        for (name, sans) in [
            ("server", vec!["localhost".to_owned(), "127.0.0.1".to_owned()]),
            ("client", vec!["chat-client".to_owned()]),
        ] {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(sans).unwrap().signed_by(&key, &issuer).unwrap();
            std::fs::write(dir.path().join(format!("{name}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
        }
        // Another CA, which signed nothing here.
        let (other, _) = Self::ca("some other CA");
        std::fs::write(dir.path().join("other-ca.pem"), other.pem()).unwrap();
        Self { dir }
    }

    fn ca_params(name: &str) -> CertificateParams {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params
    }

    fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().unwrap();
        (Self::ca_params(name).self_signed(&key).unwrap(), key)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// Trusts `ca` and presents the client certificate.
    fn client(&self, ca: &str) -> RedisTls {
        RedisTls {
            ca_file: Some(self.path(ca)),
            client_cert_file: Some(self.path("client.pem")),
            client_key_file: Some(self.path("client.key")),
        }
    }
}

/// A redis-server that speaks only TLS and wants a client certificate.
struct TlsRedis {
    port: u16,
    _child: Child,
}

impl TlsRedis {
    async fn start(pki: &Pki) -> Option<Self> {
        let port = free_port();
        let path = |f: &str| pki.path(f).display().to_string();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--tls-cert-file",
                &path("server.pem"),
                "--tls-key-file",
                &path("server.key"),
            ])
            .args(["--tls-ca-cert-file", &path("ca.pem"), "--tls-auth-clients", "yes"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("SKIPPED: redis-server is not installed");
            return None;
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Some(Self { port, _child: child });
            }
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!("SKIPPED: this redis-server has no TLS support (exited with {status})");
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the TLS redis-server never listened");
    }

    fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }
}

fn backplane(url: String, tls: RedisTls) -> BackplaneSettings {
    BackplaneSettings {
        redis_url: Some(url),
        tls,
        prefix: format!("tls{}:", std::process::id()),
        ..BackplaneSettings::local()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_runs_over_redis_with_tls_and_client_certificates() {
    let pki = Pki::new();
    let Some(redis) = TlsRedis::start(&pki).await else {
        return;
    };
    let settings = backplane(redis.url(), pki.client("ca.pem"));
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_path_buf();
    let app = support::spawn_app_on_backplane(temp, dir, settings).await;
    let second = ExtraGateway::start(app.settings.clone()).await;

    let ana = app.user("ana@example.com", "Ana").await;
    let ben = app.user("ben@example.com", "Ben").await;
    let (status, room) = app
        .post_json("/chat/rooms", &json!({"name": "Sealed"}), Some(&ana.token))
        .await;
    assert_eq!(status, 201, "{room}");
    let room_id = room["id"].as_i64().unwrap();
    let mut sender = SioClient::connect(&app.http, Some(&ana.token)).await.unwrap();
    let mut far = SioClient::connect(&second.url, Some(&ben.token)).await.unwrap();
    for client in [&mut sender, &mut far] {
        assert_eq!(
            client.emit_ack("join_room", json!({"room_id": room_id})).await["ok"],
            true
        );
    }
    for i in 1..=5 {
        let ack = sender
            .emit_ack("send_message", json!({"room_id": room_id, "content": format!("m{i}")}))
            .await;
        assert_eq!(ack["ok"], true, "{ack}");
    }
    // The far gateway hears them only through the TLS Redis.
    let mut seqs = Vec::new();
    while seqs.len() < 5 {
        let message = far.expect("new_message").await;
        seqs.push(message["seq"].as_i64().unwrap());
    }
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    let extra: Vec<_> = far
        .drain(Duration::from_millis(300))
        .await
        .into_iter()
        .filter(|(name, _)| name == "new_message")
        .collect();
    assert!(extra.is_empty(), "each message once: {extra:?}");

    sender.close().await;
    far.close().await;
    second.stop().await;
    app.stop().await;
}

async fn refusal(settings: BackplaneSettings) -> String {
    match Backplane::connect(&settings).await {
        Ok(_) => panic!("connected despite a TLS misconfiguration"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_tls_misconfiguration_is_refused_at_start() {
    let pki = Pki::new();
    let Some(redis) = TlsRedis::start(&pki).await else {
        return;
    };

    // A CA that didn't sign the server's certificate.
    let error = refusal(backplane(redis.url(), pki.client("other-ca.pem"))).await;
    assert!(error.contains("TLS to Redis failed"), "{error}");
    assert!(error.to_lowercase().contains("certificate"), "{error}");

    // A plaintext server behind rediss:// (the machine's own Redis).
    let plain = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let error = refusal(backplane(plain.replace("redis://", "rediss://"), pki.client("ca.pem"))).await;
    assert!(error.contains("TLS to Redis failed"), "{error}");

    // Certificates with a plaintext URL: refused before connecting.
    let error = refusal(backplane(
        redis.url().replace("rediss://", "redis://"),
        pki.client("ca.pem"),
    ))
    .await;
    assert!(error.contains("not rediss://"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tls_misconfiguration_is_refused_at_start() {
    if !snakeoil_present() {
        return;
    }
    let pki = Pki::new();
    let (_, url) = create_pg_database().await;
    let refused = async |url: String| {
        let url = DatabaseUrl::new(url).unwrap();
        match chat_platform::db::connect(&url, Service::Auth, None).await {
            Ok(_) => panic!("connected despite a TLS misconfiguration"),
            Err(e) => format!("{e:#}"),
        }
    };
    // verify-full with a host the certificate doesn't name.
    let error = refused(pg_url(
        &url,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={SNAKEOIL}"),
    ))
    .await;
    assert!(error.contains("TLS to"), "{error}");
    // A CA that didn't sign the server's certificate.
    let other = pki.path("other-ca.pem").display().to_string();
    let error = refused(pg_url(
        &url,
        "localhost",
        &format!("sslmode=verify-ca&sslrootcert={other}"),
    ))
    .await;
    assert!(error.contains("TLS to"), "{error}");

    // The binary itself stops at start, naming the cause, and the password
    // in the URL never shows.
    let bad = pg_url(
        &url,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={SNAKEOIL}"),
    )
    .replace("postgres@", "postgres:hunter2@");
    let output = Command::new(env!("CARGO_BIN_EXE_chat"))
        .arg("migrate")
        .env_clear()
        .env("DATABASE_URL", &bad)
        .env("DATA_DIR", tempfile::tempdir().unwrap().path())
        .env("INTERNAL_SECRET", "test-internal-secret-0123456789")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TLS to"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
}
