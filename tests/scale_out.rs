//! Every role scaled out, as real OS processes on PostgreSQL and Redis:
//! two gateways balancing their calls over two replicas of messaging, of
//! room and of profile; and a replica killed under load, which costs no
//! call beyond the ones it held.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use support::process::{Replica, gateway_process_with, replica, replica_on};
use support::sio::SioClient;
use support::{Backend, TestApp, User, spawn_app};
use tokio::process::Child;

/// Two replicas of `role` on the app's own database, and two gateway
/// processes whose calls to that role are balanced over both.
async fn scaled(app: &TestApp, role: &str) -> ([Replica; 2], [(Child, String); 2]) {
    let service: chat_platform::service::Service = role.parse().unwrap();
    let database = app.settings.database_url(service).expose().to_owned();
    let replicas = [replica(app, role, &database).await, replica(app, role, &database).await];
    let variable = format!("{}_SERVICE_URL", role.to_uppercase());
    let both = format!("{},{}", replicas[0].grpc, replicas[1].grpc);
    let extra = [(variable.as_str(), both.as_str())];
    let gateways = [
        gateway_process_with(app, &extra).await,
        gateway_process_with(app, &extra).await,
    ];
    (replicas, gateways)
}

async fn room(app: &TestApp, owner: &User, name: &str) -> i64 {
    let (status, room) = app
        .post_json("/chat/rooms", &json!({"name": name}), Some(&owner.token))
        .await;
    assert_eq!(status, 201, "{room}");
    room["id"].as_i64().unwrap()
}

async fn joined(gateway: &str, user: &User, room_id: i64) -> SioClient {
    let mut client = SioClient::connect(gateway, Some(&user.token)).await.unwrap();
    let ack = client.emit_ack("join_room", json!({"room_id": room_id})).await;
    assert_eq!(ack["ok"], true, "{ack}");
    client
}

