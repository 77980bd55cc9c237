//! Failure tests with real processes: a gateway killed with SIGKILL, and
//! Redis restarted in the middle of a conversation.

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use support::process::{free_port, gateway_process};
use support::sio::SioClient;
use support::{Backend, ExtraGateway, TestApp, spawn_app, spawn_app_with_redis};
use tokio::process::{Child, Command};

/// The next `user_status_changed` about `user_id`.
async fn status_of(client: &mut SioClient, user_id: i64) -> serde_json::Value {
    loop {
        let event = client.expect("user_status_changed").await;
        if event["user_id"].as_i64() == Some(user_id) {
            return event;
        }
    }
}

async fn register(app: &TestApp, email: &str) -> (String, i64) {
    let session = app.register(email, "User").await;
    (
        session["token"].as_str().unwrap().to_owned(),
        session["user"]["id"].as_i64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_gateways_users_go_offline_within_the_ttl() {
    let app = spawn_app(Backend::Postgres).await;
    let (obs_token, _) = register(&app, "watcher@example.com").await;
    let (token, user_id) = register(&app, "doomed@example.com").await;
    let mut observer = SioClient::connect(&app.http, Some(&obs_token)).await.unwrap();
    observer.expect("connected").await;

    let (mut gateway, base) = gateway_process(&app).await;
    let mut victim = SioClient::connect(&base, Some(&token)).await.unwrap();
    victim.expect("connected").await;
    let online = status_of(&mut observer, user_id).await;
    assert_eq!(
        (online["user_id"].as_i64(), online["status"].as_str()),
        (Some(user_id), Some("online"))
    );

    // SIGKILL: no disconnect handler runs, nobody says goodbye.
    gateway.start_kill().unwrap();
    gateway.wait().await.unwrap();
    let killed = tokio::time::Instant::now();
    let offline = status_of(&mut observer, user_id).await;
    assert_eq!(
        (offline["user_id"].as_i64(), offline["status"].as_str()),
        (Some(user_id), Some("offline"))
    );
    // Not before the TTL (3 s here) could have lapsed: it was the TTL, not a goodbye.
    assert!(
        killed.elapsed() >= Duration::from_secs(1),
        "offline came from a lapse, not a close"
    );
    let (_, profile) = app.get(&format!("/profile/users/{user_id}"), Some(&obs_token)).await;
    assert_eq!(profile["status"], "offline");
    drop(victim);
    observer.close().await;
    app.stop().await;
}

/// A private Redis on its own port, which the test may kill and restart.
struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    async fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server must be installed");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { port, child }
    }

    async fn kill(mut self) -> u16 {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
        self.port
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_recovers_from_a_redis_restart_without_loss_or_duplicates() {
    let redis = PrivateRedis::start(free_port()).await;
    let app = spawn_app_with_redis(&format!("redis://127.0.0.1:{}", redis.port)).await;

    // A second gateway on the same Redis.
    let second_gateway = ExtraGateway::start(app.settings.clone()).await;
    let second = second_gateway.url.clone();

    let (ana, _) = register(&app, "ana@example.com").await;
    let (ben, _) = register(&app, "ben@example.com").await;
    let (status, room) = app
        .post_json("/chat/rooms", &json!({"name": "Resilient"}), Some(&ana))
        .await;
    assert_eq!(status, 201);
    let room_id = room["id"].as_i64().unwrap();
    let mut sender = SioClient::connect(&app.http, Some(&ana)).await.unwrap();
    let mut far = SioClient::connect(&second, Some(&ben)).await.unwrap();
    for c in [&mut sender, &mut far] {
        assert_eq!(c.emit_ack("join_room", json!({"room_id": room_id})).await["ok"], true);
    }

    let mut sent = 0;
    let mut send = async |client: &mut SioClient, n: usize| {
        for _ in 0..n {
            sent += 1;
            let ack = client
                .emit_ack(
                    "send_message",
                    json!({"room_id": room_id, "content": format!("m{sent}")}),
                )
                .await;
            assert_eq!(ack["ok"], true, "every send is acknowledged, Redis or not: {ack}");
        }
    };
    send(&mut sender, 10).await;
    let port = redis.kill().await;
    send(&mut sender, 10).await;
    let _redis = PrivateRedis::start(port).await;
    send(&mut sender, 10).await;

    for client in [&mut sender, &mut far] {
        let seqs = client.message_seqs(30).await;
        assert_eq!(seqs, (1..=30).collect::<Vec<i64>>(), "every message once, in order");
    }
    assert_eq!(app.count("messaging", "messages").await, 30);

    sender.close().await;
    far.close().await;
    second_gateway.stop().await;
    app.stop().await;
}
