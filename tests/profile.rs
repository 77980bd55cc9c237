//! Profiles and avatars through REST and gRPC, on SQLite and PostgreSQL.

mod support;

use std::io::Cursor;

use chat_proto::profile::v1::profile_service_client::ProfileServiceClient;
use chat_proto::profile::v1::{BatchGetProfilesRequest, CreateProfileRequest, UpdateMyProfileRequest};
use image::{DynamicImage, ImageFormat, RgbImage};
use serde_json::{Value, json};
use support::{Backend, TestApp, error_code, error_field, spawn_app};

backend_tests!(
    read_and_edit_my_profile,
    public_profiles_hide_private_fields,
    avatars_are_checked_normalised_and_served,
    failed_uploads_leave_the_avatar_alone,
    grpc_profile_rules,
);

fn token(session: &Value) -> &str {
    session["token"].as_str().unwrap()
}

async fn put_json(app: &TestApp, path: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
    let mut req = app.client.put(app.url(path)).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    TestApp::read(req.send().await.unwrap()).await
}

async fn read_and_edit_my_profile(app: &TestApp) {
    let ana = app.register("me@example.com", "Ana").await;
    let (status, me) = app.get("/profile/me", Some(token(&ana))).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "me@example.com");

    let (status, me) = put_json(
        app,
        "/profile/me",
        &json!({"first_name": "  Ana Maria ", "last_name": "Souza"}),
        Some(token(&ana)),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["first_name"].as_str(), me["last_name"].as_str()),
        (Some("Ana Maria"), Some("Souza"))
    );
    let (_, again) = app.get("/auth/me", Some(token(&ana))).await;
    assert_eq!(again["first_name"], "Ana Maria");

    let cases = [
        (json!({"first_name": "A"}), Some("last_name")),
        (json!({"first_name": "", "last_name": "B"}), Some("first_name")),
        (
            json!({"first_name": "A", "last_name": "x".repeat(101)}),
            Some("last_name"),
        ),
        (
            json!({"first_name": "A", "last_name": "B", "email": "evil@example.com"}),
            Some("email"),
        ),
        (json!({"first_name": 1, "last_name": "B"}), Some("first_name")),
    ];
    for (body, field) in cases {
        let (status, answer) = put_json(app, "/profile/me", &body, Some(token(&ana))).await;
        assert_eq!(
            (status, error_code(&answer)),
            (400, "invalid_argument"),
            "{body} -> {answer}"
        );
        assert_eq!(error_field(&answer), field, "{answer}");
    }
    let (_, me) = app.get("/profile/me", Some(token(&ana))).await;
    assert_eq!(
        (me["first_name"].as_str(), me["email"].as_str()),
        (Some("Ana Maria"), Some("me@example.com"))
    );

    let (status, _) = put_json(app, "/profile/me", &json!({"first_name": "A", "last_name": "B"}), None).await;
    assert_eq!(status, 401);
}

async fn public_profiles_hide_private_fields(app: &TestApp) {
    let ana = app.register("public@example.com", "Ana").await;
    let ben = app.register("viewer@example.com", "Ben").await;
    let id = ana["user"]["id"].as_i64().unwrap();
    let (status, profile) = app.get(&format!("/profile/users/{id}"), Some(token(&ben))).await;
    assert_eq!(status, 200);
    let keys: Vec<&String> = profile.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["avatar_url", "created_at", "first_name", "id", "last_name", "status"]
    );
    assert_eq!(profile["first_name"], "Ana");

    let (status, body) = app.get("/profile/users/424242", Some(token(&ben))).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let (status, body) = app.get("/profile/users/abc", Some(token(&ben))).await;
    assert_eq!((status, error_field(&body)), (400, Some("user_id")));
    let (status, _) = app.get(&format!("/profile/users/{id}"), None).await;
    assert_eq!(status, 401);
}

