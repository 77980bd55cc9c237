//! Private rooms, roles and direct messages, black-box through all three
//! surfaces (REST, Socket.IO, gRPC), on the embedded default and on
//! PostgreSQL + Redis with two gateways.

mod support;

use std::time::Duration;

use chat_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use chat_proto::messaging::v1::stream_events_response::Event;
use chat_proto::messaging::v1::{ListMessagesRequest, SendMessageRequest, SetTypingRequest, StreamEventsRequest};
use chat_proto::room::v1::room_service_client::RoomServiceClient;
use chat_proto::room::v1::{
    AddMemberRequest, GetRoomRequest, JoinRoomRequest, ListMembersRequest, OpenDirectMessageRequest,
    RemoveMemberRequest, SetMemberRoleRequest,
};
use reqwest::Method;
use serde_json::{Value, json};
use support::cluster::Cluster;
use support::sio::SioClient;
use support::{TestApp, User, error_code, error_field};

cluster_tests!(
    outsiders_can_neither_see_join_read_post_nor_type,
    roles_decide_who_runs_the_room,
    a_removed_member_stops_receiving_on_either_gateway,
    concurrent_dm_requests_give_one_room,
    dms_stay_between_two,
    deleting_a_room_removes_its_messages_and_memberships,
    private_news_reaches_members_only,
    private_names_do_not_leak,
    people_search_puts_contacts_first,
    bad_membership_input_is_refused,
);

async fn user(app: &TestApp, email: &str, name: &str) -> User {
    app.user(email, name).await
}

fn with<T>(user: &User, message: T) -> tonic::Request<T> {
    chat_platform::token::with_bearer(tonic::Request::new(message), &user.token)
}

