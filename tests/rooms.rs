//! The room service through REST and gRPC, on SQLite and PostgreSQL.

mod support;

use chat_proto::room::v1::room_service_client::RoomServiceClient;
use chat_proto::room::v1::{CheckMembershipRequest, CreateRoomRequest, DeleteRoomRequest, ListRoomsRequest};
use serde_json::{Value, json};
use support::{TestApp, error_code, error_field};

backend_tests!(
    create_list_get_join_leave_over_rest,
    pagination_is_stable_and_complete,
    only_the_creator_deletes,
    bad_room_input_is_refused,
    grpc_enforces_the_same_rules,
);

fn with<T>(token: &str, msg: T) -> tonic::Request<T> {
    chat_platform::token::with_bearer(tonic::Request::new(msg), token)
}

fn token(session: &Value) -> &str {
    session["token"].as_str().unwrap()
}

async fn create_room(app: &TestApp, token: &str, name: &str) -> Value {
    let (status, room) = app
        .post_json("/chat/rooms", &json!({ "name": name }), Some(token))
        .await;
    assert_eq!(status, 201, "{room}");
    room
}

async fn create_list_get_join_leave_over_rest(app: &TestApp) {
    let ana = app.register("ana@example.com", "Ana").await;
    let ben = app.register("ben@example.com", "Ben").await;

    let room = create_room(app, token(&ana), "  General  ").await;
    assert_eq!(room["name"], "General");
    assert_eq!(room["created_by"]["id"], ana["user"]["id"]);
    assert_eq!(room["created_by"]["name"], "Ana Tester");
    assert_eq!(room["member_count"], 1);
    assert_eq!(room["is_member"], true);
    let id = room["id"].as_i64().unwrap();

    // Ben sees it, not as a member.
    let (status, list) = app.get("/chat/rooms", Some(token(&ben))).await;
    assert_eq!(status, 200);
    assert_eq!(list["rooms"][0]["id"], id);
    assert_eq!(list["rooms"][0]["is_member"], false);
    assert!(list["next_page_token"].is_null());

    // Join, twice: the second is harmless and says so.
    let (status, joined) = app
        .post_json(&format!("/chat/rooms/{id}/join"), &json!({}), Some(token(&ben)))
        .await;
    assert_eq!((status, joined["joined"].clone()), (200, json!(true)), "{joined}");
    assert_eq!(joined["room"]["member_count"], 2);
    let (status, again) = app
        .post_json(&format!("/chat/rooms/{id}/join"), &json!({}), Some(token(&ben)))
        .await;
    assert_eq!((status, again["joined"].clone()), (200, json!(false)));
    assert_eq!(again["message"], "already a member");

    let (status, members) = app.get(&format!("/chat/rooms/{id}/members"), Some(token(&ana))).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["first_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ana", "Ben"]);
    assert!(
        members["members"][0].get("email").is_none(),
        "members never show emails"
    );

    // Leave, twice.
    let (status, left) = app
        .post_json(&format!("/chat/rooms/{id}/leave"), &json!({}), Some(token(&ben)))
        .await;
    assert_eq!((status, left["left"].clone()), (200, json!(true)));
    let (status, left) = app
        .post_json(&format!("/chat/rooms/{id}/leave"), &json!({}), Some(token(&ben)))
        .await;
    assert_eq!(
        (status, left["left"].clone(), left["message"].clone()),
        (200, json!(false), json!("not a member"))
    );

    // The owner (the creator) cannot leave: they hand the room over or
    // delete it, so every room keeps someone who runs it.
    let (status, body) = app
        .post_json(&format!("/chat/rooms/{id}/leave"), &json!({}), Some(token(&ana)))
        .await;
    assert_eq!((status, error_code(&body)), (409, "failed_precondition"), "{body}");
    let (status, room) = app.get(&format!("/chat/rooms/{id}"), Some(token(&ana))).await;
    assert_eq!(status, 200);
    assert_eq!(room["member_count"], 1);
    assert_eq!(room["my_role"], "owner");

    // No token: 401.
    let (status, body) = app.get("/chat/rooms", None).await;
    assert_eq!((status, error_code(&body)), (401, "unauthenticated"));
    let (status, _) = app.post_json("/chat/rooms", &json!({"name": "x"}), None).await;
    assert_eq!(status, 401);
}