fn picture(format: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 128]));
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img).write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A JPEG carrying an EXIF block with a GPS IFD (latitude ref "N").
fn jpeg_with_gps() -> Vec<u8> {
    let jpeg = picture(ImageFormat::Jpeg);
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    // IFD0: one entry, GPSInfo (0x8825) -> offset 26.
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x8825u16.to_le_bytes());
    tiff.extend_from_slice(&4u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&26u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD: GPSLatitudeRef (1), ASCII, "N\0".
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&2u32.to_le_bytes());
    tiff.extend_from_slice(b"N\0\0\0");
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A PNG whose header claims 100000×100000 pixels.
fn png_bomb() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

async fn upload(app: &TestApp, token: &str, file_name: &str, mime: &str, data: Vec<u8>) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(data)
        .file_name(file_name.to_owned())
        .mime_str(mime)
        .unwrap();
    let form = reqwest::multipart::Form::new().part("avatar", part);
    let response = app
        .client
        .post(app.url("/profile/me/avatar"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    TestApp::read(response).await
}

async fn fetch(base: &str, path: &str) -> reqwest::Response {
    reqwest::get(format!("{base}{path}")).await.unwrap()
}

async fn avatars_are_checked_normalised_and_served(app: &TestApp) {
    let ana = app.register("pics@example.com", "Ana").await;
    let mut urls = Vec::new();
    for (name, mime, data) in [
        ("a.png", "image/png", picture(ImageFormat::Png)),
        ("a.gif", "image/gif", picture(ImageFormat::Gif)),
        ("a.webp", "image/webp", picture(ImageFormat::WebP)),
        // A lying name and type: judged by content, it is a fine PNG.
        ("a.txt", "text/plain", picture(ImageFormat::Png)),
    ] {
        let (status, me) = upload(app, token(&ana), name, mime, data).await;
        assert_eq!(status, 200, "{name}: {me}");
        urls.push(me["avatar_url"].as_str().unwrap().to_owned());
    }
    let mut unique = urls.clone();
    unique.dedup();
    assert_eq!(unique.len(), urls.len(), "every upload gets a new URL: {urls:?}");

    let gps = jpeg_with_gps();
    assert!(gps.windows(4).any(|w| w == b"Exif"), "the fixture carries EXIF");
    let (status, me) = upload(app, token(&ana), "gps.jpg", "image/jpeg", gps).await;
    assert_eq!(status, 200, "{me}");
    let url = me["avatar_url"].as_str().unwrap();

    let response = fetch(&app.http, url).await;
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["cache-control"].to_str().unwrap().contains("max-age"));
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let served = response.bytes().await.unwrap();
    assert!(
        !served.windows(4).any(|w| w == b"Exif" || w == b"eXIf"),
        "EXIF must be gone"
    );
    let decoded = image::load_from_memory(&served).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (256, 256));

    let cached = app
        .client
        .get(app.url(url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status().as_u16(), 304);

    // The old URL is gone with the old picture.
    let old = fetch(&app.http, &urls[0]).await;
    assert_eq!(old.status().as_u16(), 404);
}

