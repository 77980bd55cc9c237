//! Safe to put on the public internet: data that must not leak, limits
//! that refuse abuse with a clear error and affect nothing else, and
//! sessions that really end. Through the real surfaces (HTTP, Socket.IO,
//! gRPC), on both backends where storage is involved.

mod support;

use std::time::Duration;

use chat_platform::limits::Limits;
use serde_json::{Value, json};
use support::sio::SioClient;
use support::{Backend, TestApp, error_code, error_field, spawn_app, spawn_app_with};

backend_tests!(
    history_over_rest_is_for_members_only,
    no_surface_shows_another_users_email,
    one_client_msg_id_in_two_rooms_stores_both,
    catch_up_from_zero_in_a_long_room_is_one_page,
    blocklisted_passwords_are_refused,
);

struct User {
    token: String,
    refresh: String,
    id: i64,
}

async fn user(app: &TestApp, email: &str, name: &str) -> User {
    let session = app.register(email, name).await;
    User {
        token: session["token"].as_str().unwrap().to_owned(),
        refresh: session["refresh_token"].as_str().unwrap().to_owned(),
        id: session["user"]["id"].as_i64().unwrap(),
    }
}

async fn login(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    app.post_json("/auth/login", &json!({"email": email, "password": password}), None)
        .await
}

async fn room(app: &TestApp, owner: &User, name: &str) -> i64 {
    let (status, room) = app
        .post_json("/chat/rooms", &json!({ "name": name }), Some(&owner.token))
        .await;
    assert_eq!(status, 201, "{room}");
    room["id"].as_i64().unwrap()
}

async fn join(app: &TestApp, who: &User, room_id: i64) {
    let (status, body) = app
        .post_json(&format!("/chat/rooms/{room_id}/join"), &json!({}), Some(&who.token))
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn connect(base: &str, who: &User) -> SioClient {
    let mut client = SioClient::connect(base, Some(&who.token)).await.unwrap();
    client.expect("connected").await;
    client
}

/// Sends `n` messages into `room_id` over gRPC, a few at a time.
async fn send_many(app: &TestApp, who: &User, room_id: i64, n: usize) {
    use chat_proto::messaging::v1::SendMessageRequest;
    use chat_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
    let client = MessagingServiceClient::new(app.grpc_channel().await);
    let mut pending = futures::stream::FuturesOrdered::new();
    for i in 0..n {
        let mut client = client.clone();
        let request = chat_platform::token::with_bearer(
            tonic::Request::new(SendMessageRequest {
                room_id,
                content: format!("m{i}"),
                client_msg_id: String::new(),
                mentions: Vec::new(),
            }),
            &who.token,
        );
        pending.push_back(async move { client.send_message(request).await.unwrap() });
        if pending.len() >= 16 {
            futures::StreamExt::next(&mut pending).await;
        }
    }
    while futures::StreamExt::next(&mut pending).await.is_some() {}
}

async fn history_over_rest_is_for_members_only(app: &TestApp) {
    let ana = user(app, "hist-ana@example.com", "Ana").await;
    let ben = user(app, "hist-ben@example.com", "Ben").await;
    let room_id = room(app, &ana, "History").await;
    send_many(app, &ana, room_id, 60).await;

    let (status, page) = app
        .get(&format!("/chat/rooms/{room_id}/messages"), Some(&ana.token))
        .await;
    assert_eq!(status, 200, "{page}");
    let seqs: Vec<i64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (11..=60).collect::<Vec<_>>(), "the latest 50, oldest first");
    assert_eq!(page["has_more"], true);

    let (_, older) = app
        .get(
            &format!("/chat/rooms/{room_id}/messages?limit=100&before=11"),
            Some(&ana.token),
        )
        .await;
    assert_eq!(older["messages"].as_array().unwrap().len(), 10);
    assert_eq!(older["has_more"], false);

    let (status, body) = app
        .get(&format!("/chat/rooms/{room_id}/messages"), Some(&ben.token))
        .await;
    assert_eq!((status, error_code(&body)), (403, "permission_denied"), "{body}");
    let (status, _) = app.get("/chat/rooms/999999/messages", Some(&ana.token)).await;
    assert_eq!(status, 404);
    let (status, body) = app
        .get(&format!("/chat/rooms/{room_id}/messages?limit=101"), Some(&ana.token))
        .await;
    assert_eq!((status, error_field(&body)), (400, Some("limit")), "{body}");
    let (status, body) = app
        .get(&format!("/chat/rooms/{room_id}/messages?before=x"), Some(&ana.token))
        .await;
    assert_eq!((status, error_field(&body)), (400, Some("before")), "{body}");
    let (status, _) = app.get(&format!("/chat/rooms/{room_id}/messages"), None).await;
    assert_eq!(status, 401);
}

