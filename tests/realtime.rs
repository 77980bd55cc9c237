//! Real-time messaging through Socket.IO: on PostgreSQL + Redis with two
//! gateway processes, and on the embedded default (one process, SQLite,
//! in-process bus).

mod support;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use support::cluster::Cluster;
use support::sio::SioClient;
use support::{Backend, TestApp, User, spawn_app};

cluster_tests!(
    everyone_gets_every_message_once_in_order,
    typing_reaches_others_only_and_clears_itself,
    presence_follows_the_last_tab,
    rejoining_with_since_returns_exactly_what_was_missed,
    non_members_can_neither_read_nor_post,
    resent_client_msg_id_stores_one_message,
    bad_events_get_errors_and_break_nothing,
    room_deletion_reaches_connected_clients,
    a_reconnect_storm_keeps_every_seq_once_in_order,
);

// The fan-out, ordering, presence and catch-up tests again, with the bus
// and presence on a Redis Cluster (sharded pub/sub).
redis_cluster_tests!(
    everyone_gets_every_message_once_in_order,
    typing_reaches_others_only_and_clears_itself,
    presence_follows_the_last_tab,
    rejoining_with_since_returns_exactly_what_was_missed,
    a_reconnect_storm_keeps_every_seq_once_in_order,
);

async fn user(app: &TestApp, email: &str, name: &str) -> User {
    app.user(email, name).await
}

async fn room(app: &TestApp, owner: &User, name: &str) -> i64 {
    let (status, room) = app
        .post_json("/chat/rooms", &json!({ "name": name }), Some(&owner.token))
        .await;
    assert_eq!(status, 201, "{room}");
    room["id"].as_i64().unwrap()
}

async fn join(client: &mut SioClient, room_id: i64, since: Option<i64>) -> Value {
    let mut payload = json!({ "room_id": room_id });
    if let Some(s) = since {
        payload["since"] = json!(s);
    }
    let ack = client.emit_ack("join_room", payload).await;
    assert_eq!(ack["ok"], true, "join_room: {ack}");
    client.expect("messages_history").await
}

fn seqs(events: &[(String, Value)]) -> Vec<i64> {
    events
        .iter()
        .filter(|(name, _)| name == "new_message")
        .map(|(_, m)| m["seq"].as_i64().unwrap())
        .collect()
}

async fn everyone_gets_every_message_once_in_order(c: &Cluster) {
    let app = &c.app;
    let ana = user(app, "ana@example.com", "Ana").await;
    let ben = user(app, "ben@example.com", "Ben").await;
    let cy = user(app, "cy@example.com", "Cy").await;
    let room_id = room(app, &ana, "General").await;

    let mut clients = Vec::new();
    for (who, gateway) in [(&ana, &c.gateways[0]), (&ben, &c.gateways[1]), (&cy, &c.gateways[1])] {
        let mut client = SioClient::connect(gateway, Some(&who.token)).await.unwrap();
        client.expect("connected").await;
        let history = join(&mut client, room_id, None).await;
        assert_eq!(history["messages"], json!([]));
        clients.push(client);
    }

    // Everyone sends at once, 10 each.
    let mut sends = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        for n in 0..10 {
            client.emit(
                "send_message",
                json!({"room_id": room_id, "content": format!("from {i}: {n}")}),
            );
        }
        sends.push(i);
    }
    for client in clients.iter_mut() {
        let mut received = Vec::new();
        while received.len() < 30 {
            let (name, data) = client.recv().await.expect("30 messages within the timeout");
            if name == "new_message" {
                assert_eq!(data["room_id"], room_id);
                assert!(data["user"]["first_name"].is_string());
                received.push(data["seq"].as_i64().unwrap());
            }
        }
        let extra = seqs(&client.drain(Duration::from_millis(500)).await);
        assert!(extra.is_empty(), "duplicates: {extra:?}");
        assert_eq!(received, (1..=30).collect::<Vec<i64>>(), "in seq order, exactly once");
    }
    assert_eq!(app.count("messaging", "messages").await, 30);
    for client in clients {
        client.close().await;
    }
}