async fn failed_uploads_leave_the_avatar_alone(app: &TestApp) {
    let ana = app.register("keep@example.com", "Ana").await;
    let (status, me) = upload(app, token(&ana), "ok.png", "image/png", picture(ImageFormat::Png)).await;
    assert_eq!(status, 200);
    let url = me["avatar_url"].as_str().unwrap().to_owned();
    let before = fetch(&app.http, &url).await.bytes().await.unwrap();
    let avatars = app.count("profile", "avatars").await;

    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "notes.png",
            "image/png",
            b"just some text, honestly".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "huge.png",
            "image/png",
            vec![0u8; 6 * 1024 * 1024],
            413,
            "payload_too_large",
        ),
        ("bomb.png", "image/png", png_bomb(), 415, "unsupported_media_type"),
        (
            "cut.png",
            "image/png",
            picture(ImageFormat::Png)[..60].to_vec(),
            415,
            "unsupported_media_type",
        ),
        ("empty.png", "image/png", Vec::new(), 415, "unsupported_media_type"),
    ];
    for (name, mime, data, want_status, want_code) in cases {
        let (status, body) = upload(app, token(&ana), name, mime, data).await;
        assert_eq!((status, error_code(&body)), (want_status, want_code), "{name}: {body}");
        let (_, me) = app.get("/profile/me", Some(token(&ana))).await;
        assert_eq!(me["avatar_url"], url.as_str(), "{name} changed the avatar");
    }
    assert_eq!(app.count("profile", "avatars").await, avatars);
    assert_eq!(fetch(&app.http, &url).await.bytes().await.unwrap(), before);

    // Wrong form field, and not multipart at all.
    let part = reqwest::multipart::Part::bytes(picture(ImageFormat::Png)).file_name("a.png");
    let response = app
        .client
        .post(app.url("/profile/me/avatar"))
        .bearer_auth(token(&ana))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let (status, body) = TestApp::read(response).await;
    assert_eq!((status, error_field(&body)), (400, Some("avatar")), "{body}");
    let (status, body) = app
        .send_raw(
            reqwest::Method::POST,
            "/profile/me/avatar",
            "application/json",
            b"{}".to_vec(),
            Some(token(&ana)),
        )
        .await;
    assert_eq!((status, error_code(&body)), (415, "unsupported_media_type"));

    let (status, _) = app.get("/avatars/not-hex!", None).await;
    assert_eq!(status, 404);
}

async fn grpc_profile_rules(app: &TestApp) {
    let ana = app.register("grpc-profile@example.com", "Ana").await;
    let mut client = ProfileServiceClient::new(app.grpc_channel().await);
    let mut request = tonic::Request::new(CreateProfileRequest {
        user_id: 999,
        first_name: "Mallory".into(),
        last_name: "X".into(),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {}", token(&ana)).parse().unwrap());
    // A user token can't create profiles: only the auth service's can.
    let err = client.create_profile(request).await.unwrap_err();
    assert!(
        matches!(err.code(), tonic::Code::Unauthenticated | tonic::Code::PermissionDenied),
        "{err:?}"
    );

    let mut request = tonic::Request::new(UpdateMyProfileRequest {
        first_name: " ".into(),
        last_name: "B".into(),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {}", token(&ana)).parse().unwrap());
    assert_eq!(
        client.update_my_profile(request).await.unwrap_err().code(),
        tonic::Code::InvalidArgument
    );

    let mut request = tonic::Request::new(BatchGetProfilesRequest {
        user_ids: vec![ana["user"]["id"].as_i64().unwrap(), 999],
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {}", token(&ana)).parse().unwrap());
    let profiles = client.batch_get_profiles(request).await.unwrap().into_inner().profiles;
    assert_eq!(profiles.len(), 1);
    assert_eq!(app.count("profile", "profiles").await, 1);
}

/// Two profile-service processes on one PostgreSQL: an avatar uploaded
/// through one is served through the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avatars_are_shared_between_profile_replicas() {
    let app = spawn_app(Backend::Postgres).await;
    let ana = app.register("replica@example.com", "Ana").await;
    let (status, me) = upload(&app, token(&ana), "a.png", "image/png", picture(ImageFormat::Png)).await;
    assert_eq!(status, 200);
    let url = me["avatar_url"].as_str().unwrap().to_owned();

    // A second profile-service process (its own OS process, same
    // PostgreSQL) and a gateway that only talks to it.
    let database_url = app.settings.profile.database_url.expose().to_owned();
    let (_second, second_profile) = support::process::service_process(&app, "profile", &database_url).await;
    let mut settings = app.settings.clone();
    settings
        .gateway
        .peers
        .set(chat_platform::service::Service::Profile, second_profile.clone());
    let gateway = support::ExtraGateway::start(settings).await;
    let second_http = gateway.url.clone();

    let mut served = None;
    for _ in 0..100 {
        let response = fetch(&second_http, &url).await;
        if response.status().is_success() {
            served = Some(response.bytes().await.unwrap());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let served = served.expect("the second replica serves the avatar");
    let original = fetch(&app.http, &url).await.bytes().await.unwrap();
    assert_eq!(served, original);

    gateway.stop().await;
    app.stop().await;
}