async fn send_all(mut client: SioClient, room_id: i64, tag: &str, n: usize) -> SioClient {
    for i in 0..n {
        let ack = client
            .emit_ack(
                "send_message",
                json!({"room_id": room_id, "content": format!("{tag}{i}")}),
            )
            .await;
        assert_eq!(ack["ok"], true, "{ack}");
    }
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_messaging_replicas_keep_seq_gap_free_and_deliver_once() {
    let app = spawn_app(Backend::Postgres).await;
    let (replicas, [(_g1, one), (_g2, two)]) = scaled(&app, "messaging").await;
    let ana = app.user("ana@example.com", "Ana").await;
    let ben = app.user("ben@example.com", "Ben").await;
    let room_id = room(&app, &ana, "Busy").await;
    let (status, body) = app
        .post_json(&format!("/chat/rooms/{room_id}/join"), &json!({}), Some(&ben.token))
        .await;
    assert!(status == 200 || status == 201, "{body}");
    let mut watch_one = joined(&one, &ben, room_id).await;
    let mut watch_two = joined(&two, &ana, room_id).await;

    // Concurrent sends into one room through both gateways.
    let (a, b) = tokio::join!(
        send_all(joined(&one, &ana, room_id).await, room_id, "a", 40),
        send_all(joined(&two, &ben, room_id).await, room_id, "b", 40),
    );
    let expected: Vec<i64> = (1..=80).collect();
    for watcher in [&mut watch_one, &mut watch_two] {
        assert_eq!(watcher.message_seqs(80).await, expected, "every seq once, in order");
    }
    let pool = app.service_db("messaging").await;
    let stored: Vec<i64> = sqlx::query_scalar("SELECT seq FROM messages WHERE room_id = $1 ORDER BY seq")
        .bind(room_id)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored, expected, "gap-free seq in the store");
    let rpc = "/chat.messaging.v1.MessagingService/SendMessage";
    for replica in &replicas {
        assert!(replica.served(rpc).await > 0.0, "both replicas took sends");
    }
    for client in [a, b, watch_one, watch_two] {
        client.close().await;
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_room_replicas_admit_concurrent_joins_once() {
    let app = spawn_app(Backend::Postgres).await;
    let (replicas, [(_g1, one), (_g2, two)]) = scaled(&app, "room").await;
    let owner = app.user("owner@example.com", "Owner").await;
    let room_id = room(&app, &owner, "Crowded").await;
    let mut watcher = joined(&one, &owner, room_id).await;

    let mut people = Vec::new();
    for i in 0..16 {
        people.push(app.user(&format!("p{i}@example.com"), &format!("P{i}")).await);
    }
    // Each joins twice at once, through both gateways.
    let client = reqwest::Client::new();
    let joins = people.iter().flat_map(|user| {
        [&one, &two].map(|gateway| {
            let request = client
                .post(format!("{gateway}/chat/rooms/{room_id}/join"))
                .bearer_auth(&user.token)
                .json(&json!({}));
            async move { request.send().await.unwrap().status().as_u16() }
        })
    });
    let statuses = futures::future::join_all(joins).await;
    assert!(statuses.iter().all(|s| *s == 200 || *s == 201), "{statuses:?}");

    let (status, members) = app
        .get(
            &format!("/chat/rooms/{room_id}/members?page_size=100"),
            Some(&owner.token),
        )
        .await;
    assert_eq!(status, 200, "{members}");
    let ids: Vec<i64> = members["members"]
        .as_array()
        .unwrap_or_else(|| panic!("{members}"))
        .iter()
        .map(|m| {
            m["user_id"]
                .as_i64()
                .or(m["id"].as_i64())
                .or(m["user"]["id"].as_i64())
                .unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 17, "each person once, plus the owner: {members}");
    // The owner's socket hears each arrival once.
    let mut arrived = HashSet::new();
    while arrived.len() < 16 {
        let event = watcher.expect("user_joined").await;
        let id = event["user_id"].as_i64().or(event["user"]["id"].as_i64()).unwrap();
        assert!(arrived.insert(id), "user {id} announced twice: {event}");
    }
    let rpc = "/chat.room.v1.RoomService/JoinRoom";
    for replica in &replicas {
        assert!(replica.served(rpc).await > 0.0, "both replicas took joins");
    }
    watcher.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_profile_replicas_serve_one_truth() {
    let app = spawn_app(Backend::Postgres).await;
    let (replicas, [(_g1, one), (_g2, two)]) = scaled(&app, "profile").await;
    let client = reqwest::Client::new();
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(app.user(&format!("u{i}@example.com"), &format!("U{i}")).await);
    }
    // Every user renames themself ten times, alternating gateways, all
    // users at once; then both gateways show each user's last name.
    let renames = users.iter().map(|user| {
        let client = client.clone();
        let gateways = [one.clone(), two.clone()];
        async move {
            for round in 0..10 {
                let response = client
                    .put(format!("{}/profile/me", gateways[round % 2]))
                    .bearer_auth(&user.token)
                    .json(&json!({"first_name": format!("Round{round}"), "last_name": "Tester"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
            }
        }
    });
    futures::future::join_all(renames).await;
    for user in &users {
        for gateway in [&one, &two] {
            let profile: Value = client
                .get(format!("{gateway}/profile/users/{}", user.id))
                .bearer_auth(&users[0].token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(profile["first_name"], "Round9", "{profile}");
        }
    }
    let rpc = "/chat.profile.v1.ProfileService/UpdateMyProfile";
    for replica in &replicas {
        assert!(replica.served(rpc).await > 0.0, "both replicas took updates");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_costs_only_its_in_flight_calls() {
    let app = spawn_app(Backend::Postgres).await;
    let (mut replicas, [(_g1, one), (_g2, _two)]) = scaled(&app, "messaging").await;
    let ana = app.user("ana@example.com", "Ana").await;
    let room_id = room(&app, &ana, "Steady").await;

    let stop = tokio_util::sync::CancellationToken::new();
    // Readers: history pages (declared without side effects: retried).
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (stop, url, token) = (
                stop.clone(),
                format!("{one}/chat/rooms/{room_id}/messages"),
                ana.token.clone(),
            );
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let (mut ok, mut failed) = (0, Vec::new());
                while !stop.is_cancelled() {
                    let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
                    match response.status().as_u16() {
                        200 => ok += 1,
                        status => failed.push((status, response.text().await.unwrap_or_default())),
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    // Writers: sends (not idempotent: retried only when never delivered).
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (stop, one, token) = (stop.clone(), one.clone(), ana.token.clone());
            tokio::spawn(async move {
                let mut client = SioClient::connect(&one, Some(&token)).await.unwrap();
                let ack = client.emit_ack("join_room", json!({"room_id": room_id})).await;
                assert_eq!(ack["ok"], true, "{ack}");
                let (mut ok, mut failed) = (0, Vec::new());
                let mut i = 0;
                while !stop.is_cancelled() {
                    i += 1;
                    let ack = client
                        .emit_ack(
                            "send_message",
                            json!({"room_id": room_id, "content": format!("w{w}-{i}")}),
                        )
                        .await;
                    if ack["ok"] == true {
                        ok += 1;
                    } else {
                        failed.push(ack);
                    }
                }
                client.close().await;
                (ok, failed)
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let rpc = "/chat.messaging.v1.MessagingService/SendMessage";
    let before = replicas[0].served(rpc).await;
    assert!(before > 0.0, "the doomed replica was taking calls");
    replicas[0].kill().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let survivor_before = replicas[1].served(rpc).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.cancel();

    for reader in readers {
        let (ok, failed) = reader.await.unwrap();
        assert!(ok > 0);
        assert!(failed.is_empty(), "reads are retried, so none fails: {failed:?}");
    }
    let mut sent = 0;
    for writer in writers {
        let (ok, failed) = writer.await.unwrap();
        assert!(ok > 0);
        // One writer has at most one send in flight when the replica dies.
        assert!(failed.len() <= 1, "only an in-flight send may fail: {failed:?}");
        sent += ok;
    }
    assert!(
        replicas[1].served(rpc).await > survivor_before,
        "the survivor carries on alone"
    );
    let stored = app.count("messaging", "messages").await;
    assert!(stored >= sent, "every acknowledged send is stored ({stored} < {sent})");

    // The replica comes back where its callers know it: once its health
    // probe answers, it takes calls again.
    let port: u16 = replicas[0].grpc.rsplit(':').next().unwrap().parse().unwrap();
    let database = app.settings.messaging.database_url.expose().to_owned();
    let back = replica_on(&app, "messaging", &database, port).await;
    let mut client = SioClient::connect(&one, Some(&ana.token)).await.unwrap();
    assert_eq!(
        client.emit_ack("join_room", json!({"room_id": room_id})).await["ok"],
        true
    );
    let mut taken = 0.0;
    for i in 0..200 {
        let ack = client
            .emit_ack(
                "send_message",
                json!({"room_id": room_id, "content": format!("back {i}")}),
            )
            .await;
        assert_eq!(ack["ok"], true, "{ack}");
        taken = back.served(rpc).await;
        if taken > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(taken > 0.0, "the restarted replica is balanced to again");
    client.close().await;
    app.stop().await;
}