async fn typing_reaches_others_only_and_clears_itself(c: &Cluster) {
    let app = &c.app;
    let ana = user(app, "typist@example.com", "Ana").await;
    let ben = user(app, "watcher@example.com", "Ben").await;
    let room_id = room(app, &ana, "Typing").await;
    let mut a = SioClient::connect(&c.gateways[0], Some(&ana.token)).await.unwrap();
    let mut b = SioClient::connect(&c.gateways[1], Some(&ben.token)).await.unwrap();
    join(&mut a, room_id, None).await;
    join(&mut b, room_id, None).await;
    a.drain(Duration::from_millis(200)).await;

    a.emit("typing", json!({"room_id": room_id, "is_typing": true}));
    let typing = b.expect("user_typing").await;
    assert_eq!(
        (typing["user"]["id"].as_i64(), typing["is_typing"].as_bool()),
        (Some(ana.id), Some(true))
    );
    // Nothing more from Ana, and the server clears it by itself after 5 s.
    let started = tokio::time::Instant::now();
    let cleared = b.expect("user_typing").await;
    assert_eq!(cleared["is_typing"], false);
    assert!(started.elapsed() >= Duration::from_secs(3), "cleared too early");
    // The typist never sees their own typing.
    let own: Vec<_> = a
        .drain(Duration::from_millis(300))
        .await
        .into_iter()
        .filter(|(n, _)| n == "user_typing")
        .collect();
    assert!(own.is_empty(), "{own:?}");

    // Sending a message clears it at once.
    a.emit("typing", json!({"room_id": room_id, "is_typing": true}));
    assert_eq!(b.expect("user_typing").await["is_typing"], true);
    a.emit_ack("send_message", json!({"room_id": room_id, "content": "done"}))
        .await;
    let mut saw_clear = false;
    for _ in 0..4 {
        let (name, data) = b.recv().await.unwrap();
        if name == "user_typing" {
            assert_eq!(data["is_typing"], false);
            saw_clear = true;
            break;
        }
    }
    assert!(saw_clear, "sending must clear typing");
    a.close().await;
    b.close().await;
}

async fn status_changes(client: &mut SioClient, user_id: i64, quiet: Duration) -> Vec<String> {
    client
        .drain(quiet)
        .await
        .into_iter()
        .filter(|(n, d)| n == "user_status_changed" && d["user_id"].as_i64() == Some(user_id))
        .map(|(_, d)| d["status"].as_str().unwrap().to_owned())
        .collect()
}

async fn presence_follows_the_last_tab(c: &Cluster) {
    let app = &c.app;
    let ana = user(app, "tabs@example.com", "Ana").await;
    let obs = user(app, "observer@example.com", "Obi").await;
    let mut observer = SioClient::connect(&c.gateways[0], Some(&obs.token)).await.unwrap();
    observer.expect("connected").await;

    let tab1 = SioClient::connect(&c.gateways[0], Some(&ana.token)).await.unwrap();
    let tab2 = SioClient::connect(&c.gateways[1], Some(&ana.token)).await.unwrap();
    assert_eq!(
        status_changes(&mut observer, ana.id, Duration::from_secs(1)).await,
        ["online"]
    );
    let (_, me) = app.get(&format!("/profile/users/{}", ana.id), Some(&obs.token)).await;
    assert_eq!(me["status"], "online", "status is persisted");

    tab1.close().await;
    assert!(
        status_changes(&mut observer, ana.id, Duration::from_secs(1))
            .await
            .is_empty(),
        "one tab is still open"
    );
    tab2.close().await;
    assert_eq!(
        status_changes(&mut observer, ana.id, Duration::from_secs(1)).await,
        ["offline"]
    );
    let (_, me) = app.get(&format!("/profile/users/{}", ana.id), Some(&obs.token)).await;
    assert_eq!(me["status"], "offline");
    observer.close().await;
}

