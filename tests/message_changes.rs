//! Messages that change (edit, delete, reactions), read positions, unread
//! and mention counts, mentions and search, black-box through REST,
//! Socket.IO and gRPC, on the embedded default and on PostgreSQL + Redis
//! with two gateways.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use chat_proto::messaging::v1::message_changed::Kind;
use chat_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use chat_proto::messaging::v1::stream_events_response::Event;
use chat_proto::messaging::v1::{
    DeleteMessageRequest, EditMessageRequest, ListMessagesRequest, MarkReadRequest, RoomPosition,
    SearchMessagesRequest, SendMessageRequest, StreamEventsRequest, ToggleReactionRequest,
};
use reqwest::Method;
use serde_json::{Value, json};
use support::cluster::Cluster;
use support::sio::SioClient;
use support::{TestApp, User, error_code, error_field};
use tonic::Code;

cluster_tests!(
    only_the_sender_or_an_admin_changes_a_message,
    reactions_toggle_and_take_only_emoji,
    a_rejoin_with_since_shows_the_final_state,
    a_resumed_grpc_stream_replays_in_order_without_repeats,
    unread_counts_follow_marks_sends_and_deletes,
    read_positions_reach_others_at_most_once_a_second,
    a_mention_reaches_a_member_looking_at_another_room,
    search_finds_only_my_rooms_and_never_deleted_messages,
    bad_change_input_is_refused,
);

fn with<T>(user: &User, message: T) -> tonic::Request<T> {
    chat_platform::token::with_bearer(tonic::Request::new(message), &user.token)
}

async fn socket(gateway: &str, user: &User) -> SioClient {
    SioClient::connect(gateway, Some(&user.token)).await.unwrap()
}

async fn room(app: &TestApp, owner: &User, name: &str, members: &[&User]) -> i64 {
    let (status, room) = app
        .post_json("/chat/rooms", &json!({"name": name}), Some(&owner.token))
        .await;
    assert_eq!(status, 201, "{room}");
    let id = room["id"].as_i64().unwrap();
    for member in members {
        let (status, body) = app
            .post_json(&format!("/chat/rooms/{id}/join"), &json!({}), Some(&member.token))
            .await;
        assert!(status == 200 || status == 201, "{status} {body}");
    }
    id
}

async fn send(app: &TestApp, by: &User, room_id: i64, content: &str) -> Value {
    send_with(app, by, room_id, content, &[]).await
}