async fn pagination_is_stable_and_complete(app: &TestApp) {
    let ana = app.register("pager@example.com", "Pam").await;
    for i in 0..7 {
        create_room(app, token(&ana), &format!("room-{i}")).await;
    }
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &next {
            Some(t) => format!("/chat/rooms?page_size=3&page_token={t}"),
            None => "/chat/rooms?page_size=3".to_owned(),
        };
        let (status, page) = app.get(&path, Some(token(&ana))).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let rooms = page["rooms"].as_array().unwrap();
        assert!(rooms.len() <= 3);
        seen.extend(rooms.iter().map(|r| r["name"].as_str().unwrap().to_owned()));
        match page["next_page_token"].as_str() {
            Some(t) => next = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..7).map(|i| format!("room-{i}")).collect();
    assert_eq!(seen, want, "every room once, oldest first");

    let (status, body) = app.get("/chat/rooms?page_token=forged", Some(token(&ana))).await;
    assert_eq!((status, error_field(&body)), (400, Some("page_token")));
    let (status, body) = app.get("/chat/rooms?page_size=lots", Some(token(&ana))).await;
    assert_eq!((status, error_field(&body)), (400, Some("page_size")));
}

async fn only_the_creator_deletes(app: &TestApp) {
    let ana = app.register("owner@example.com", "Ana").await;
    let ben = app.register("other@example.com", "Ben").await;
    let room = create_room(app, token(&ana), "Owned").await;
    let id = room["id"].as_i64().unwrap();
    app.post_json(&format!("/chat/rooms/{id}/join"), &json!({}), Some(token(&ben)))
        .await;
    let members_before = app.count("room", "room_members").await;

    let response = app
        .client
        .delete(app.url(&format!("/chat/rooms/{id}")))
        .bearer_auth(token(&ben))
        .send()
        .await
        .unwrap();
    let (status, body) = TestApp::read(response).await;
    assert_eq!((status, error_code(&body)), (403, "permission_denied"));
    assert_eq!(app.count("room", "rooms").await, 1, "nothing changed");
    assert_eq!(app.count("room", "room_members").await, members_before);

    let response = app
        .client
        .delete(app.url(&format!("/chat/rooms/{id}")))
        .bearer_auth(token(&ana))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(app.count("room", "rooms").await, 0);
    assert_eq!(app.count("room", "room_members").await, 0);
    let (status, _) = app.get(&format!("/chat/rooms/{id}"), Some(token(&ana))).await;
    assert_eq!(status, 404);
    let response = app
        .client
        .delete(app.url(&format!("/chat/rooms/{id}")))
        .bearer_auth(token(&ana))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

async fn bad_room_input_is_refused(app: &TestApp) {
    let ana = app.register("bad@example.com", "Bad").await;
    create_room(app, token(&ana), "Lobby").await;
    let rooms = app.count("room", "rooms").await;

    let cases = [
        (json!({"name": ""}), 400, "invalid_argument", Some("name")),
        (json!({"name": "     "}), 400, "invalid_argument", Some("name")),
        (json!({"name": "r".repeat(101)}), 400, "invalid_argument", Some("name")),
        (json!({"name": 42}), 400, "invalid_argument", Some("name")),
        (json!({}), 400, "invalid_argument", Some("name")),
        (json!({"name": "LOBBY"}), 409, "already_exists", None),
        (json!({"name": " lobby "}), 409, "already_exists", None),
    ];
    for (body, want_status, want_code, want_field) in cases {
        let (status, answer) = app.post_json("/chat/rooms", &body, Some(token(&ana))).await;
        assert_eq!(
            (status, error_code(&answer)),
            (want_status, want_code),
            "{body} -> {answer}"
        );
        assert_eq!(error_field(&answer), want_field, "{answer}");
    }
    // Exactly 100 characters is fine.
    create_room(app, token(&ana), &"r".repeat(100)).await;
    assert_eq!(app.count("room", "rooms").await, rooms + 1);

    for path in ["/chat/rooms/999999", "/chat/rooms/999999/members"] {
        let (status, body) = app.get(path, Some(token(&ana))).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"), "{path}");
    }
    for path in ["/chat/rooms/999999/join", "/chat/rooms/999999/leave"] {
        let (status, body) = app.post_json(path, &json!({}), Some(token(&ana))).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"), "{path}");
    }
    for path in ["/chat/rooms/abc", "/chat/rooms/-1", "/chat/rooms/1.5/members"] {
        let (status, body) = app.get(path, Some(token(&ana))).await;
        assert_eq!((status, error_field(&body)), (400, Some("room_id")), "{path}: {body}");
    }
}

async fn grpc_enforces_the_same_rules(app: &TestApp) {
    let ana = app.register("grpc-ana@example.com", "Ana").await;
    let ben = app.register("grpc-ben@example.com", "Ben").await;
    let mut client = RoomServiceClient::new(app.grpc_channel().await);

    let room = client
        .create_room(with(
            token(&ana),
            CreateRoomRequest {
                name: "Grpc".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .room
        .unwrap();

    let err = client
        .create_room(with(
            token(&ana),
            CreateRoomRequest {
                name: " ".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let err = client
        .create_room(with(
            token(&ben),
            CreateRoomRequest {
                name: "grpc".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::AlreadyExists);

    // A valid token is not enough to delete someone else's room.
    let err = client
        .delete_room(with(token(&ben), DeleteRoomRequest { room_id: room.id }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    // No token at all.
    let err = client.list_rooms(ListRoomsRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    // A user can't ask about someone else's memberships.
    let err = client
        .check_membership(with(
            token(&ben),
            CheckMembershipRequest {
                room_id: room.id,
                user_id: room.created_by.unwrap().id,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);

    let list = client
        .list_rooms(with(
            token(&ben),
            ListRoomsRequest {
                page_size: 10,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.rooms.len(), 1);
    client
        .delete_room(with(token(&ana), DeleteRoomRequest { room_id: room.id }))
        .await
        .unwrap();
    assert_eq!(app.count("room", "rooms").await, 0);
}

/// Room changes are published on the event bus (Redis here), once each on
/// the rooms channel, so connected clients can be told without the room
/// service knowing about them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_changes_are_published_on_the_bus() {
    use chat_platform::backplane::Backplane;
    use chat_platform::bus::{BusEvent, ROOMS_CHANNEL, room_channel};
    use chat_proto::events::v1::RoomEvent;
    use chat_proto::events::v1::room_event::Kind;
    use prost::Message;

    let app = support::spawn_app(support::Backend::Postgres).await;
    let bus = Backplane::connect(&app.settings.shared.backplane).await.unwrap().bus;
    let subscriber = bus.subscriber();
    let mut events = subscriber.events();
    subscriber.subscribe(ROOMS_CHANNEL).await;

    let ana = app.register("bus-ana@example.com", "Ana").await;
    let ben = app.register("bus-ben@example.com", "Ben").await;
    let room = create_room(&app, token(&ana), "Buses").await;
    let id = room["id"].as_i64().unwrap();
    subscriber.subscribe(&room_channel(id)).await;
    app.post_json(&format!("/chat/rooms/{id}/join"), &json!({}), Some(token(&ben)))
        .await;
    app.post_json(&format!("/chat/rooms/{id}/leave"), &json!({}), Some(token(&ben)))
        .await;
    app.client
        .delete(app.url(&format!("/chat/rooms/{id}")))
        .bearer_auth(token(&ana))
        .send()
        .await
        .unwrap();

    let want = [Kind::Created, Kind::MemberJoined, Kind::MemberLeft, Kind::Deleted]
        .map(|kind| (ROOMS_CHANNEL.to_owned(), kind));
    let mut got = Vec::new();
    while got.len() < want.len() {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv())
            .await
            .expect("room event within 10 s")
            .unwrap();
        if let BusEvent::Message { channel, payload } = event {
            let room_event = RoomEvent::decode(payload).expect("a room event");
            assert_eq!(room_event.room_id, id);
            got.push((channel.to_string(), room_event.kind()));
        }
    }
    assert_eq!(got, want);
    // Published once: no second copy on the room's own channel.
    let extra = tokio::time::timeout(std::time::Duration::from_millis(500), events.recv()).await;
    assert!(extra.is_err(), "a room event was published twice: {extra:?}");
    app.stop().await;
}