async fn rejoining_with_since_returns_exactly_what_was_missed(c: &Cluster) {
    let app = &c.app;
    let ana = user(app, "leaver@example.com", "Ana").await;
    let ben = user(app, "talker@example.com", "Ben").await;
    let room_id = room(app, &ana, "Catch-up").await;
    let mut a = SioClient::connect(&c.gateways[0], Some(&ana.token)).await.unwrap();
    let mut b = SioClient::connect(&c.gateways[1], Some(&ben.token)).await.unwrap();
    join(&mut a, room_id, None).await;
    join(&mut b, room_id, None).await;
    for n in 0..5 {
        b.emit_ack(
            "send_message",
            json!({"room_id": room_id, "content": format!("before {n}")}),
        )
        .await;
    }
    let mut last_seen = 0;
    while last_seen < 5 {
        let m = a.expect("new_message").await;
        last_seen = m["seq"].as_i64().unwrap();
    }
    a.close().await;

    for n in 0..20 {
        b.emit_ack(
            "send_message",
            json!({"room_id": room_id, "content": format!("missed {n}")}),
        )
        .await;
    }
    let mut a = SioClient::connect(&c.gateways[1], Some(&ana.token)).await.unwrap();
    let history = join(&mut a, room_id, Some(last_seen)).await;
    let got: Vec<i64> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(got, (6..=25).collect::<Vec<i64>>());
    assert_eq!(history["messages"][0]["content"], "missed 0");
    // Live delivery carries on after them, without repeats.
    b.emit_ack("send_message", json!({"room_id": room_id, "content": "after"}))
        .await;
    assert_eq!(a.expect("new_message").await["seq"], 26);
    assert!(seqs(&a.drain(Duration::from_millis(300)).await).is_empty());
    a.close().await;
    b.close().await;
}

async fn non_members_can_neither_read_nor_post(c: &Cluster) {
    let app = &c.app;
    let ana = user(app, "member@example.com", "Ana").await;
    let eve = user(app, "outsider@example.com", "Eve").await;
    let room_id = room(app, &ana, "Private-ish").await;
    let mut e = SioClient::connect(&c.gateways[1], Some(&eve.token)).await.unwrap();
    let ack = e
        .emit_ack("send_message", json!({"room_id": room_id, "content": "let me in"}))
        .await;
    assert_eq!(
        (ack["ok"].as_bool(), ack["error"]["code"].as_str()),
        (Some(false), Some("permission_denied")),
        "{ack}"
    );
    let ack = e.emit_ack("get_messages", json!({"room_id": room_id})).await;
    assert_eq!(ack["error"]["code"], "permission_denied", "{ack}");
    let ack = e
        .emit_ack("typing", json!({"room_id": room_id, "is_typing": true}))
        .await;
    assert_eq!(ack["error"]["code"], "permission_denied", "{ack}");
    assert_eq!(app.count("messaging", "messages").await, 0);
    e.close().await;
}