async fn create(app: &TestApp, owner: &User, name: &str, visibility: &str) -> i64 {
    let (status, room) = app
        .post_json(
            "/chat/rooms",
            &json!({"name": name, "visibility": visibility}),
            Some(&owner.token),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    assert_eq!(room["visibility"], visibility);
    assert_eq!(room["kind"], "room");
    assert_eq!(room["my_role"], "owner");
    room["id"].as_i64().unwrap()
}

async fn invite(app: &TestApp, by: &User, room_id: i64, who: &User) -> (u16, Value) {
    app.post_json(
        &format!("/chat/rooms/{room_id}/members"),
        &json!({"user_id": who.id}),
        Some(&by.token),
    )
    .await
}

async fn remove(app: &TestApp, by: &User, room_id: i64, who: &User) -> (u16, Value) {
    app.call(
        Method::DELETE,
        &format!("/chat/rooms/{room_id}/members/{}", who.id),
        None,
        Some(&by.token),
    )
    .await
}

async fn set_role(app: &TestApp, by: &User, room_id: i64, who: &User, role: &str) -> (u16, Value) {
    app.call(
        Method::PUT,
        &format!("/chat/rooms/{room_id}/members/{}", who.id),
        Some(&json!({ "role": role })),
        Some(&by.token),
    )
    .await
}

async fn open_dm(app: &TestApp, from: &User, to: &User) -> (u16, Value) {
    app.post_json("/chat/dms", &json!({"user_id": to.id}), Some(&from.token))
        .await
}

async fn socket(gateway: &str, user: &User) -> SioClient {
    SioClient::connect(gateway, Some(&user.token)).await.unwrap()
}

/// Ids of the rooms `user` is shown by `GET {path}`.
async fn listed(app: &TestApp, user: &User, path: &str) -> Vec<i64> {
    let (status, page) = app.get(path, Some(&user.token)).await;
    assert_eq!(status, 200, "{page}");
    page["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

fn refused(ack: &Value, code: &str) {
    assert_eq!(ack["ok"], false, "{ack}");
    assert_eq!(ack["error"]["code"], code, "{ack}");
}

/// Every way in, on every surface, is NOT_FOUND to someone outside a
/// private room or a DM, exactly as for a room that doesn't exist.
async fn outsiders_can_neither_see_join_read_post_nor_type(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = user(app, "ana@example.com", "Ana").await;
    let ben = user(app, "ben@example.com", "Ben").await;
    let cy = user(app, "cy@example.com", "Cy").await;
    let private = create(app, &ana, "Secret", "private").await;
    let (status, dm) = open_dm(app, &ana, &ben).await;
    assert_eq!(status, 201, "{dm}");
    let dm = dm["id"].as_i64().unwrap();
    // Something to read in each.
    let mut ana_socket = socket(&cluster.gateways[0], &ana).await;
    for room in [private, dm] {
        let ack = ana_socket.emit_ack("join_room", json!({"room_id": room})).await;
        assert_eq!(ack["ok"], true, "{ack}");
        let ack = ana_socket
            .emit_ack("send_message", json!({"room_id": room, "content": "for members"}))
            .await;
        assert_eq!(ack["ok"], true, "{ack}");
    }

    // Not listed.
    let rooms = listed(app, &cy, "/chat/rooms").await;
    assert!(!rooms.contains(&private) && !rooms.contains(&dm), "{rooms:?}");

    for room in [private, dm] {
        // REST: the room, joining, its messages, its members.
        for path in [
            format!("/chat/rooms/{room}"),
            format!("/chat/rooms/{room}/messages"),
            format!("/chat/rooms/{room}/members"),
        ] {
            let (status, body) = app.get(&path, Some(&cy.token)).await;
            assert_eq!((status, error_code(&body)), (404, "not_found"), "GET {path}: {body}");
            assert_eq!(body["error"]["message"], format!("room {room} not found"));
        }
        let (status, body) = app
            .post_json(&format!("/chat/rooms/{room}/join"), &json!({}), Some(&cy.token))
            .await;
        assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");

        // Socket.IO, on the other gateway: join, read, post, type.
        let mut s = socket(&cluster.gateways[1], &cy).await;
        refused(&s.emit_ack("join_room", json!({"room_id": room})).await, "not_found");
        refused(&s.emit_ack("get_messages", json!({"room_id": room})).await, "not_found");
        refused(
            &s.emit_ack("send_message", json!({"room_id": room, "content": "let me in"}))
                .await,
            "not_found",
        );
        refused(
            &s.emit_ack("typing", json!({"room_id": room, "is_typing": true})).await,
            "not_found",
        );
        // Without an ack the refusal comes as an `error` event, same shape.
        s.emit("send_message", json!({"room_id": room, "content": "again"}));
        let error = s.expect("error").await;
        assert_eq!(
            (error["code"].as_str(), error["event"].as_str()),
            (Some("not_found"), Some("send_message"))
        );
        s.close().await;

        // gRPC: rooms and messaging.
        let mut rooms_rpc = RoomServiceClient::new(app.grpc_channel().await);
        let mut messaging = MessagingServiceClient::new(app.grpc_channel().await);
        let code = rooms_rpc
            .get_room(with(&cy, GetRoomRequest { room_id: room }))
            .await
            .unwrap_err()
            .code();
        assert_eq!(code, tonic::Code::NotFound);
        let code = rooms_rpc
            .join_room(with(&cy, JoinRoomRequest { room_id: room }))
            .await
            .unwrap_err()
            .code();
        assert_eq!(code, tonic::Code::NotFound);
        let members = ListMembersRequest {
            room_id: room,
            ..Default::default()
        };
        assert_eq!(
            rooms_rpc.list_members(with(&cy, members)).await.unwrap_err().code(),
            tonic::Code::NotFound
        );
        let list = ListMessagesRequest {
            room_id: room,
            ..Default::default()
        };
        assert_eq!(
            messaging.list_messages(with(&cy, list)).await.unwrap_err().code(),
            tonic::Code::NotFound
        );
        let send = SendMessageRequest {
            room_id: room,
            content: "grpc".into(),
            ..Default::default()
        };
        assert_eq!(
            messaging.send_message(with(&cy, send)).await.unwrap_err().code(),
            tonic::Code::NotFound
        );
        let typing = SetTypingRequest {
            room_id: room,
            is_typing: true,
        };
        assert_eq!(
            messaging.set_typing(with(&cy, typing)).await.unwrap_err().code(),
            tonic::Code::NotFound
        );
        let stream = StreamEventsRequest {
            room_ids: vec![room],
            ..Default::default()
        };
        assert_eq!(
            messaging.stream_events(with(&cy, stream)).await.err().map(|e| e.code()),
            Some(tonic::Code::NotFound)
        );
    }

    // Nothing they tried was stored: the two messages Ana sent, only.
    assert_eq!(app.count("messaging", "messages").await, 2);
    // The members themselves still get in (the DM partner included).
    let (status, body) = app.get(&format!("/chat/rooms/{dm}/messages"), Some(&ben.token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messages"][0]["content"], "for members");
    ana_socket.close().await;
}

/// Owners and admins add and remove; an admin cannot remove the owner or
/// another admin; only the owner changes roles, hands over and deletes.
async fn roles_decide_who_runs_the_room(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = user(app, "owner@example.com", "Ana").await;
    let ben = user(app, "admin@example.com", "Ben").await;
    let cy = user(app, "member@example.com", "Cy").await;
    let dee = user(app, "other@example.com", "Dee").await;
    let room = create(app, &ana, "Run", "private").await;

    let (status, member) = invite(app, &ana, room, &ben).await;
    assert_eq!(status, 201, "{member}");
    assert_eq!(
        (member["role"].as_str(), member["first_name"].as_str()),
        (Some("member"), Some("Ben"))
    );
    let (status, again) = invite(app, &ana, room, &ben).await;
    assert_eq!(status, 200, "adding twice is harmless: {again}");

    // A plain member can't add, remove or promote.
    let (status, body) = invite(app, &ben, room, &cy).await;
    assert_eq!((status, error_code(&body)), (403, "permission_denied"), "{body}");

    let (status, member) = set_role(app, &ana, room, &ben, "admin").await;
    assert_eq!((status, member["role"].as_str()), (200, Some("admin")), "{member}");
    // Ben, now an admin, adds Cy and Dee.
    assert_eq!(invite(app, &ben, room, &cy).await.0, 201);
    assert_eq!(invite(app, &ben, room, &dee).await.0, 201);
    let (status, body) = set_role(app, &ben, room, &cy, "admin").await;
    assert_eq!(
        (status, error_code(&body)),
        (403, "permission_denied"),
        "only the owner changes roles: {body}"
    );

    // An admin cannot remove the owner, nor another admin.
    let (status, body) = remove(app, &ben, room, &ana).await;
    assert_eq!((status, error_code(&body)), (403, "permission_denied"), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot remove the owner")
    );
    let mut rooms_rpc = RoomServiceClient::new(app.grpc_channel().await);
    let err = rooms_rpc
        .remove_member(with(
            &ben,
            RemoveMemberRequest {
                room_id: room,
                user_id: ana.id,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        tonic::Code::PermissionDenied,
        "gRPC enforces the same: {err:?}"
    );
    assert_eq!(set_role(app, &ana, room, &cy, "admin").await.0, 200);
    let (status, body) = remove(app, &ben, room, &cy).await;
    assert_eq!((status, error_code(&body)), (403, "permission_denied"), "{body}");
    // A member can't remove anyone; an admin removes a plain member.
    let (status, _) = remove(app, &dee, room, &cy).await;
    assert_eq!(status, 403);
    let (status, body) = remove(app, &ben, room, &dee).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = remove(app, &ben, room, &dee).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"), "already gone: {body}");

    // The owner can't leave, nor be demoted by a role change.
    let (status, body) = app
        .post_json(&format!("/chat/rooms/{room}/leave"), &json!({}), Some(&ana.token))
        .await;
    assert_eq!((status, error_code(&body)), (409, "failed_precondition"), "{body}");
    let err = rooms_rpc
        .set_member_role(with(
            &ana,
            SetMemberRoleRequest {
                room_id: room,
                user_id: ana.id,
                role: chat_proto::room::v1::Role::Member as i32,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");

    // Only the owner deletes or hands over.
    let (status, _) = app
        .call(Method::DELETE, &format!("/chat/rooms/{room}"), None, Some(&ben.token))
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .post_json(
            &format!("/chat/rooms/{room}/owner"),
            &json!({"user_id": cy.id}),
            Some(&ben.token),
        )
        .await;
    assert_eq!((status, error_code(&body)), (403, "permission_denied"), "{body}");
    let (status, body) = app
        .post_json(
            &format!("/chat/rooms/{room}/owner"),
            &json!({"user_id": dee.id}),
            Some(&ana.token),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (409, "failed_precondition"),
        "Dee is no member: {body}"
    );
    let (status, handed) = app
        .post_json(
            &format!("/chat/rooms/{room}/owner"),
            &json!({"user_id": ben.id}),
            Some(&ana.token),
        )
        .await;
    assert_eq!((status, handed["my_role"].as_str()), (200, Some("admin")), "{handed}");
    let (_, members) = app.get(&format!("/chat/rooms/{room}/members"), Some(&ana.token)).await;
    let roles: Vec<(&str, &str)> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["first_name"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("Ana", "admin"), ("Ben", "owner"), ("Cy", "admin")]);
    // Ana, now an admin, can leave; Ben, the owner, deletes.
    let (status, left) = app
        .post_json(&format!("/chat/rooms/{room}/leave"), &json!({}), Some(&ana.token))
        .await;
    assert_eq!((status, left["left"].as_bool()), (200, Some(true)), "{left}");
    let (status, _) = app
        .call(Method::DELETE, &format!("/chat/rooms/{room}"), None, Some(&ben.token))
        .await;
    assert_eq!(status, 204);
    let (status, _) = app.get(&format!("/chat/rooms/{room}"), Some(&ben.token)).await;
    assert_eq!(status, 404);
}

/// A removed member hears `member_removed`, then nothing more from the
/// room, whichever gateway they are on; their event stream stops too.
async fn a_removed_member_stops_receiving_on_either_gateway(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = user(app, "boss@example.com", "Ana").await;
    let room = create(app, &ana, "Ops", "private").await;
    let mut ana_socket = socket(&cluster.gateways[0], &ana).await;
    assert_eq!(
        ana_socket.emit_ack("join_room", json!({"room_id": room})).await["ok"],
        true
    );
    let mut messaging = MessagingServiceClient::new(app.grpc_channel().await);

    for (i, gateway) in cluster.gateways.iter().enumerate() {
        let ben = user(app, &format!("ben{i}@example.com"), "Ben").await;
        assert_eq!(invite(app, &ana, room, &ben).await.0, 201);
        let mut ben_socket = socket(gateway, &ben).await;
        let ack = ben_socket.emit_ack("join_room", json!({"room_id": room})).await;
        assert_eq!(ack["ok"], true, "{ack}");
        let mut stream = messaging
            .stream_events(with(
                &ben,
                StreamEventsRequest {
                    room_ids: vec![room],
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        // Both get a message while Ben is in.
        let ack = ana_socket
            .emit_ack(
                "send_message",
                json!({"room_id": room, "content": format!("before {i}")}),
            )
            .await;
        assert_eq!(ack["ok"], true);
        assert_eq!(ben_socket.expect("new_message").await["content"], format!("before {i}"));

        let removed_at = tokio::time::Instant::now();
        assert_eq!(remove(app, &ana, room, &ben).await.0, 204);
        let event = ben_socket.expect("member_removed").await;
        assert_eq!(
            (event["room_id"].as_i64(), event["user"]["id"].as_i64()),
            (Some(room), Some(ben.id))
        );
        assert_eq!(event["by"], ana.id);
        assert!(removed_at.elapsed() < Duration::from_secs(2), "told within 2 s");

        let ack = ana_socket
            .emit_ack(
                "send_message",
                json!({"room_id": room, "content": format!("after {i}")}),
            )
            .await;
        assert_eq!(ack["ok"], true);
        let heard: Vec<(String, Value)> = ben_socket.drain(Duration::from_millis(1500)).await;
        assert!(
            !heard.iter().any(|(name, _)| name == "new_message"),
            "gateway {i}: a removed member still hears the room: {heard:?}"
        );
        refused(
            &ben_socket
                .emit_ack("send_message", json!({"room_id": room, "content": "still here?"}))
                .await,
            "not_found",
        );
        refused(
            &ben_socket.emit_ack("join_room", json!({"room_id": room})).await,
            "not_found",
        );

        // The gRPC stream told them, then stopped following the room.
        let mut removed_seen = false;
        while let Ok(Ok(Some(event))) = tokio::time::timeout(Duration::from_millis(1500), stream.message()).await {
            match event.event {
                Some(Event::Room(r)) if r.room_id == room && r.user_id == ben.id => removed_seen = true,
                Some(Event::Message(m)) if m.room_id == room => {
                    assert!(!removed_seen, "stream message after removal: {}", m.content);
                }
                _ => {}
            }
        }
        assert!(removed_seen, "the stream heard of the removal");
        ben_socket.close().await;
    }
    ana_socket.close().await;
}

/// Two simultaneous requests, one from each side, give one DM: one made it
/// (201), the other found it (200).
async fn concurrent_dm_requests_give_one_room(cluster: &Cluster) {
    let app = &cluster.app;
    for round in 0..5 {
        let a = user(app, &format!("a{round}@example.com"), "Ana").await;
        let b = user(app, &format!("b{round}@example.com"), "Ben").await;
        let (one, two) = tokio::join!(open_dm(app, &a, &b), open_dm(app, &b, &a));
        assert_eq!(one.1["id"], two.1["id"], "round {round}: {one:?} {two:?}");
        let mut statuses = [one.0, two.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 201], "round {round}");
        assert_eq!(one.1["kind"], "dm");
        assert_eq!(one.1["other_user"]["id"], b.id);
        assert_eq!(two.1["other_user"]["id"], a.id);
        // Once more from either side: the same room, 200.
        let (status, again) = open_dm(app, &a, &b).await;
        assert_eq!((status, &again["id"]), (200, &one.1["id"]));
    }
    let pool = app.service_db("room").await;
    let dms: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rooms WHERE kind = 'dm'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(dms, 5);
    let members: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE r.kind = 'dm'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(members, 10, "exactly two members each");
    pool.close().await;
}

/// A DM has no third member, can't be left, and shows only to its two.
async fn dms_stay_between_two(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = user(app, "dana@example.com", "Ana").await;
    let ben = user(app, "dben@example.com", "Ben").await;
    let cy = user(app, "dcy@example.com", "Cy").await;
    let (_, dm) = open_dm(app, &ana, &ben).await;
    let id = dm["id"].as_i64().unwrap();
    assert_eq!(dm["name"], "");
    assert_eq!(dm["visibility"], "private");
    assert_eq!(dm["my_role"], "member");
    assert_eq!(dm["other_user"]["first_name"], "Ben");
    assert!(dm["other_user"].get("email").is_none());

    let (status, body) = invite(app, &ana, id, &cy).await;
    assert_eq!((status, error_code(&body)), (403, "permission_denied"), "{body}");
    let (status, body) = remove(app, &ana, id, &ben).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = app
        .post_json(&format!("/chat/rooms/{id}/leave"), &json!({}), Some(&ben.token))
        .await;
    assert_eq!((status, error_code(&body)), (409, "failed_precondition"), "{body}");
    let (status, _) = app
        .call(Method::DELETE, &format!("/chat/rooms/{id}"), None, Some(&ana.token))
        .await;
    assert_eq!(status, 403, "a DM has no owner to delete it");
    let mut rooms_rpc = RoomServiceClient::new(app.grpc_channel().await);
    let err = rooms_rpc
        .add_member(with(
            &ana,
            AddMemberRequest {
                room_id: id,
                user_id: cy.id,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let (status, body) = app
        .post_json(&format!("/chat/rooms/{id}/join"), &json!({}), Some(&cy.token))
        .await;
    assert_eq!(status, 404, "{body}");

    // Listed to the two, under /chat/dms and /chat/rooms; never to Cy.
    assert_eq!(listed(app, &ana, "/chat/dms").await, [id]);
    assert_eq!(listed(app, &ben, "/chat/dms").await, [id]);
    assert!(listed(app, &ben, "/chat/rooms").await.contains(&id));
    assert!(listed(app, &cy, "/chat/dms").await.is_empty());
    assert!(listed(app, &ana, "/chat/rooms?kind=room").await.is_empty());

    // Only with someone who exists, and not with yourself.
    let (status, body) = app
        .post_json("/chat/dms", &json!({"user_id": 999_999}), Some(&ana.token))
        .await;
    assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");
    let (status, body) = app
        .post_json("/chat/dms", &json!({"user_id": ana.id}), Some(&ana.token))
        .await;
    assert_eq!((status, error_field(&body)), (400, Some("user_id")), "{body}");
    let response = rooms_rpc
        .open_direct_message(with(&ben, OpenDirectMessageRequest { user_id: ana.id }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((response.room.unwrap().id, response.created), (id, false));
}

/// Deleting a room takes its memberships and, through the bus, its
/// messages with it.
async fn deleting_a_room_removes_its_messages_and_memberships(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = user(app, "del@example.com", "Ana").await;
    let ben = user(app, "delben@example.com", "Ben").await;
    let doomed = create(app, &ana, "Doomed", "private").await;
    let kept = create(app, &ana, "Kept", "public").await;
    invite(app, &ana, doomed, &ben).await;
    let mut s = socket(&cluster.gateways[1], &ben).await;
    for room in [doomed, kept] {
        assert_eq!(s.emit_ack("join_room", json!({"room_id": room})).await["ok"], true);
        for n in 0..3 {
            let ack = s
                .emit_ack("send_message", json!({"room_id": room, "content": format!("m{n}")}))
                .await;
            assert_eq!(ack["ok"], true, "{ack}");
        }
    }
    assert_eq!(app.count("messaging", "messages").await, 6);
    let (status, _) = app
        .call(Method::DELETE, &format!("/chat/rooms/{doomed}"), None, Some(&ana.token))
        .await;
    assert_eq!(status, 204);
    assert_eq!(s.expect("room_deleted").await["room_id"], doomed);

    let rooms = app.service_db("room").await;
    let memberships: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM room_members WHERE room_id = $1")
        .bind(doomed)
        .fetch_one(&rooms)
        .await
        .unwrap();
    assert_eq!(memberships, 0);
    rooms.close().await;
    let messages = app.service_db("messaging").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE room_id = $1")
            .bind(doomed)
            .fetch_one(&messages)
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{left} messages outlived their room"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kept_messages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE room_id = $1")
        .bind(kept)
        .fetch_one(&messages)
        .await
        .unwrap();
    assert_eq!(kept_messages, 3, "other rooms keep theirs");
    messages.close().await;
    s.close().await;
}

/// A private room's creation, members and changes are news to its members
/// only; the invited user's sockets hear `member_added` without following
/// the room; role changes and updates reach the room.
async fn private_news_reaches_members_only(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = user(app, "news@example.com", "Ana").await;
    let ben = user(app, "newsben@example.com", "Ben").await;
    let cy = user(app, "newscy@example.com", "Cy").await;
    let mut ben_socket = socket(&cluster.gateways[1], &ben).await;
    let mut cy_socket = socket(&cluster.gateways[0], &cy).await;
    let mut ana_socket = socket(&cluster.gateways[0], &ana).await;

    let private = create(app, &ana, "Quiet", "private").await;
    let created = ana_socket.expect("room_created").await;
    assert_eq!(
        (created["room_id"].as_i64(), created["visibility"].as_str()),
        (Some(private), Some("private"))
    );
    assert_eq!(invite(app, &ana, private, &ben).await.0, 201);
    let added = ben_socket.expect("member_added").await;
    assert_eq!(
        (added["room_id"].as_i64(), added["user"]["id"].as_i64()),
        (Some(private), Some(ben.id))
    );
    assert_eq!(
        (added["role"].as_str(), added["by"].as_i64()),
        (Some("member"), Some(ana.id))
    );

    // Ben follows the room now; a promotion and a rename reach him.
    assert_eq!(
        ben_socket.emit_ack("join_room", json!({"room_id": private})).await["ok"],
        true
    );
    assert_eq!(set_role(app, &ana, private, &ben, "admin").await.0, 200);
    let changed = ben_socket.expect("role_changed").await;
    assert_eq!(
        (changed["user"]["id"].as_i64(), changed["role"].as_str()),
        (Some(ben.id), Some("admin"))
    );
    let (status, renamed) = app
        .call(
            Method::PATCH,
            &format!("/chat/rooms/{private}"),
            Some(&json!({"name": "Hushed"})),
            Some(&ana.token),
        )
        .await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Hushed")), "{renamed}");
    assert_eq!(ben_socket.expect("room_updated").await["name"], "Hushed");

    // A public room is news to everyone, Cy included.
    let public = create(app, &ana, "Loud", "public").await;
    let created = cy_socket.expect("room_created").await;
    assert_eq!(
        created["room_id"], public,
        "the first room Cy hears of is the public one"
    );
    let heard = cy_socket.drain(Duration::from_millis(800)).await;
    let leaked: Vec<_> = heard
        .iter()
        .filter(|(_, data)| data["room_id"] == private || data.to_string().contains("Quiet"))
        .collect();
    assert!(leaked.is_empty(), "Cy heard of the private room: {leaked:?}");

    // Listings and their membership filter.
    let everything = listed(app, &cy, "/chat/rooms").await;
    assert_eq!(everything, [public]);
    assert_eq!(listed(app, &ben, "/chat/rooms?membership=joined").await, [private]);
    assert_eq!(listed(app, &ben, "/chat/rooms?membership=not_joined").await, [public]);
    assert_eq!(listed(app, &ben, "/chat/rooms").await, [private, public]);
    let (_, room) = app.get(&format!("/chat/rooms/{private}"), Some(&ben.token)).await;
    assert_eq!(
        (room["my_role"].as_str(), room["visibility"].as_str()),
        (Some("admin"), Some("private"))
    );

    // Going public shows it to Cy; joining it works then.
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/chat/rooms/{private}"),
            Some(&json!({"visibility": "public"})),
            Some(&ben.token),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(cy_socket.expect("room_updated").await["visibility"], "public");
    let (status, _) = app
        .post_json(&format!("/chat/rooms/{private}/join"), &json!({}), Some(&cy.token))
        .await;
    assert_eq!(status, 200);
    for s in [ana_socket, ben_socket, cy_socket] {
        s.close().await;
    }
}

/// A private room's name tells outsiders nothing: names are unique among
/// public rooms only, and a room renamed as it goes private is announced to
/// outsiders under the name they knew.
async fn private_names_do_not_leak(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = user(app, "names@example.com", "Ana").await;
    let cy = user(app, "namescy@example.com", "Cy").await;

    let vault = create(app, &ana, "Vault", "private").await;
    let (status, body) = app
        .post_json(
            "/chat/rooms",
            &json!({"name": "vault", "visibility": "public"}),
            Some(&cy.token),
        )
        .await;
    assert_eq!(status, 201, "a private room's name is free for others: {body}");
    let (status, body) = app
        .post_json(
            "/chat/rooms",
            &json!({"name": "VAULT", "visibility": "private"}),
            Some(&cy.token),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post_json(
            "/chat/rooms",
            &json!({"name": "Vault", "visibility": "public"}),
            Some(&ana.token),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (409, "already_exists"),
        "public names stay unique: {body}"
    );
    // Going public takes the name among public rooms, so it must be free.
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/chat/rooms/{vault}"),
            Some(&json!({"visibility": "public"})),
            Some(&ana.token),
        )
        .await;
    assert_eq!((status, error_code(&body)), (409, "already_exists"), "{body}");
    let (_, room) = app.get(&format!("/chat/rooms/{vault}"), Some(&ana.token)).await;
    assert_eq!(room["visibility"], "private", "a refused change changes nothing");

    // Renamed while going private: Cy hears it went private, not the new name.
    let lobby = create(app, &ana, "Lobby", "public").await;
    let mut cy_socket = socket(&cluster.gateways[1], &cy).await;
    let mut ana_socket = socket(&cluster.gateways[0], &ana).await;
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/chat/rooms/{lobby}"),
            Some(&json!({"name": "Merger plans", "visibility": "private"})),
            Some(&ana.token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let update = cy_socket.expect("room_updated").await;
    assert_eq!(
        (
            update["room_id"].as_i64(),
            update["visibility"].as_str(),
            update["name"].as_str()
        ),
        (Some(lobby), Some("private"), Some("Lobby"))
    );
    let heard = cy_socket.drain(Duration::from_millis(800)).await;
    assert!(
        !format!("{heard:?}").contains("Merger"),
        "Cy heard the new name: {heard:?}"
    );
    let mut names = Vec::new();
    for _ in 0..2 {
        let update = ana_socket.expect("room_updated").await;
        names.push(update["name"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(
        names.last().map(String::as_str),
        Some("Merger plans"),
        "members hear the new name last"
    );
    for s in [ana_socket, cy_socket] {
        s.close().await;
    }
}

/// `GET /profile/users?query=` finds people by a prefix of their first,
/// last or full name, those who share a room with the caller first.
async fn people_search_puts_contacts_first(cluster: &Cluster) {
    let app = &cluster.app;
    let me = user(app, "me@example.com", "Ana").await;
    // Registered with last name "Tester": Sam (a stranger) before Samir (a
    // contact) by name.
    let stranger = user(app, "sam@example.com", "Sam").await;
    let contact = user(app, "samir@example.com", "Samir").await;
    let room = create(app, &me, "Crew", "private").await;
    invite(app, &me, room, &contact).await;

    let (status, found) = app.get("/profile/users?query=sa", Some(&me.token)).await;
    assert_eq!(status, 200, "{found}");
    let ids: Vec<i64> = found["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [contact.id, stranger.id], "contacts first: {found}");
    assert!(found["users"][0].get("email").is_none());

    let (_, found) = app.get("/profile/users?query=SAMIR%20te", Some(&me.token)).await;
    assert_eq!(
        found["users"].as_array().unwrap().len(),
        1,
        "full names, any case: {found}"
    );
    let (_, found) = app.get("/profile/users?query=%25", Some(&me.token)).await;
    assert!(
        found["users"].as_array().unwrap().is_empty(),
        "% is a character, not a wildcard: {found}"
    );
    let (status, body) = app.get("/profile/users?query=", Some(&me.token)).await;
    assert_eq!((status, error_field(&body)), (400, Some("query")), "{body}");
    let (status, body) = app.get("/profile/users?query=s&limit=500", Some(&me.token)).await;
    assert_eq!((status, error_field(&body)), (400, Some("limit")), "{body}");
    let (status, _) = app.get("/profile/users?query=s", None).await;
    assert_eq!(status, 401);
}

/// Wrong values get a 400 naming the field, unknown people a 404, and the
/// room is unchanged.
async fn bad_membership_input_is_refused(cluster: &Cluster) {
    let app = &cluster.app;
    let ana = user(app, "bad@example.com", "Ana").await;
    let ben = user(app, "badben@example.com", "Ben").await;
    let room = create(app, &ana, "Strict", "private").await;

    let (status, body) = app
        .post_json(
            "/chat/rooms",
            &json!({"name": "x", "visibility": "secret"}),
            Some(&ana.token),
        )
        .await;
    assert_eq!((status, error_field(&body)), (400, Some("visibility")), "{body}");
    let (status, body) = app
        .post_json(
            &format!("/chat/rooms/{room}/members"),
            &json!({"user_id": "ben"}),
            Some(&ana.token),
        )
        .await;
    assert_eq!((status, error_field(&body)), (400, Some("user_id")), "{body}");
    let (status, body) = app
        .post_json(
            &format!("/chat/rooms/{room}/members"),
            &json!({"user_id": 999_999}),
            Some(&ana.token),
        )
        .await;
    assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");
    assert_eq!(invite(app, &ana, room, &ben).await.0, 201);
    let (status, body) = set_role(app, &ana, room, &ben, "king").await;
    assert_eq!((status, error_field(&body)), (400, Some("role")), "{body}");
    let (status, body) = set_role(app, &ana, room, &ben, "owner").await;
    assert_eq!(
        (status, error_field(&body)),
        (400, Some("role")),
        "ownership moves by handing over: {body}"
    );
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/chat/rooms/{room}/members/abc"),
            None,
            Some(&ana.token),
        )
        .await;
    assert_eq!((status, error_field(&body)), (400, Some("user_id")), "{body}");
    let (status, body) = app.get("/chat/rooms?membership=some", Some(&ana.token)).await;
    assert_eq!((status, error_field(&body)), (400, Some("membership")), "{body}");
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/chat/rooms/{room}"),
            Some(&json!({"colour": "red"})),
            Some(&ana.token),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .send_raw(
            Method::POST,
            "/chat/dms",
            "application/json",
            b"{\"user_id\": ".to_vec(),
            Some(&ana.token),
        )
        .await;
    assert_eq!((status, error_code(&body)), (400, "malformed_json"), "{body}");

    // Nothing changed: Ana owns it, Ben is a plain member.
    let (_, members) = app.get(&format!("/chat/rooms/{room}/members"), Some(&ana.token)).await;
    let roles: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["owner", "member"]);
}