async fn send_with(app: &TestApp, by: &User, room_id: i64, content: &str, mentions: &[i64]) -> Value {
    let mut messaging = MessagingServiceClient::new(app.grpc_channel().await);
    let message = messaging
        .send_message(with(
            by,
            SendMessageRequest {
                room_id,
                content: content.into(),
                mentions: mentions.to_vec(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .message
        .unwrap();
    json!({"id": message.id, "seq": message.seq, "mentions": message.mentions})
}

async fn edit(app: &TestApp, by: &User, room_id: i64, message_id: i64, content: &str) -> (u16, Value) {
    app.call(
        Method::PATCH,
        &format!("/chat/rooms/{room_id}/messages/{message_id}"),
        Some(&json!({"content": content})),
        Some(&by.token),
    )
    .await
}

async fn delete(app: &TestApp, by: &User, room_id: i64, message_id: i64) -> (u16, Value) {
    app.call(
        Method::DELETE,
        &format!("/chat/rooms/{room_id}/messages/{message_id}"),
        None,
        Some(&by.token),
    )
    .await
}

async fn react(app: &TestApp, by: &User, room_id: i64, message_id: i64, emoji: &str) -> (u16, Value) {
    app.post_json(
        &format!("/chat/rooms/{room_id}/messages/{message_id}/reactions"),
        &json!({"emoji": emoji}),
        Some(&by.token),
    )
    .await
}

/// The whole history of a room as `user` reads it over REST, by id.
async fn history(app: &TestApp, user: &User, room_id: i64) -> BTreeMap<i64, Value> {
    let (status, page) = app
        .get(&format!("/chat/rooms/{room_id}/messages?limit=100"), Some(&user.token))
        .await;
    assert_eq!(status, 200, "{page}");
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_i64().unwrap(), m.clone()))
        .collect()
}

/// What a reader shows of a message: text, tombstone, reactions.
fn shown(m: &Value) -> Value {
    let reactions: Vec<Value> = m["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!([r["emoji"], r["count"]]))
        .collect();
    json!({"content": m["content"], "deleted": m["deleted"], "edited": !m["edited_at"].is_null(), "reactions": reactions})
}

/// The caller's entry for `room_id` in `GET /chat/rooms`.
async fn listed(app: &TestApp, user: &User, room_id: i64) -> Value {
    let (status, page) = app.get("/chat/rooms?membership=joined", Some(&user.token)).await;
    assert_eq!(status, 200, "{page}");
    page["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == room_id)
        .cloned()
        .unwrap_or_else(|| panic!("room {room_id} not listed: {page}"))
}

fn refused(ack: &Value, code: &str) {
    assert_eq!(ack["ok"], false, "{ack}");
    assert_eq!(ack["error"]["code"], code, "{ack}");
}

async fn only_the_sender_or_an_admin_changes_a_message(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = app.user("owner@example.com", "Ana").await;
    let ben = app.user("ben@example.com", "Ben").await;
    let cy = app.user("cy@example.com", "Cy").await;
    let out = app.user("out@example.com", "Out").await;
    let room_id = room(app, &ana, "Edits", &[&ben, &cy]).await;
    // Cy watches on the other gateway.
    let mut watcher = socket(&cluster.gateways[1], &cy).await;
    assert_eq!(
        watcher.emit_ack("join_room", json!({"room_id": room_id})).await["ok"],
        true
    );
    let first = send(app, &ben, room_id, "frist post").await;
    let mid = first["id"].as_i64().unwrap();
    watcher.expect("new_message").await;

    // REST: another member may not edit; nor may the owner.
    for who in [&cy, &ana] {
        let (status, body) = edit(app, who, room_id, mid, "hijacked").await;
        assert_eq!((status, error_code(&body)), (403, "permission_denied"), "{body}");
    }
    // Socket.IO and gRPC say the same.
    let mut cy_socket = socket(&cluster.gateways[0], &cy).await;
    refused(
        &cy_socket
            .emit_ack(
                "edit_message",
                json!({"room_id": room_id, "message_id": mid, "content": "x"}),
            )
            .await,
        "permission_denied",
    );
    let mut messaging = MessagingServiceClient::new(app.grpc_channel().await);
    let denied = messaging
        .edit_message(with(
            &cy,
            EditMessageRequest {
                room_id,
                message_id: mid,
                content: "x".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // An outsider can't touch it either.
    let (status, body) = edit(app, &out, room_id, mid, "x").await;
    assert_eq!((status, error_code(&body)), (403, "permission_denied"), "{body}");

    // The sender edits: same seq, edited_at set, everyone told.
    let (status, body) = edit(app, &ben, room_id, mid, "first post").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["seq"], first["seq"]);
    assert_eq!(body["message"]["content"], "first post");
    assert!(body["message"]["edited_at"].is_string(), "{body}");
    let updated = watcher.expect("message_updated").await;
    assert_eq!(updated["message"]["content"], "first post");
    assert_eq!(updated["message"]["id"], mid);
    assert!(updated["change_seq"].as_i64().unwrap() > 0);
    // An edit has a send's limits.
    let (status, body) = edit(app, &ben, room_id, mid, "   ").await;
    assert_eq!((status, error_field(&body)), (400, Some("content")), "{body}");
    let (status, body) = edit(app, &ben, room_id, mid, &"x".repeat(5001)).await;
    assert_eq!((status, error_field(&body)), (400, Some("content")), "{body}");

    // A member may not delete someone else's message (on any surface); the
    // owner may (gRPC).
    let (status, body) = delete(app, &cy, room_id, mid).await;
    assert_eq!((status, error_code(&body)), (403, "permission_denied"), "{body}");
    refused(
        &cy_socket
            .emit_ack("delete_message", json!({"room_id": room_id, "message_id": mid}))
            .await,
        "permission_denied",
    );
    let denied = messaging
        .delete_message(with(
            &cy,
            DeleteMessageRequest {
                room_id,
                message_id: mid,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let tombstone = messaging
        .delete_message(with(
            &ana,
            DeleteMessageRequest {
                room_id,
                message_id: mid,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .message
        .unwrap();
    assert!(tombstone.deleted);
    assert_eq!(tombstone.content, "");
    assert_eq!(tombstone.seq, first["seq"].as_i64().unwrap());
    let deleted = watcher.expect("message_deleted").await;
    assert_eq!(
        (deleted["message_id"].as_i64(), deleted["by"].as_i64()),
        (Some(mid), Some(ana.id))
    );
    assert_eq!(deleted["message"]["content"], "");
    // A deleted message can't be edited, reacted to or deleted again.
    let (status, body) = edit(app, &ben, room_id, mid, "back").await;
    assert_eq!((status, error_code(&body)), (409, "failed_precondition"), "{body}");
    let (status, body) = react(app, &ben, room_id, mid, "👍").await;
    assert_eq!((status, error_code(&body)), (409, "failed_precondition"), "{body}");
    // The sender deletes their own over Socket.IO.
    let second = send(app, &cy, room_id, "mine").await;
    let ack = cy_socket
        .emit_ack(
            "delete_message",
            json!({"room_id": room_id, "message_id": second["id"]}),
        )
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(ack["message"]["deleted"], true);

    // History shows tombstones in place.
    let all = history(app, &ben, room_id).await;
    assert_eq!(all.len(), 2);
    assert!(all.values().all(|m| m["deleted"] == true && m["content"] == ""));
    watcher.close().await;
    cy_socket.close().await;
}

async fn reactions_toggle_and_take_only_emoji(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = app.user("ana@example.com", "Ana").await;
    let ben = app.user("ben@example.com", "Ben").await;
    let room_id = room(app, &ana, "Reacts", &[&ben]).await;
    let mut watcher = socket(&cluster.gateways[1], &ana).await;
    assert_eq!(
        watcher.emit_ack("join_room", json!({"room_id": room_id})).await["ok"],
        true
    );
    let mid = send(app, &ana, room_id, "react to me").await["id"].as_i64().unwrap();

    let (status, body) = react(app, &ana, room_id, mid, "👍").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["added"], true);
    assert_eq!(
        body["message"]["reactions"],
        json!([{"emoji": "👍", "count": 1, "me": true}])
    );
    // Ben over Socket.IO: same emoji, and one with a skin tone.
    let mut ben_socket = socket(&cluster.gateways[0], &ben).await;
    let ack = ben_socket
        .emit_ack("react", json!({"room_id": room_id, "message_id": mid, "emoji": "👍"}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(
        ack["message"]["reactions"],
        json!([{"emoji": "👍", "count": 2, "me": true}])
    );
    let event = watcher.expect("reaction_changed").await;
    let event = if event["count"] == 1 {
        watcher.expect("reaction_changed").await
    } else {
        event
    };
    assert_eq!(
        (
            event["emoji"].as_str(),
            event["count"].as_i64(),
            event["user_id"].as_i64(),
            event["added"].as_bool()
        ),
        (Some("👍"), Some(2), Some(ben.id), Some(true)),
        "{event}"
    );
    let mut messaging = MessagingServiceClient::new(app.grpc_channel().await);
    let toggled = messaging
        .toggle_reaction(with(
            &ben,
            ToggleReactionRequest {
                room_id,
                message_id: mid,
                emoji: "👍🏽".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(toggled.added);
    // Toggling again removes it.
    let (status, body) = react(app, &ben, room_id, mid, "👍").await;
    assert_eq!((status, body["added"].as_bool()), (200, Some(false)), "{body}");
    let all = history(app, &ana, room_id).await;
    assert_eq!(
        all[&mid]["reactions"],
        json!([{"emoji": "👍", "count": 1, "me": true}, {"emoji": "👍🏽", "count": 1, "me": false}])
    );
    // "❤" and "❤️" are one reaction.
    react(app, &ana, room_id, mid, "❤").await;
    let (_, body) = react(app, &ben, room_id, mid, "❤️").await;
    let hearts: Vec<&Value> = body["message"]["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["emoji"].as_str().unwrap().starts_with('❤'))
        .collect();
    assert_eq!(hearts.len(), 1, "{body}");
    assert_eq!(hearts[0]["count"], 2);

    // Only one emoji, nothing else.
    for bad in ["", "a", "👍👍", ":+1:", "<img src=x>", "👍 "] {
        let (status, body) = react(app, &ben, room_id, mid, bad).await;
        assert_eq!((status, error_field(&body)), (400, Some("emoji")), "{bad:?}: {body}");
    }
    let (status, body) = app
        .post_json(
            &format!("/chat/rooms/{room_id}/messages/{mid}/reactions"),
            &json!({"emoji": 5}),
            Some(&ben.token),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // At most 20 different emoji on one message.
    let other = send(app, &ana, room_id, "many").await["id"].as_i64().unwrap();
    let emoji: Vec<&str> = vec![
        "😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙", "🥲",
        "😚", "🙂", "🤗",
    ];
    for e in &emoji[..20] {
        assert_eq!(react(app, &ana, room_id, other, e).await.0, 200);
    }
    let (status, body) = react(app, &ben, room_id, other, emoji[20]).await;
    assert_eq!((status, error_code(&body)), (409, "failed_precondition"), "{body}");
    // One already there may still be added to.
    assert_eq!(react(app, &ben, room_id, other, emoji[0]).await.0, 200);
    watcher.close().await;
    ben_socket.close().await;
}

/// Ana leaves, things change, Ana comes back with `since` and
/// `since_change`: what she then holds equals the room as stored.
async fn a_rejoin_with_since_shows_the_final_state(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = app.user("ana@example.com", "Ana").await;
    let ben = app.user("ben@example.com", "Ben").await;
    let room_id = room(app, &ana, "Away", &[&ben]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            send(app, &ben, room_id, &format!("old {i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    // Ana's first visit: everything so far, and the marks.
    let mut ana_socket = socket(&cluster.gateways[0], &ana).await;
    ana_socket.emit("join_room", json!({"room_id": room_id}));
    let first = ana_socket.expect("messages_history").await;
    let mut held: BTreeMap<i64, Value> = first["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_i64().unwrap(), m.clone()))
        .collect();
    assert_eq!(held.len(), 5);
    let since = held.values().map(|m| m["seq"].as_i64().unwrap()).max().unwrap();
    let since_change = first["last_change"].as_i64().unwrap();
    ana_socket.close().await;

    // While she is away: edits, a delete and reactions to old messages, new
    // messages, and an edit of a new one.
    assert_eq!(edit(app, &ben, room_id, ids[0], "old 0, edited").await.0, 200);
    assert_eq!(edit(app, &ben, room_id, ids[0], "old 0, edited twice").await.0, 200);
    assert_eq!(delete(app, &ben, room_id, ids[1]).await.0, 200);
    assert_eq!(react(app, &ben, room_id, ids[2], "🎉").await.0, 200);
    assert_eq!(react(app, &ana, room_id, ids[3], "👀").await.0, 200);
    assert_eq!(react(app, &ben, room_id, ids[3], "👀").await.0, 200);
    let fresh = send(app, &ben, room_id, "new 1").await["id"].as_i64().unwrap();
    send(app, &ben, room_id, "new 2").await;
    assert_eq!(edit(app, &ben, room_id, fresh, "new 1, edited").await.0, 200);

    // REST's change feed names the same messages.
    let (status, feed) = app
        .get(
            &format!("/chat/rooms/{room_id}/changes?after_change={since_change}"),
            Some(&ana.token),
        )
        .await;
    assert_eq!(status, 200, "{feed}");
    let mut fed: Vec<i64> = feed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    fed.sort_unstable();
    assert_eq!(fed, [ids[0], ids[1], ids[2], ids[3], fresh], "{feed}");

    // Back, on the other gateway.
    let mut back = socket(&cluster.gateways[1], &ana).await;
    back.emit(
        "join_room",
        json!({"room_id": room_id, "since": since, "since_change": since_change}),
    );
    let catch_up = back.expect("messages_history").await;
    let new: Vec<&Value> = catch_up["messages"].as_array().unwrap().iter().collect();
    assert_eq!(new.len(), 2, "{catch_up}");
    let changed: Vec<&Value> = catch_up["changes"].as_array().unwrap().iter().collect();
    let changed_ids: Vec<i64> = changed.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert_eq!(
        changed_ids.iter().copied().collect::<std::collections::BTreeSet<_>>(),
        [ids[0], ids[1], ids[2], ids[3]].into_iter().collect(),
        "{catch_up}"
    );
    for m in new.into_iter().chain(changed) {
        held.insert(m["id"].as_i64().unwrap(), m.clone());
    }
    let stored = history(app, &ana, room_id).await;
    let shown_held: BTreeMap<i64, Value> = held.iter().map(|(id, m)| (*id, shown(m))).collect();
    let shown_stored: BTreeMap<i64, Value> = stored.iter().map(|(id, m)| (*id, shown(m))).collect();
    assert_eq!(shown_held, shown_stored);
    assert_eq!(
        stored[&ids[3]]["reactions"],
        json!([{"emoji": "👀", "count": 2, "me": true}])
    );
    assert!(catch_up["last_change"].as_i64().unwrap() > since_change);
    back.close().await;
}

async fn a_resumed_grpc_stream_replays_in_order_without_repeats(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = app.user("ana@example.com", "Ana").await;
    let ben = app.user("ben@example.com", "Ben").await;
    let room_id = room(app, &ana, "Stream", &[&ben]).await;
    let a = send(app, &ben, room_id, "a").await["id"].as_i64().unwrap();
    let b = send(app, &ben, room_id, "b").await["id"].as_i64().unwrap();
    let mut messaging = MessagingServiceClient::new(app.grpc_channel().await);
    let page = messaging
        .list_messages(with(
            &ana,
            ListMessagesRequest {
                room_id,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let (after_seq, after_change) = (page.messages.last().unwrap().seq, page.last_change);
    // Missed while the stream was down.
    assert_eq!(edit(app, &ben, room_id, a, "a2").await.0, 200);
    assert_eq!(delete(app, &ben, room_id, b).await.0, 200);
    send(app, &ben, room_id, "c").await;

    let mut stream = messaging
        .stream_events(with(
            &ana,
            StreamEventsRequest {
                resume: vec![RoomPosition {
                    room_id,
                    after_seq,
                    after_change,
                }],
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut got: Vec<String> = Vec::new();
    for _ in 0..3 {
        let event = next(&mut stream).await;
        got.push(match event.event.unwrap() {
            Event::Message(m) => format!("message {}", m.content),
            Event::Change(c) => {
                assert_eq!(c.kind(), Kind::Replayed);
                let m = c.message.unwrap();
                format!(
                    "change {} {}",
                    m.id,
                    if m.deleted { "deleted".into() } else { m.content }
                )
            }
            other => panic!("unexpected {other:?}"),
        });
    }
    assert_eq!(
        got,
        [
            "message c".to_string(),
            format!("change {a} a2"),
            format!("change {b} deleted")
        ]
    );
    // Then live, once: a change and a message after the replay.
    assert_eq!(edit(app, &ben, room_id, a, "a3").await.0, 200);
    send(app, &ben, room_id, "d").await;
    let mut live = Vec::new();
    while live.len() < 2 {
        let event = next(&mut stream).await;
        match event.event.unwrap() {
            Event::Message(m) => live.push(format!("message {}", m.content)),
            Event::Change(c) => live.push(format!("change {}", c.message.unwrap().content)),
            _ => {}
        }
    }
    assert_eq!(live, ["change a3", "message d"]);
    // Resuming from nothing replays the whole room, beyond one page.
    let long = room(app, &ana, "Long", &[]).await;
    for i in 0..130 {
        send(app, &ana, long, &format!("n{i}")).await;
    }
    let mut stream = messaging
        .stream_events(with(
            &ana,
            StreamEventsRequest {
                resume: vec![RoomPosition {
                    room_id: long,
                    ..Default::default()
                }],
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut seqs = Vec::new();
    while seqs.len() < 130 {
        if let Some(Event::Message(m)) = next(&mut stream).await.event {
            seqs.push(m.seq);
        }
    }
    assert_eq!(seqs, (1..=130).collect::<Vec<i64>>());
    // A negative position is refused.
    let bad = messaging
        .stream_events(with(
            &ana,
            StreamEventsRequest {
                resume: vec![RoomPosition {
                    room_id,
                    after_seq: -1,
                    after_change: 0,
                }],
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
}

async fn unread_counts_follow_marks_sends_and_deletes(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = app.user("ana@example.com", "Ana").await;
    let ben = app.user("ben@example.com", "Ben").await;
    let room_id = room(app, &ana, "Unread", &[&ben]).await;
    let mut seqs = Vec::new();
    for i in 0..3 {
        seqs.push(
            send(app, &ana, room_id, &format!("m{i}")).await["seq"]
                .as_i64()
                .unwrap(),
        );
    }
    let entry = listed(app, &ben, room_id).await;
    assert_eq!(
        (
            entry["unread_count"].as_i64(),
            entry["last_read_seq"].as_i64(),
            entry["last_seq"].as_i64()
        ),
        (Some(3), Some(0), Some(seqs[2])),
        "{entry}"
    );
    // Ben's own message doesn't count.
    send(app, &ben, room_id, "mine").await;
    assert_eq!(listed(app, &ben, room_id).await["unread_count"], 3);
    // Marks move forward only (REST, then Socket.IO, then gRPC).
    let (status, body) = app
        .post_json(
            &format!("/chat/rooms/{room_id}/read"),
            &json!({"seq": seqs[1]}),
            Some(&ben.token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["last_read_seq"].as_i64(), body["unread_count"].as_i64()),
        (Some(seqs[1]), Some(1))
    );
    let mut ben_socket = socket(&cluster.gateways[1], &ben).await;
    let ack = ben_socket
        .emit_ack("mark_read", json!({"room_id": room_id, "seq": seqs[0]}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(ack["last_read_seq"], seqs[1], "never backwards");
    // A delete takes a message out of the count.
    let third = history(app, &ana, room_id)
        .await
        .into_values()
        .find(|m| m["seq"] == seqs[2])
        .unwrap();
    assert_eq!(delete(app, &ana, room_id, third["id"].as_i64().unwrap()).await.0, 200);
    assert_eq!(listed(app, &ben, room_id).await["unread_count"], 0);
    // Mentions: only members are kept; counted until read.
    let cy = app.user("cy@example.com", "Cy").await;
    let sent = send_with(app, &ana, room_id, "@Ben look", &[ben.id, cy.id, ana.id]).await;
    assert_eq!(sent["mentions"], json!([ben.id]));
    let entry = listed(app, &ben, room_id).await;
    assert_eq!(
        (entry["unread_count"].as_i64(), entry["mention_count"].as_i64()),
        (Some(1), Some(1))
    );
    let mut messaging = MessagingServiceClient::new(app.grpc_channel().await);
    let unread = messaging
        .mark_read(with(
            &ben,
            MarkReadRequest {
                room_id,
                seq: 1_000_000,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .unread
        .unwrap();
    assert_eq!((unread.unread_count, unread.mention_count), (0, 0));
    assert_eq!(
        unread.last_read_seq,
        sent["seq"].as_i64().unwrap(),
        "clamped to the latest"
    );
    // Someone who joins later has nothing unread from before.
    let (status, _) = app
        .post_json(&format!("/chat/rooms/{room_id}/join"), &json!({}), Some(&cy.token))
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed(app, &cy, room_id).await["unread_count"], 0);
    send(app, &ana, room_id, "welcome").await;
    assert_eq!(listed(app, &cy, room_id).await["unread_count"], 1);
    // Not a member: refused.
    let out = app.user("out@example.com", "Out").await;
    let (status, body) = app
        .post_json(
            &format!("/chat/rooms/{room_id}/read"),
            &json!({"seq": 1}),
            Some(&out.token),
        )
        .await;
    assert_eq!((status, error_code(&body)), (403, "permission_denied"), "{body}");
    ben_socket.close().await;
}

async fn read_positions_reach_others_at_most_once_a_second(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = app.user("ana@example.com", "Ana").await;
    let ben = app.user("ben@example.com", "Ben").await;
    let room_id = room(app, &ana, "Receipts", &[&ben]).await;
    let mut seqs = Vec::new();
    for i in 0..6 {
        seqs.push(
            send(app, &ana, room_id, &format!("m{i}")).await["seq"]
                .as_i64()
                .unwrap(),
        );
    }
    let mut ana_socket = socket(&cluster.gateways[0], &ana).await;
    assert_eq!(
        ana_socket.emit_ack("join_room", json!({"room_id": room_id})).await["ok"],
        true
    );
    let mut ben_socket = socket(&cluster.gateways[1], &ben).await;
    // Six marks in quick succession.
    for seq in &seqs {
        let ack = ben_socket
            .emit_ack("mark_read", json!({"room_id": room_id, "seq": seq}))
            .await;
        assert_eq!(ack["ok"], true, "{ack}");
    }
    let heard: Vec<Value> = ana_socket
        .drain(Duration::from_millis(1800))
        .await
        .into_iter()
        .filter(|(name, _)| name == "read_updated")
        .map(|(_, v)| v)
        .collect();
    assert!(
        !heard.is_empty() && heard.len() <= 2,
        "throttled to one a second: {heard:?}"
    );
    let last = heard.last().unwrap();
    assert_eq!(
        (last["user_id"].as_i64(), last["last_read_seq"].as_i64()),
        (Some(ben.id), Some(seqs[5]))
    );
    // Anyone in the room can see where others are.
    let (status, reads) = app.get(&format!("/chat/rooms/{room_id}/reads"), Some(&ana.token)).await;
    assert_eq!(status, 200, "{reads}");
    assert_eq!(reads["reads"], json!([{"user_id": ben.id, "last_read_seq": seqs[5]}]));
    ana_socket.close().await;
    ben_socket.close().await;
}

async fn a_mention_reaches_a_member_looking_at_another_room(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = app.user("ana@example.com", "Ana").await;
    let ben = app.user("ben@example.com", "Ben").await;
    let cy = app.user("cy@example.com", "Cy").await;
    let elsewhere = room(app, &ana, "Elsewhere", &[&ben, &cy]).await;
    let here = room(app, &ana, "Here", &[&ben, &cy]).await;
    // Ben and Cy have the app open on another room, on the second gateway.
    let mut ben_socket = socket(&cluster.gateways[1], &ben).await;
    assert_eq!(
        ben_socket.emit_ack("join_room", json!({"room_id": elsewhere})).await["ok"],
        true
    );
    let mut cy_socket = socket(&cluster.gateways[1], &cy).await;
    assert_eq!(
        cy_socket.emit_ack("join_room", json!({"room_id": elsewhere})).await["ok"],
        true
    );
    // And a gRPC client of Ben's that streams only the other room.
    let mut messaging = MessagingServiceClient::new(app.grpc_channel().await);
    let mut stream = messaging
        .stream_events(with(
            &ben,
            StreamEventsRequest {
                room_ids: vec![elsewhere],
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    // Ana mentions Ben over Socket.IO in the other room.
    let mut ana_socket = socket(&cluster.gateways[0], &ana).await;
    let ack = ana_socket
        .emit_ack(
            "send_message",
            json!({"room_id": here, "content": "@Ben see this", "mentions": [ben.id]}),
        )
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    let mention = ben_socket.expect("mentioned").await;
    assert_eq!(mention["room_id"], here);
    assert_eq!(mention["message"]["content"], "@Ben see this");
    assert_eq!(mention["message"]["mentions"], json!([ben.id]));
    let heard = cy_socket.drain(Duration::from_millis(800)).await;
    assert!(!heard.iter().any(|(name, _)| name == "mentioned"), "{heard:?}");
    loop {
        if let Some(Event::Mention(m)) = next(&mut stream).await.event {
            assert_eq!(m.message.unwrap().room_id, here);
            assert_eq!(m.user_ids, [ben.id]);
            break;
        }
    }
    assert_eq!(listed(app, &ben, here).await["mention_count"], 1);
    ben_socket.close().await;
    cy_socket.close().await;
    ana_socket.close().await;
}

async fn search_finds_only_my_rooms_and_never_deleted_messages(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = app.user("ana@example.com", "Ana").await;
    let ben = app.user("ben@example.com", "Ben").await;
    let mine = room(app, &ana, "Finance", &[]).await;
    let shared = room(app, &ana, "Shared", &[&ben]).await;
    send(app, &ana, mine, "the quarterly budget report is late").await;
    let meeting = send(app, &ben, shared, "budget meeting moved to Friday").await;
    send(app, &ben, shared, "lunch?").await;

    let search = |user: &User, q: &str| {
        let path = format!("/chat/search?q={}", urlencode(q));
        let token = user.token.clone();
        async move { app.get(&path, Some(&token)).await }
    };
    let (status, body) = search(&ben, "budget").await;
    assert_eq!(status, 200, "{body}");
    let hits = body["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "only Ben's rooms: {body}");
    assert_eq!(hits[0]["room_id"], shared);
    assert_eq!(hits[0]["message_id"], meeting["id"]);
    assert_eq!(hits[0]["seq"], meeting["seq"]);
    let marked: Vec<&str> = hits[0]["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["highlighted"] == true)
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(marked, ["budget"], "{body}");
    let (_, body) = search(&ana, "budget").await;
    assert_eq!(body["hits"].as_array().unwrap().len(), 2, "{body}");
    // One room only; a room Ben is not in is refused.
    let (_, body) = app
        .get(&format!("/chat/search?q=budget&room_id={mine}"), Some(&ana.token))
        .await;
    assert_eq!(body["hits"][0]["room_id"], mine);
    let (status, body) = app
        .get(&format!("/chat/search?q=budget&room_id={mine}"), Some(&ben.token))
        .await;
    assert_eq!((status, error_code(&body)), (403, "permission_denied"), "{body}");
    // Edits are searchable at once, and the old text is gone.
    let mid = meeting["id"].as_i64().unwrap();
    assert_eq!(edit(app, &ben, shared, mid, "roadmap review on Friday").await.0, 200);
    let (_, body) = search(&ben, "budget").await;
    assert_eq!(body["hits"], json!([]), "{body}");
    let (_, body) = search(&ben, "roadmap").await;
    assert_eq!(body["hits"][0]["message_id"], mid);
    // Deleted: never found (gRPC).
    assert_eq!(delete(app, &ben, shared, mid).await.0, 200);
    let mut messaging = MessagingServiceClient::new(app.grpc_channel().await);
    let found = messaging
        .search_messages(with(
            &ben,
            SearchMessagesRequest {
                query: "roadmap".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(found.hits.is_empty(), "{:?}", found.hits);
    // Paging.
    for i in 0..5 {
        send(app, &ana, mine, &format!("invoice number {i}")).await;
    }
    let (_, first) = app.get("/chat/search?q=invoice&page_size=3", Some(&ana.token)).await;
    assert_eq!(first["hits"].as_array().unwrap().len(), 3);
    let token = first["next_page_token"].as_str().unwrap().to_owned();
    let (_, second) = app
        .get(
            &format!("/chat/search?q=invoice&page_size=3&page_token={token}"),
            Some(&ana.token),
        )
        .await;
    assert_eq!(second["hits"].as_array().unwrap().len(), 2);
    assert!(second["next_page_token"].is_null());
    // Query syntax is never an error or an injection.
    for q in [
        "\"unclosed",
        "a OR",
        "-only",
        "NEAR(x y)",
        "*",
        "'; DROP TABLE messages; --",
    ] {
        let (status, body) = search(&ana, q).await;
        assert_eq!(status, 200, "{q}: {body}");
    }
    let (status, body) = app.get("/chat/search?q=", Some(&ana.token)).await;
    assert_eq!((status, error_field(&body)), (400, Some("query")), "{body}");
    let (status, body) = app.get("/chat/search?q=x&page_token=zzz", Some(&ana.token)).await;
    assert_eq!((status, error_field(&body)), (400, Some("page_token")), "{body}");
    let (status, _) = app.get("/chat/search?q=x", None).await;
    assert_eq!(status, 401);
}

async fn next(
    stream: &mut tonic::Streaming<chat_proto::messaging::v1::StreamEventsResponse>,
) -> chat_proto::messaging::v1::StreamEventsResponse {
    tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("an event within 5 s")
        .unwrap()
        .unwrap()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn bad_change_input_is_refused(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = app.user("ana@example.com", "Ana").await;
    let one = room(app, &ana, "One", &[]).await;
    let two = room(app, &ana, "Two", &[]).await;
    let mid = send(app, &ana, one, "here").await["id"].as_i64().unwrap();
    // A message of another room, or none at all.
    let (status, body) = edit(app, &ana, two, mid, "x").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");
    let (status, body) = delete(app, &ana, one, 999_999).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");
    let (status, body) = edit(app, &ana, 999_999, mid, "x").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");
    // Malformed ids and bodies.
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/chat/rooms/{one}/messages/abc"),
            Some(&json!({"content": "x"})),
            Some(&ana.token),
        )
        .await;
    assert_eq!((status, error_field(&body)), (400, Some("message_id")), "{body}");
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/chat/rooms/{one}/messages/{mid}"),
            Some(&json!({"content": 5})),
            Some(&ana.token),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .post_json(
            &format!("/chat/rooms/{one}/read"),
            &json!({"seq": -1}),
            Some(&ana.token),
        )
        .await;
    assert_eq!((status, error_field(&body)), (400, Some("seq")), "{body}");
    let (status, body) = app
        .get(&format!("/chat/rooms/{one}/changes?after_change=x"), Some(&ana.token))
        .await;
    assert_eq!((status, error_field(&body)), (400, Some("after_change")), "{body}");
    // Forged token.
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/chat/rooms/{one}/messages/{mid}"),
            None,
            Some("not.a.token"),
        )
        .await;
    assert_eq!(status, 401);
    // Socket.IO: wrong types, missing fields, the connection stays.
    let mut s = socket(&cluster.gateways[0], &ana).await;
    for (event, payload) in [
        (
            "edit_message",
            json!({"room_id": one, "message_id": "x", "content": "y"}),
        ),
        ("edit_message", json!({"room_id": one, "message_id": mid})),
        ("delete_message", json!({"room_id": one, "message_id": -3})),
        ("react", json!({"room_id": one, "message_id": mid, "emoji": ["👍"]})),
        ("mark_read", json!({"room_id": one})),
        ("join_room", json!({"room_id": one, "since": 0, "since_change": -1})),
    ] {
        refused(&s.emit_ack(event, payload).await, "invalid_argument");
    }
    assert!(s.alive().await);
    // Nothing was changed by any of it.
    let all = history(app, &ana, one).await;
    assert_eq!(all[&mid]["content"], "here");
    assert_eq!(all[&mid]["change_seq"], 0);
    s.close().await;
}