async fn resent_client_msg_id_stores_one_message(c: &Cluster) {
    let app = &c.app;
    let ana = user(app, "retry@example.com", "Ana").await;
    let room_id = room(app, &ana, "Retries").await;
    let mut a = SioClient::connect(&c.gateways[0], Some(&ana.token)).await.unwrap();
    join(&mut a, room_id, None).await;
    let payload = json!({"room_id": room_id, "content": "only once", "client_msg_id": "c-42"});
    let first = a.emit_ack("send_message", payload.clone()).await;
    let second = a.emit_ack("send_message", payload).await;
    assert_eq!(first["message"]["id"], second["message"]["id"]);
    assert_eq!(
        (first["created"].as_bool(), second["created"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(second["message"]["client_msg_id"], "c-42");
    assert_eq!(app.count("messaging", "messages").await, 1);
    assert_eq!(a.expect("new_message").await["seq"], 1);
    assert!(
        seqs(&a.drain(Duration::from_millis(300)).await).is_empty(),
        "delivered once"
    );
    a.close().await;
}

async fn bad_events_get_errors_and_break_nothing(c: &Cluster) {
    let app = &c.app;
    let ana = user(app, "fuzzer@example.com", "Ana").await;
    let ben = user(app, "bystander@example.com", "Ben").await;
    let room_id = room(app, &ana, "Fuzz").await;
    let mut a = SioClient::connect(&c.gateways[0], Some(&ana.token)).await.unwrap();
    let mut b = SioClient::connect(&c.gateways[1], Some(&ben.token)).await.unwrap();
    join(&mut a, room_id, None).await;
    join(&mut b, room_id, None).await;

    let cases: Vec<(&str, Value, &str)> = vec![
        ("no_such_event", json!({}), "unknown_event"),
        (
            "send_message",
            json!({"room_id": "abc", "content": "x"}),
            "invalid_argument",
        ),
        (
            "send_message",
            json!({"room_id": room_id, "content": 12}),
            "invalid_argument",
        ),
        ("send_message", json!({"content": "x"}), "invalid_argument"),
        (
            "typing",
            json!({"room_id": room_id, "is_typing": "yes"}),
            "invalid_argument",
        ),
        ("send_message", json!({"room_id": 999_999, "content": "x"}), "not_found"),
        ("join_room", json!({"room_id": 999_999}), "not_found"),
        (
            "send_message",
            json!({"room_id": room_id, "content": "x".repeat(4001)}),
            "invalid_argument",
        ),
        (
            "send_message",
            // Under the WebSocket frame cap (64 KiB), over the content limit.
            json!({"room_id": room_id, "content": "x".repeat(40 * 1024)}),
            "invalid_argument",
        ),
        (
            "send_message",
            json!({"room_id": room_id, "content": "   "}),
            "invalid_argument",
        ),
        (
            "get_messages",
            json!({"room_id": room_id, "limit": 1000}),
            "invalid_argument",
        ),
        ("send_message", json!("just a string"), "invalid_json"),
        ("send_message", json!(r#"{"room_id": 1, "content": "#), "invalid_json"),
        ("send_message", json!([1, 2]), "invalid_argument"),
        (
            "send_message",
            json!({"room_id": room_id, "content": "x", "token": "forged.token.here"}),
            "unauthenticated",
        ),
    ];
    for (event, data, code) in cases {
        let ack = a.emit_ack(event, data.clone()).await;
        assert_eq!(
            (ack["ok"].as_bool(), ack["error"]["code"].as_str()),
            (Some(false), Some(code)),
            "{event} {data:.80}: {ack}"
        );
        // Without an ack callback the same failure arrives as an `error` event.
        a.emit(event, data);
        let error = a.expect("error").await;
        assert_eq!(error["code"], code, "{error}");
    }
    // JSON-encoded payloads, as some original clients send them, work.
    let ok = a
        .emit_ack(
            "send_message",
            json!(json!({"room_id": room_id, "content": "encoded"}).to_string()),
        )
        .await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(b.expect("new_message").await["content"], "encoded");
    assert!(a.alive().await, "the connection survives every bad event");

    // A frame that breaks the Socket.IO protocol itself closes only that
    // connection (as every Socket.IO server does); the client reconnects.
    let mut broken = SioClient::connect(&c.gateways[0], Some(&ana.token)).await.unwrap();
    broken.send_raw(r#"42["send_message",{"room_id": 1, "content": "#);
    assert!(!broken.alive().await, "a protocol violation ends that connection");
    broken.close().await;

    // Everything still works, for the fuzzer and for everyone else.
    let ok = a
        .emit_ack("send_message", json!({"room_id": room_id, "content": "still here"}))
        .await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(b.expect("new_message").await["content"], "still here");
    assert_eq!(app.count("messaging", "messages").await, 2);

    // A forged or missing token can't connect at all.
    assert_eq!(
        SioClient::connect(&c.gateways[1], Some("forged.token.here"))
            .await
            .err()
            .as_deref(),
        Some("unauthenticated")
    );
    assert!(SioClient::connect(&c.gateways[1], None).await.is_err());
    // A token in the URL (which proxies log) is refused unless
    // SOCKET_QUERY_TOKEN=on.
    let q = SioClient::connect_with(&c.gateways[1], &format!("&token={}", ben.token), None).await;
    assert_eq!(q.err().as_deref(), Some("unauthenticated"));
    a.close().await;
    b.close().await;
}

async fn room_deletion_reaches_connected_clients(c: &Cluster) {
    let app = &c.app;
    let ana = user(app, "deleter@example.com", "Ana").await;
    let ben = user(app, "deleted@example.com", "Ben").await;
    let room_id = room(app, &ana, "Doomed").await;
    let mut b = SioClient::connect(&c.gateways[1], Some(&ben.token)).await.unwrap();
    join(&mut b, room_id, None).await;
    b.emit_ack("send_message", json!({"room_id": room_id, "content": "bye"}))
        .await;
    let response = app
        .client
        .delete(app.url(&format!("/chat/rooms/{room_id}")))
        .bearer_auth(&ana.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(b.expect("room_deleted").await["room_id"], room_id);
    // Its messages go with it.
    for _ in 0..100 {
        if app.count("messaging", "messages").await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.count("messaging", "messages").await, 0);
    b.close().await;
    let _ = HashSet::<i64>::new();
}

/// gRPC clients see the same events: a message sent over gRPC arrives on StreamEvents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_stream_events_sees_messages() {
    use chat_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
    use chat_proto::messaging::v1::stream_events_response::Event;
    use chat_proto::messaging::v1::{SendMessageRequest, StreamEventsRequest};
    let app = spawn_app(Backend::Postgres).await;
    let ana = user(&app, "stream@example.com", "Ana").await;
    let room_id = room(&app, &ana, "Streamed").await;
    let mut client = MessagingServiceClient::new(app.grpc_channel().await);
    let mut stream = client
        .stream_events(chat_platform::token::with_bearer(
            tonic::Request::new(StreamEventsRequest {
                room_ids: vec![room_id],
                ..Default::default()
            }),
            &ana.token,
        ))
        .await
        .unwrap()
        .into_inner();
    client
        .send_message(chat_platform::token::with_bearer(
            tonic::Request::new(SendMessageRequest {
                room_id,
                content: "over grpc".into(),
                client_msg_id: String::new(),
                mentions: Vec::new(),
            }),
            &ana.token,
        ))
        .await
        .unwrap();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .unwrap();
        if let Some(Event::Message(m)) = event.event {
            assert_eq!((m.content.as_str(), m.seq), ("over grpc", 1));
            let sender = m.sender.unwrap();
            assert_eq!(sender.first_name, "Ana");
            // Emails are private: not even a stream of one's own room carries one.
            #[allow(deprecated)]
            let email = sender.email;
            assert_eq!(email, "");
            break;
        }
    }
    // A room the caller doesn't belong to is refused.
    let other = user(&app, "other-stream@example.com", "Oz").await;
    let mut request = tonic::Request::new(StreamEventsRequest {
        room_ids: vec![room_id],
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {}", other.token).parse().unwrap());
    let err = client.stream_events(request).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    app.stop().await;
}

/// Eight clients rejoin with `since` every 0.3–0.9 s on alternating
/// gateways while 1,500 messages are sent 2 ms apart. What the server pushes
/// to each client (history on each join, then live messages) is every seq
/// once, strictly increasing, across all of its connections: never live
/// before history, never twice. An absence longer than a catch-up page is
/// told by `has_more`, and the client fetches that gap itself (here over
/// REST), so in the end each client holds every message exactly once.
async fn a_reconnect_storm_keeps_every_seq_once_in_order(c: &Cluster) {
    use chat_proto::messaging::v1::SendMessageRequest;
    use chat_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
    const TOTAL: i64 = 1500;
    let app = &c.app;
    let sender = user(app, "storm-sender@example.com", "Sender").await;
    let room_id = room(app, &sender, "Storm").await;
    let (ready_tx, mut ready) = tokio::sync::mpsc::channel::<()>(8);
    let mut readers = Vec::new();
    for i in 0..8usize {
        let reader = user(app, &format!("storm-{i}@example.com"), "Reader").await;
        let (status, _) = app
            .post_json(&format!("/chat/rooms/{room_id}/join"), &json!({}), Some(&reader.token))
            .await;
        assert_eq!(status, 200);
        let gateways = c.gateways.clone();
        let ready = ready_tx.clone();
        let http = app.http.clone();
        readers.push(tokio::spawn(async move {
            // Pushed by the server, in arrival order, over every connection.
            let mut pushed: Vec<i64> = Vec::new();
            // Fetched by the client for the gaps `has_more` told of.
            let mut pulled: Vec<i64> = Vec::new();
            let mut connection = 0usize;
            let rest = reqwest::Client::new();
            while pushed.last().copied().unwrap_or(0) < TOTAL {
                let gateway = &gateways[(i + connection) % 2];
                let mut client = SioClient::connect(gateway, Some(&reader.token)).await.unwrap();
                let since = pushed.last().copied().unwrap_or(0);
                let ack = client
                    .emit_ack("join_room", json!({"room_id": room_id, "since": since}))
                    .await;
                assert_eq!(ack["ok"], true, "{ack}");
                if connection == 0 {
                    let _ = ready.send(()).await;
                }
                let hold = Duration::from_millis(300 + ((i * 7919 + connection * 104_729) % 600) as u64);
                let until = tokio::time::Instant::now() + hold;
                while let Ok(Some((name, data))) = tokio::time::timeout_at(until, client.recv()).await {
                    let batch: Vec<i64> = match name.as_str() {
                        "messages_history" => {
                            let seqs: Vec<i64> = data["messages"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|m| m["seq"].as_i64().unwrap())
                                .collect();
                            if data["has_more"] == true {
                                let first = seqs[0];
                                pulled.extend(fetch_between(&rest, &http, &reader.token, room_id, since, first).await);
                            }
                            seqs
                        }
                        "new_message" => vec![data["seq"].as_i64().unwrap()],
                        _ => continue,
                    };
                    for seq in batch {
                        let last = pushed.last().copied().unwrap_or(0);
                        assert!(
                            seq > last,
                            "reader {i}, connection {connection}: seq {seq} after {last}"
                        );
                        if pulled.last().is_none_or(|p| seq > *p) {
                            assert_eq!(
                                seq,
                                last.max(pulled.last().copied().unwrap_or(0)) + 1,
                                "reader {i}, connection {connection}: a gap before {seq} no one told of"
                            );
                        }
                        pushed.push(seq);
                    }
                    if pushed.last() == Some(&TOTAL) {
                        break;
                    }
                }
                client.close().await;
                connection += 1;
            }
            let mut all: Vec<i64> = pushed.iter().chain(&pulled).copied().collect();
            all.sort_unstable();
            assert_eq!(
                all,
                (1..=TOTAL).collect::<Vec<_>>(),
                "reader {i} holds every message once"
            );
            connection
        }));
    }
    drop(ready_tx);
    for _ in 0..8 {
        ready.recv().await.expect("every reader joined");
    }
    // 2 ms apart, a few in flight at once: each is acknowledged after commit.
    let client = MessagingServiceClient::new(app.grpc_channel().await);
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    let mut sends = futures::stream::FuturesUnordered::new();
    for n in 0..TOTAL {
        tick.tick().await;
        let mut client = client.clone();
        let request = chat_platform::token::with_bearer(
            tonic::Request::new(SendMessageRequest {
                room_id,
                content: format!("storm {n}"),
                client_msg_id: format!("storm-{n}"),
                mentions: Vec::new(),
            }),
            &sender.token,
        );
        sends.push(async move { client.send_message(request).await.map(|_| ()) });
        while sends.len() >= 8 {
            futures::StreamExt::next(&mut sends).await.unwrap().expect("stored");
        }
    }
    while let Some(sent) = futures::StreamExt::next(&mut sends).await {
        sent.expect("stored");
    }
    let connections = tokio::time::timeout(Duration::from_secs(120), futures::future::join_all(readers))
        .await
        .expect("every reader saw every message");
    for (i, outcome) in connections.into_iter().enumerate() {
        let reconnects = outcome.unwrap();
        assert!(reconnects >= 2, "reader {i} reconnected only {reconnects} times");
    }
}

/// The messages with `since < seq < before`, over REST, oldest first.
async fn fetch_between(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    room_id: i64,
    since: i64,
    before: i64,
) -> Vec<i64> {
    let mut seqs = Vec::new();
    let mut before = before;
    while before > since + 1 {
        let page: Value = http
            .get(format!(
                "{base}/chat/rooms/{room_id}/messages?limit=100&before={before}"
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page: Vec<i64> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .filter(|s| *s > since)
            .collect();
        let Some(first) = page.first().copied() else { break };
        seqs.splice(0..0, page);
        before = first;
    }
    seqs
}