async fn no_surface_shows_another_users_email(app: &TestApp) {
    use chat_proto::messaging::v1::ListMessagesRequest;
    use chat_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
    let ana = user(app, "secret-ana@example.com", "Ana").await;
    let ben = user(app, "secret-ben@example.com", "Ben").await;
    let room_id = room(app, &ana, "Private addresses").await;
    join(app, &ben, room_id).await;

    let mut b = connect(&app.http, &ben).await;
    let joined = b.emit_ack("join_room", json!({"room_id": room_id})).await;
    assert_eq!(joined["ok"], true);
    let mut a = connect(&app.http, &ana).await;
    a.emit_ack("join_room", json!({"room_id": room_id})).await;
    let ack = a
        .emit_ack("send_message", json!({"room_id": room_id, "content": "hello"}))
        .await;
    let live = b.expect("new_message").await;
    b.emit_ack("join_room", json!({"room_id": room_id, "since": 0})).await;
    let history = b.expect("messages_history").await;
    let (_, rest) = app
        .get(&format!("/chat/rooms/{room_id}/messages"), Some(&ben.token))
        .await;
    let (_, members) = app
        .get(&format!("/chat/rooms/{room_id}/members"), Some(&ben.token))
        .await;
    let (_, profile) = app.get(&format!("/profile/users/{}", ana.id), Some(&ben.token)).await;
    let (_, rooms) = app.get("/chat/rooms", Some(&ben.token)).await;
    for (surface, value) in [
        ("ack", &ack),
        ("new_message", &live),
        ("messages_history", &history),
        ("REST history", &rest),
        ("members", &members),
        ("profile", &profile),
        ("rooms", &rooms),
    ] {
        assert!(
            !value.to_string().contains("secret-ana@"),
            "{surface} carries Ana's email: {value}"
        );
    }
    assert_eq!(live["user"]["first_name"], "Ana");

    let mut grpc = MessagingServiceClient::new(app.grpc_channel().await);
    let page = grpc
        .list_messages(chat_platform::token::with_bearer(
            tonic::Request::new(ListMessagesRequest {
                room_id,
                ..Default::default()
            }),
            &ben.token,
        ))
        .await
        .unwrap()
        .into_inner();
    #[allow(deprecated)]
    let email = page.messages[0].sender.as_ref().unwrap().email.clone();
    assert_eq!(email, "", "gRPC carries no email either");
    a.close().await;
    b.close().await;
}

