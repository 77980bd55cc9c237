//! The auth service end to end, through REST and gRPC, on SQLite and PostgreSQL.

mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_proto::auth::v1::auth_service_client::AuthServiceClient;
use chat_proto::auth::v1::{GetMeRequest, LoginRequest, RegisterRequest};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support::{TestApp, error_code, error_field};

backend_tests!(
    full_session_over_rest,
    register_login_get_me_over_grpc,
    malformed_and_mistyped_bodies_are_refused_and_change_nothing,
    registration_rules_are_enforced_and_change_nothing,
    wrong_password_and_unknown_email_look_the_same,
    forged_and_foreign_tokens_are_refused,
    reused_refresh_token_revokes_the_session,
    health_reports_each_dependency,
);

async fn full_session_over_rest(app: &TestApp) {
    // Register: 201 with a token pair and the user.
    let session = app.register("  Ana.Lima@Example.COM ", "Ana").await;
    let user = &session["user"];
    assert_eq!(user["email"], "ana.lima@example.com");
    assert_eq!(user["first_name"], "Ana");
    assert_eq!(user["status"], "offline");
    assert!(user["avatar_url"].is_null());
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));

    // Login with the email in another case.
    let (status, login) = app
        .post_json(
            "/auth/login",
            &json!({"email": "ANA.LIMA@example.com", "password": "Passw0rd!"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().unwrap();

    let (status, me) = app.get("/auth/me", Some(token)).await;
    assert_eq!(status, 200);
    assert_eq!(me["id"], user["id"]);
    assert!(me.get("password_hash").is_none());

    // Refresh rotates the refresh token.
    let old_refresh = login["refresh_token"].as_str().unwrap();
    let (status, pair) = app
        .post_json("/auth/refresh", &json!({"refresh_token": old_refresh}), None)
        .await;
    assert_eq!(status, 200, "{pair}");
    let new_refresh = pair["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, old_refresh);
    let (status, _) = app.get("/auth/me", pair["token"].as_str()).await;
    assert_eq!(status, 200);

    // Logout revokes the session: the current refresh token stops working.
    let (status, body) = app
        .post_json(
            "/auth/logout",
            &json!({"refresh_token": new_refresh}),
            pair["token"].as_str(),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = app
        .post_json("/auth/refresh", &json!({"refresh_token": new_refresh}), None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "unauthenticated");
    // And so does the one rotated away earlier.
    let (status, _) = app
        .post_json("/auth/refresh", &json!({"refresh_token": old_refresh}), None)
        .await;
    assert_eq!(status, 401);

    // Logout needs the access token.
    let (status, _) = app
        .post_json("/auth/logout", &json!({"refresh_token": new_refresh}), None)
        .await;
    assert_eq!(status, 401);
}

async fn register_login_get_me_over_grpc(app: &TestApp) {
    let mut client = AuthServiceClient::new(app.grpc_channel().await);
    let registered = client
        .register(RegisterRequest {
            email: "grpc@example.com".into(),
            password: "Passw0rd!".into(),
            first_name: "Gil".into(),
            last_name: "Rocha".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let user = registered.user.unwrap();
    assert_eq!(user.first_name, "Gil");

    let login = client
        .login(LoginRequest {
            email: "grpc@example.com".into(),
            password: "Passw0rd!".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let token = login.tokens.unwrap().access_token;

    let mut request = tonic::Request::new(GetMeRequest {});
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let me = client.get_me(request).await.unwrap().into_inner().user.unwrap();
    assert_eq!(me.id, user.id);
    assert_eq!(me.email, "grpc@example.com");

    // No token: UNAUTHENTICATED.
    let err = client.get_me(GetMeRequest {}).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);

    // Duplicate over gRPC: ALREADY_EXISTS.
    let err = client
        .register(RegisterRequest {
            email: "GRPC@example.com".into(),
            password: "Passw0rd!".into(),
            first_name: "Gil".into(),
            last_name: "Rocha".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
}

async fn malformed_and_mistyped_bodies_are_refused_and_change_nothing(app: &TestApp) {
    app.register("existing@example.com", "Eve").await;
    let users = app.count("auth", "users").await;
    let tokens = app.count("auth", "refresh_tokens").await;

    let post = |body: &'static str, content_type: &'static str| {
        app.send_raw(
            reqwest::Method::POST,
            "/auth/register",
            content_type,
            body.as_bytes().to_vec(),
            None,
        )
    };

    let (status, body) = post("{\"email\": ", "application/json").await;
    assert_eq!((status, error_code(&body)), (400, "malformed_json"), "{body}");

    let (status, body) = post(
        r#"{"email":"a@example.com","first_name":"A","last_name":"B"}"#,
        "application/json",
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "invalid_argument"), "{body}");
    assert_eq!(error_field(&body), Some("password"));

    let (status, body) = post(
        r#"{"email":12,"password":"Passw0rd!","first_name":"A","last_name":"B"}"#,
        "application/json",
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "invalid_argument"), "{body}");
    assert_eq!(error_field(&body), Some("email"));

    let (status, body) = post(r#"{"email":"a@example.com"}"#, "text/plain").await;
    assert_eq!((status, error_code(&body)), (415, "unsupported_media_type"), "{body}");

    let huge = format!(
        r#"{{"email":"a@example.com","password":"Passw0rd!","first_name":"{}","last_name":"B"}}"#,
        "x".repeat(200 * 1024)
    );
    let (status, body) = app
        .send_raw(
            reqwest::Method::POST,
            "/auth/register",
            "application/json",
            huge.into_bytes(),
            None,
        )
        .await;
    assert_eq!((status, error_code(&body)), (413, "payload_too_large"), "{body}");

    let (status, body) = app.get("/no/such/route", None).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));

    assert_eq!(app.count("auth", "users").await, users);
    assert_eq!(app.count("auth", "refresh_tokens").await, tokens);
    assert_eq!(app.count("profile", "profiles").await, users);

    // Still serving.
    let (status, _) = app
        .post_json(
            "/auth/login",
            &json!({"email": "existing@example.com", "password": "Passw0rd!"}),
            None,
        )
        .await;
    assert_eq!(status, 200);
}

async fn registration_rules_are_enforced_and_change_nothing(app: &TestApp) {
    app.register("taken@example.com", "Tia").await;
    let users = app.count("auth", "users").await;

    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({"email": "x@example.com", "password": "weakpass", "first_name": "A", "last_name": "B"}),
            400,
            "invalid_argument",
            Some("password"),
        ),
        (
            json!({"email": "x@example.com", "password": "Sh0rt", "first_name": "A", "last_name": "B"}),
            400,
            "invalid_argument",
            Some("password"),
        ),
        (
            json!({"email": "x@example.com", "password": "NOLOWER123", "first_name": "A", "last_name": "B"}),
            400,
            "invalid_argument",
            Some("password"),
        ),
        (
            json!({"email": "not-an-email", "password": "Passw0rd!", "first_name": "A", "last_name": "B"}),
            400,
            "invalid_argument",
            Some("email"),
        ),
        (
            json!({"email": "x@example.com", "password": "Passw0rd!", "first_name": "   ", "last_name": "B"}),
            400,
            "invalid_argument",
            Some("first_name"),
        ),
        (
            json!({"email": "x@example.com", "password": "Passw0rd!", "first_name": "A", "last_name": "L".repeat(101)}),
            400,
            "invalid_argument",
            Some("last_name"),
        ),
        (
            json!({"email": "TAKEN@Example.com", "password": "Passw0rd!", "first_name": "A", "last_name": "B"}),
            409,
            "already_exists",
            None,
        ),
    ];
    for (body, want_status, want_code, want_field) in cases {
        let (status, answer) = app.post_json("/auth/register", &body, None).await;
        assert_eq!(
            (status, error_code(&answer)),
            (want_status, want_code),
            "{body} -> {answer}"
        );
        assert_eq!(error_field(&answer), want_field, "{answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(app.count("auth", "users").await, users);
    assert_eq!(app.count("profile", "profiles").await, users);
}

async fn wrong_password_and_unknown_email_look_the_same(app: &TestApp) {
    app.register("known@example.com", "Kim").await;
    let tokens = app.count("auth", "refresh_tokens").await;
    let (s1, wrong) = app
        .post_json(
            "/auth/login",
            &json!({"email": "known@example.com", "password": "Wrong000"}),
            None,
        )
        .await;
    let (s2, unknown) = app
        .post_json(
            "/auth/login",
            &json!({"email": "nobody@example.com", "password": "Wrong000"}),
            None,
        )
        .await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong, unknown, "the two failures must be indistinguishable");
    assert_eq!(error_code(&wrong), "unauthenticated");
    assert_eq!(app.count("auth", "refresh_tokens").await, tokens);
}

fn sign(claims: &Value, key: &EncodingKey, kid: &str) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

async fn forged_and_foreign_tokens_are_refused(app: &TestApp) {
    let session = app.register("victim@example.com", "Vic").await;
    let real = session["token"].as_str().unwrap();
    let kid = jsonwebtoken::decode_header(real).unwrap().kid.unwrap();
    let sub = session["user"]["id"].as_i64().unwrap().to_string();
    let now = chrono::Utc::now().timestamp();
    let claims =
        |exp: i64, aud: &str, iss: &str| json!({"sub": sub, "exp": exp, "iat": now - 10, "iss": iss, "aud": aud});

    let pem = std::fs::read(app.data_dir.join("jwt-ed25519.pem")).unwrap();
    let app_key = EncodingKey::from_ed_pem(&pem).unwrap();
    let other = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let other_key = EncodingKey::from_ed_der(other.to_pkcs8_der().unwrap().as_bytes());

    // Sanity: a token we sign with the app's key and valid claims is accepted,
    // so the refusals below are about the one thing each case changes.
    let good = sign(&claims(now + 600, "chat", "chat-auth"), &app_key, &kid);
    assert_eq!(app.get("/auth/me", Some(&good)).await.0, 200);

    let none_header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#));
    let none_body = URL_SAFE_NO_PAD.encode(claims(now + 600, "chat", "chat-auth").to_string());
    let cases = [
        ("expired", sign(&claims(now - 120, "chat", "chat-auth"), &app_key, &kid)),
        (
            "another key",
            sign(&claims(now + 600, "chat", "chat-auth"), &other_key, &kid),
        ),
        (
            "unknown key id",
            sign(&claims(now + 600, "chat", "chat-auth"), &other_key, "nope"),
        ),
        ("alg none", format!("{none_header}.{none_body}.")),
        (
            "another audience",
            sign(&claims(now + 600, "other-app", "chat-auth"), &app_key, &kid),
        ),
        (
            "another issuer",
            sign(&claims(now + 600, "chat", "evil"), &app_key, &kid),
        ),
        (
            "internal audience",
            sign(&claims(now + 600, "chat-internal", "chat-auth"), &app_key, &kid),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, token) in cases {
        let (status, body) = app.get("/auth/me", Some(&token)).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(error_code(&body), "unauthenticated", "{what}");
    }
    let (status, _) = app.get("/auth/me", None).await;
    assert_eq!(status, 401);
}

async fn reused_refresh_token_revokes_the_session(app: &TestApp) {
    let session = app.register("reuse@example.com", "Rui").await;
    let first = session["refresh_token"].as_str().unwrap().to_owned();
    let (status, pair) = app
        .post_json("/auth/refresh", &json!({"refresh_token": first}), None)
        .await;
    assert_eq!(status, 200);
    let second = pair["refresh_token"].as_str().unwrap().to_owned();

    // The stolen, already-rotated token is replayed.
    let (status, body) = app
        .post_json("/auth/refresh", &json!({"refresh_token": first}), None)
        .await;
    assert_eq!((status, error_code(&body)), (401, "unauthenticated"));
    // Its whole family is gone, including the legitimate newest token.
    let (status, _) = app
        .post_json("/auth/refresh", &json!({"refresh_token": second}), None)
        .await;
    assert_eq!(status, 401);

    // Another session of the same user is untouched.
    let (_, other) = app
        .post_json(
            "/auth/login",
            &json!({"email": "reuse@example.com", "password": "Passw0rd!"}),
            None,
        )
        .await;
    let (status, _) = app
        .post_json("/auth/refresh", &json!({"refresh_token": other["refresh_token"]}), None)
        .await;
    assert_eq!(status, 200);

    let (status, body) = app
        .post_json("/auth/refresh", &json!({"refresh_token": ""}), None)
        .await;
    assert_eq!((status, error_field(&body)), (400, Some("refresh_token")));
}

async fn health_reports_each_dependency(app: &TestApp) {
    let (status, body) = app.get("/health", None).await;
    assert_eq!(status, 200);
    for service in ["auth", "profile", "room", "messaging"] {
        assert_eq!(body["dependencies"][service], "up", "{body}");
    }

    let mut health = tonic_health::pb::health_client::HealthClient::new(app.grpc_channel().await);
    for name in chat_platform::service::Service::all().map(|s| s.grpc_name()) {
        let answer = health
            .check(tonic_health::pb::HealthCheckRequest { service: name.into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer.status(),
            tonic_health::pb::health_check_response::ServingStatus::Serving,
            "{name}"
        );
    }
}
