//! Operating the suite: graceful shutdown on SIGTERM and Prometheus metrics.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use support::process::gateway_process;
use support::sio::SioClient;
use support::{Backend, TestApp, spawn_app};

async fn join(client: &mut SioClient, room_id: i64) {
    let ack = client.emit_ack("join_room", json!({"room_id": room_id})).await;
    assert_eq!(ack["ok"], true, "{ack}");
}

/// A client sends 100 messages with acks through a gateway that gets
/// SIGTERM halfway. Every acked message is stored, the client finishes on
/// the other gateway, and nothing is stored twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_midway_loses_nothing_acknowledged() {
    let app = spawn_app(Backend::Postgres).await;
    let session = app.register("steady@example.com", "Sam").await;
    let token = session["token"].as_str().unwrap().to_owned();
    let (status, room) = app
        .post_json("/chat/rooms", &json!({"name": "Drain"}), Some(&token))
        .await;
    assert_eq!(status, 201);
    let room_id = room["id"].as_i64().unwrap();

    let (mut gateway, doomed) = gateway_process(&app).await;
    let mut client = SioClient::connect(&doomed, Some(&token)).await.unwrap();
    join(&mut client, room_id).await;

    let mut acked: HashSet<String> = HashSet::new();
    let mut on_second = false;
    let mut terminated = false;
    let mut n = 0;
    while n < 100 {
        if n == 50 && !terminated {
            let pid = gateway.id().unwrap().to_string();
            let killed = tokio::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .await
                .unwrap();
            assert!(killed.success());
            terminated = true;
        }
        let key = format!("msg-{n}");
        let payload = json!({"room_id": room_id, "content": format!("message {n}"), "client_msg_id": key});
        match client.try_emit_ack("send_message", payload).await {
            Some(ack) if ack["ok"] == true => {
                acked.insert(key);
                n += 1;
            }
            other => {
                // The gateway is draining: reconnect elsewhere and resend
                // the same message, which the client_msg_id keeps single.
                assert!(terminated, "failure before SIGTERM: {other:?}");
                assert!(!on_second, "the second gateway failed too: {other:?}");
                client = SioClient::connect(&app.http, Some(&token)).await.unwrap();
                join(&mut client, room_id).await;
                on_second = true;
            }
        }
    }
    assert!(on_second, "the client moved to the other gateway");
    assert_eq!(acked.len(), 100);

    // The terminated gateway exited by itself within its grace period.
    let exit = tokio::time::timeout(Duration::from_secs(40), gateway.wait())
        .await
        .expect("the gateway exits after SIGTERM")
        .unwrap();
    assert!(exit.success(), "clean exit, got {exit:?}");

    let pool = app.service_db("messaging").await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT client_msg_id FROM messages WHERE room_id = $1")
        .bind(room_id)
        .fetch_all(&pool)
        .await
        .unwrap();
    let unique: HashSet<String> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), unique.len(), "nothing stored twice");
    assert!(acked.is_subset(&unique), "every acknowledged message is stored");
    assert_eq!(unique.len(), 100);
    client.close().await;
    app.stop().await;
}

fn scrape(text: &str) -> prometheus_parse::Scrape {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text")
}

fn counter(scrape: &prometheus_parse::Scrape, name: &str, label: (&str, &str)) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

async fn metrics(app: &TestApp) -> prometheus_parse::Scrape {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    scrape(&response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_move_with_traffic() {
    let app = spawn_app(Backend::Sqlite).await;
    let before = metrics(&app).await;
    let route = ("route", "/auth/register");
    let registered_before = counter(&before, "chat_http_requests_total", route);

    let session = app.register("metered@example.com", "Meg").await;
    let token = session["token"].as_str().unwrap();
    let (_, room) = app
        .post_json("/chat/rooms", &json!({"name": "Metered"}), Some(token))
        .await;
    let room_id = room["id"].as_i64().unwrap();
    let mut client = SioClient::connect(&app.http, Some(token)).await.unwrap();
    join(&mut client, room_id).await;
    client
        .emit_ack("send_message", json!({"room_id": room_id, "content": "counted"}))
        .await;
    client.expect("new_message").await;

    let after = metrics(&app).await;
    // Other tests in this process share the recorder: at least our request.
    assert!(counter(&after, "chat_http_requests_total", route) >= registered_before + 1.0);
    let rpc = ("rpc", "/chat.messaging.v1.MessagingService/SendMessage");
    assert!(counter(&after, "chat_grpc_requests_total", rpc) >= 1.0);
    assert!(counter(&after, "chat_grpc_request_duration_seconds_count", rpc) >= 1.0);
    let gauges: Vec<_> = after
        .samples
        .iter()
        .filter(|s| s.metric == "chat_socketio_connections")
        .collect();
    assert!(
        matches!(gauges[0].value, prometheus_parse::Value::Gauge(v) if v >= 1.0),
        "{gauges:?}"
    );
    assert!(
        after
            .samples
            .iter()
            .any(|s| s.metric == "chat_fanout_lag_seconds_count")
    );
    assert!(after.samples.iter().any(|s| s.metric == "chat_fanout_rooms_followed"));
    client.close().await;
    app.stop().await;
}