async fn one_client_msg_id_in_two_rooms_stores_both(app: &TestApp) {
    let ana = user(app, "idem-ana@example.com", "Ana").await;
    let first = room(app, &ana, "First").await;
    let second = room(app, &ana, "Second").await;
    let mut a = connect(&app.http, &ana).await;
    let one = a
        .emit_ack(
            "send_message",
            json!({"room_id": first, "content": "one", "client_msg_id": "c-1"}),
        )
        .await;
    let two = a
        .emit_ack(
            "send_message",
            json!({"room_id": second, "content": "two", "client_msg_id": "c-1"}),
        )
        .await;
    assert_eq!(
        (one["created"].as_bool(), two["created"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(two["message"]["room_id"], second);
    assert_eq!(two["message"]["content"], "two");
    assert_eq!(app.count("messaging", "messages").await, 2);
    // The same key in the same room is still one message.
    let again = a
        .emit_ack(
            "send_message",
            json!({"room_id": second, "content": "two", "client_msg_id": "c-1"}),
        )
        .await;
    assert_eq!(again["created"], false);
    assert_eq!(again["message"]["id"], two["message"]["id"]);
    assert_eq!(app.count("messaging", "messages").await, 2);
    a.close().await;
}

async fn catch_up_from_zero_in_a_long_room_is_one_page(app: &TestApp) {
    let ana = user(app, "long-ana@example.com", "Ana").await;
    let room_id = room(app, &ana, "Long").await;
    send_many(app, &ana, room_id, 1000).await;
    let mut a = connect(&app.http, &ana).await;
    let ack = a.emit_ack("join_room", json!({"room_id": room_id, "since": 0})).await;
    assert_eq!(ack["ok"], true, "{ack}");
    let history = a.expect("messages_history").await;
    let seqs: Vec<i64> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (801..=1000).collect::<Vec<_>>(), "the newest page, in order");
    assert_eq!(history["has_more"], true);
    // The client pages back for the rest.
    let older = a
        .emit_ack("get_messages", json!({"room_id": room_id, "before": 801, "limit": 100}))
        .await;
    assert_eq!(
        (older["count"].as_i64(), older["has_more"].as_bool()),
        (Some(100), Some(true))
    );
    a.close().await;
}

async fn blocklisted_passwords_are_refused(app: &TestApp) {
    use chat_proto::auth::v1::RegisterRequest;
    use chat_proto::auth::v1::auth_service_client::AuthServiceClient;
    let (status, body) = app
        .post_json(
            "/auth/register",
            &json!({"email": "weak@example.com", "password": "Password1", "first_name": "W", "last_name": "K"}),
            None,
        )
        .await;
    assert_eq!((status, error_field(&body)), (400, Some("password")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("common"), "{body}");
    let err = AuthServiceClient::new(app.grpc_channel().await)
        .register(RegisterRequest {
            email: "weak@example.com".into(),
            password: "Qwerty123".into(),
            first_name: "W".into(),
            last_name: "K".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(app.count("auth", "users").await, 0);
}

fn with_default_limits(settings: &mut chat::Settings) {
    support::set_limits(settings, Limits::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_31st_wrong_password_in_a_minute_is_refused_while_others_log_in() {
    use chat_proto::auth::v1::LoginRequest;
    use chat_proto::auth::v1::auth_service_client::AuthServiceClient;
    let app = spawn_app_with(Backend::Sqlite, with_default_limits).await;
    app.register("target@example.com", "Target").await;
    app.register("bystander@example.com", "Bystander").await;
    // 30 wrong guesses a minute are answered; then 429. The quota refills
    // one guess every 2 s, so on a slow machine (each guess is an argon2
    // verification) a few more get through: as many as the time taken
    // allows, and not one more.
    let started = std::time::Instant::now();
    let mut attempt = 0;
    let response = loop {
        attempt += 1;
        let response = app
            .client
            .post(app.url("/auth/login"))
            .json(&json!({"email": "target@example.com", "password": "Wrong-guess-1"}))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            break response;
        }
        let (status, body) = TestApp::read(response).await;
        assert_eq!(
            (status, error_code(&body)),
            (401, "unauthenticated"),
            "attempt {attempt}"
        );
        let refilled = started.elapsed().as_secs() / 2 + 1;
        assert!(
            attempt <= 30 + refilled,
            "attempt {attempt} answered after {:?}",
            started.elapsed()
        );
    };
    assert!(attempt > 30, "refused at attempt {attempt}, before 30 guesses");
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let (status, body) = TestApp::read(response).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"), "{body}");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    // Right away, over gRPC, the locked account gets RESOURCE_EXHAUSTED,
    // even with the right password (or guessing would go on). The lock
    // lasts until the quota refills by one (2 s at 30 a minute).
    let err = AuthServiceClient::new(app.grpc_channel().await)
        .login(LoginRequest {
            email: "target@example.com".into(),
            password: "Passw0rd!".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    // Another account is not starved.
    let (status, _) = login(&app, "bystander@example.com", "Passw0rd!").await;
    assert_eq!(status, 200);
    // And the owner is back within the window.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let (status, _) = login(&app, "target@example.com", "Passw0rd!").await;
    assert_eq!(status, 200, "the owner can log in again after Retry-After");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_is_throttled_on_sign_in_paths() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        support::set_limits(
            settings,
            Limits {
                auth_requests_per_minute: 5,
                ..Limits::default()
            },
        )
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let (status, _) = login(&app, &format!("nobody{i}@example.com"), "Wrong-guess-1").await;
        statuses.push(status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_over_its_send_rate_is_told_when_to_retry() {
    let app = spawn_app_with(Backend::Sqlite, with_default_limits).await;
    let ana = user(&app, "fast@example.com", "Ana").await;
    let room_id = room(&app, &ana, "Busy").await;
    let mut a = connect(&app.http, &ana).await;
    a.emit_ack("join_room", json!({"room_id": room_id})).await;
    // Fifteen at once: the burst of ten goes through, the rest are refused
    // with when to retry.
    for i in 0..15 {
        a.emit(
            "send_message",
            json!({"room_id": room_id, "content": format!("burst {i}")}),
        );
    }
    let mut stored: i64 = 0;
    let mut refused = Vec::new();
    while stored + (refused.len() as i64) < 15 {
        match a.recv().await.expect("an answer to every send") {
            (name, _) if name == "new_message" => stored += 1,
            (name, error) if name == "error" => refused.push(error),
            _ => {}
        }
    }
    assert!((10..=11).contains(&stored), "{stored} stored of the burst");
    let error = &refused[0];
    assert_eq!(
        (error["code"].as_str(), error["event"].as_str()),
        (Some("rate_limited"), Some("send_message")),
        "{error}"
    );
    let wait = error["retry_after_ms"].as_u64().unwrap();
    assert!((1..=1000).contains(&wait), "{error}");
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    let later = a
        .emit_ack("send_message", json!({"room_id": room_id, "content": "after waiting"}))
        .await;
    assert_eq!(later["ok"], true, "{later}");
    assert_eq!(app.count("messaging", "messages").await, stored + 1);
    a.close().await;
    app.stop().await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_mebibyte_frame_closes_only_that_connection() {
    let app = spawn_app(Backend::Sqlite).await;
    let ana = user(&app, "frame-ana@example.com", "Ana").await;
    let ben = user(&app, "frame-ben@example.com", "Ben").await;
    let room_id = room(&app, &ana, "Frames").await;
    join(&app, &ben, room_id).await;
    let mut b = connect(&app.http, &ben).await;
    b.emit_ack("join_room", json!({"room_id": room_id})).await;
    let big = connect(&app.http, &ana).await;
    big.emit(
        "send_message",
        json!({"room_id": room_id, "content": "x".repeat(1024 * 1024)}),
    );
    assert!(
        big.closed_within(Duration::from_secs(5)).await,
        "the big frame closed its connection"
    );
    // Everyone else carries on.
    assert!(b.alive().await);
    let mut a = connect(&app.http, &ana).await;
    let ok = a
        .emit_ack("send_message", json!({"room_id": room_id, "content": "small"}))
        .await;
    assert_eq!(ok["ok"], true);
    assert_eq!(b.expect("new_message").await["content"], "small");
    assert_eq!(app.count("messaging", "messages").await, 1);
    a.close().await;
    b.close().await;
    app.stop().await;
}

/// Two gateways on one bus (PostgreSQL + Redis).
async fn two_gateways() -> (TestApp, support::ExtraGateway) {
    let app = spawn_app(Backend::Postgres).await;
    let second = support::ExtraGateway::start(app.settings.clone()).await;
    (app, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_closes_the_sessions_sockets_and_streams_everywhere_within_2_s() {
    use chat_proto::messaging::v1::StreamEventsRequest;
    use chat_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
    let (app, second) = two_gateways().await;
    let ana = user(&app, "leaving@example.com", "Ana").await;
    let (_, other_login) = login(&app, "leaving@example.com", "Passw0rd!").await;
    let other_token = other_login["token"].as_str().unwrap().to_owned();
    let room_id = room(&app, &ana, "Goodbyes").await;
    let mut sockets = Vec::new();
    for base in [&app.http, &second.url] {
        let mut s = connect(base, &ana).await;
        s.emit_ack("join_room", json!({"room_id": room_id})).await;
        sockets.push(s);
    }
    // The same user's other session (another device) must survive.
    let mut other = SioClient::connect(&second.url, Some(&other_token)).await.unwrap();
    other.expect("connected").await;
    let mut stream = MessagingServiceClient::new(app.grpc_channel().await)
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

    let started = tokio::time::Instant::now();
    let (status, _) = app
        .post_json("/auth/logout", &json!({"refresh_token": ana.refresh}), Some(&ana.token))
        .await;
    assert_eq!(status, 204);
    for s in &sockets {
        assert!(
            s.closed_within(Duration::from_secs(2)).await,
            "a socket of the session is closed"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(2) + Duration::from_millis(500));
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => return None,
                Err(status) => return Some(status.code()),
            }
        }
    })
    .await
    .expect("the stream ends within 2 s");
    assert_eq!(ended, Some(tonic::Code::Unauthenticated));
    // The ended session's access token is refused everywhere; the other works.
    let (status, _) = app.get("/auth/me", Some(&ana.token)).await;
    assert_eq!(status, 401);
    let (status, _) = app.get("/auth/me", Some(&other_token)).await;
    assert_eq!(status, 200);
    assert!(other.alive().await, "another session's socket stays");
    other.close().await;
    second.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_out_everywhere_ends_every_session() {
    let app = spawn_app(Backend::Sqlite).await;
    let ana = user(&app, "everywhere@example.com", "Ana").await;
    let (_, phone) = login(&app, "everywhere@example.com", "Passw0rd!").await;
    let mut socket = connect(&app.http, &ana).await;
    let (status, body) = app.post_json("/auth/logout-all", &json!({}), Some(&ana.token)).await;
    assert_eq!((status, body["ended_sessions"].as_i64()), (200, Some(2)), "{body}");
    assert!(socket.closed_within(Duration::from_secs(2)).await);
    for token in [ana.token.as_str(), phone["token"].as_str().unwrap()] {
        assert_eq!(app.get("/auth/me", Some(token)).await.0, 401);
    }
    for refresh in [ana.refresh.as_str(), phone["refresh_token"].as_str().unwrap()] {
        let (status, _) = app
            .post_json("/auth/refresh", &json!({"refresh_token": refresh}), None)
            .await;
        assert_eq!(status, 401);
    }
    // Signing in again works.
    assert_eq!(login(&app, "everywhere@example.com", "Passw0rd!").await.0, 200);
    let _ = socket.alive().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_refresh_token_ends_its_session_and_sockets() {
    let app = spawn_app(Backend::Sqlite).await;
    let ana = user(&app, "reuse-session@example.com", "Ana").await;
    let (_, rotated) = app
        .post_json("/auth/refresh", &json!({"refresh_token": ana.refresh}), None)
        .await;
    let fresh = rotated["token"].as_str().unwrap().to_owned();
    let mut socket = SioClient::connect(&app.http, Some(&fresh)).await.unwrap();
    socket.expect("connected").await;
    // Someone replays the old refresh token: the whole family ends.
    let (status, _) = app
        .post_json("/auth/refresh", &json!({"refresh_token": ana.refresh}), None)
        .await;
    assert_eq!(status, 401);
    assert!(socket.closed_within(Duration::from_secs(2)).await);
    assert_eq!(app.get("/auth/me", Some(&fresh)).await.0, 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_is_closed_when_its_token_expires() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.auth.access_token_ttl = Duration::from_secs(2)).await;
    let ana = user(&app, "expiring@example.com", "Ana").await;
    let mut socket = connect(&app.http, &ana).await;
    let error = socket.expect("error").await;
    assert_eq!(error["code"], "token_expired", "{error}");
    assert!(socket.closed_within(Duration::from_secs(3)).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_at_its_absolute_lifetime_however_often_refreshed() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.auth.session_lifetime = Duration::from_secs(1)).await;
    let ana = user(&app, "lifetime@example.com", "Ana").await;
    let (status, body) = app
        .post_json("/auth/refresh", &json!({"refresh_token": ana.refresh}), None)
        .await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, _) = app
        .post_json("/auth/refresh", &json!({"refresh_token": body["refresh_token"]}), None)
        .await;
    assert_eq!(status, 401, "the session is past its lifetime");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_over_rest_stops_deliveries_on_every_gateway() {
    let (app, second) = two_gateways().await;
    let ana = user(&app, "rest-leaver@example.com", "Ana").await;
    let ben = user(&app, "rest-stayer@example.com", "Ben").await;
    let room_id = room(&app, &ben, "Leaving").await;
    join(&app, &ana, room_id).await;
    let mut ana_sockets = Vec::new();
    for base in [&app.http, &second.url] {
        let mut s = connect(base, &ana).await;
        s.emit_ack("join_room", json!({"room_id": room_id})).await;
        ana_sockets.push(s);
    }
    let mut b = connect(&app.http, &ben).await;
    b.emit_ack("join_room", json!({"room_id": room_id})).await;
    let (status, _) = app
        .post_json(&format!("/chat/rooms/{room_id}/leave"), &json!({}), Some(&ana.token))
        .await;
    assert_eq!(status, 200);
    // Every socket of Ana's hears that she left, then nothing more from the room.
    for s in &mut ana_sockets {
        let left = s.expect("user_left").await;
        assert_eq!(left["user"]["id"], ana.id);
    }
    assert_eq!(b.expect("user_left").await["user"]["id"], ana.id);
    b.emit_ack("send_message", json!({"room_id": room_id, "content": "after she left"}))
        .await;
    assert_eq!(b.expect("new_message").await["content"], "after she left");
    for s in &mut ana_sockets {
        let events = s.drain(Duration::from_millis(800)).await;
        assert!(
            !events.iter().any(|(name, _)| name == "new_message"),
            "a left room still delivers: {events:?}"
        );
    }
    second.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disallowed_origins_are_refused_and_listed_ones_get_cors() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        let origins = chat_platform::web::OriginPolicy::parse("https://app.example.com").unwrap();
        s.gateway.origins = origins.clone();
        s.shared.origins = origins;
    })
    .await;
    let ana = user(&app, "origin@example.com", "Ana").await;
    let get = |origin: Option<&'static str>| {
        let mut request = app.client.get(app.url("/auth/me")).bearer_auth(&ana.token);
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        request.send()
    };
    let refused = get(Some("https://evil.example")).await.unwrap();
    let (status, body) = TestApp::read(refused).await;
    assert_eq!((status, error_code(&body)), (403, "origin_not_allowed"));
    assert_eq!(get(None).await.unwrap().status(), 200, "no Origin: a native client");
    let listed = get(Some("https://app.example.com")).await.unwrap();
    assert_eq!(listed.status(), 200);
    assert_eq!(
        listed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let same = app.http.clone();
    assert_eq!(get(Some(Box::leak(same.into_boxed_str()))).await.unwrap().status(), 200);

    // WebSockets: a foreign page can't open one; a listed one can.
    let foreign = SioClient::connect_from(
        &app.http,
        "",
        Some(json!({"token": ana.token})),
        Some("https://evil.example"),
    )
    .await;
    assert!(foreign.is_err(), "a foreign origin's WebSocket is refused");
    let listed = SioClient::connect_from(
        &app.http,
        "",
        Some(json!({"token": ana.token})),
        Some("https://app.example.com"),
    )
    .await;
    assert!(listed.is_ok());
    listed.unwrap().close().await;

    // gRPC-Web from a listed origin: the preflight succeeds.
    let preflight = |origin: &'static str| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/chat.auth.v1.AuthService/GetMe", app.grpc),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-grpc-web,authorization",
            )
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert!(ok.status().is_success(), "preflight answered {}", ok.status());
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(preflight("https://evil.example").await.unwrap().status(), 403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_may_create_only_so_many_rooms() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        support::set_limits(
            s,
            Limits {
                rooms_per_user: 2,
                ..Limits::without_rate_limits()
            },
        )
    })
    .await;
    let ana = user(&app, "quota@example.com", "Ana").await;
    room(&app, &ana, "One").await;
    room(&app, &ana, "Two").await;
    let (status, body) = app
        .post_json("/chat/rooms", &json!({"name": "Three"}), Some(&ana.token))
        .await;
    assert_eq!((status, error_code(&body)), (403, "quota_exceeded"), "{body}");
    assert_eq!(app.count("room", "rooms").await, 2);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_rpc_paths_share_one_metrics_label() {
    let app = spawn_app(Backend::Sqlite).await;
    let junk = "/chat.auth.v1.AuthService/NoSuchRpc7f3a";
    let _ = app
        .client
        .post(format!("{}{junk}", app.grpc))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(vec![0u8, 0, 0, 0, 0])
        .send()
        .await
        .unwrap();
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("NoSuchRpc7f3a"), "a random path became a label");
    assert!(
        metrics.contains(r#"rpc="unmatched""#),
        "unknown RPCs are counted under one label"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_avatar_is_refused_by_its_dimensions() {
    use image::{DynamicImage, ImageFormat, RgbImage};
    let app = spawn_app(Backend::Sqlite).await;
    let ana = user(&app, "wide@example.com", "Ana").await;
    let mut png = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(RgbImage::new(5000, 4))
        .write_to(&mut png, ImageFormat::Png)
        .unwrap();
    let part = reqwest::multipart::Part::bytes(png.into_inner())
        .file_name("wide.png")
        .mime_str("image/png")
        .unwrap();
    let response = app
        .client
        .post(app.url("/profile/me/avatar"))
        .bearer_auth(&ana.token)
        .multipart(reqwest::multipart::Form::new().part("avatar", part))
        .send()
        .await
        .unwrap();
    let (status, body) = TestApp::read(response).await;
    assert_eq!((status, error_code(&body)), (415, "unsupported_media_type"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("4096"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_short_internal_secret_stops_the_process_at_start() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("internal-secret"), "").unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat"))
        .arg("auth")
        .env_clear()
        .env("DATA_DIR", data.path())
        .env("GRPC_ADDR", "127.0.0.1:0")
        .env("METRICS_ADDR", "127.0.0.1:0")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("internal-secret") && stderr.contains("at least 16"),
        "{stderr}"
    );

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat"))
        .arg("auth")
        .env_clear()
        .env("INTERNAL_SECRET", "short")
        .env("DATA_DIR", data.path())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("INTERNAL_SECRET"));
}
