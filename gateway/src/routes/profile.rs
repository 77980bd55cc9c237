//! `/profile/*` and `/avatars/*`: your profile, public profiles, avatars.

use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_platform::domain::MAX_AVATAR_BYTES;
use chat_proto::profile::v1::{
    GetAvatarRequest, GetProfileRequest, SearchProfilesRequest, UpdateMyProfileRequest, UploadAvatarRequest,
};
use chat_proto::room::v1::ListContactsRequest;
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{BearerToken, JsonBody, parse_id};
use crate::json::{ProfileJson, UserJson};
use crate::routes::auth::me;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile/me", get(me).put(update))
        .route(
            "/profile/me/avatar",
            // Room for the multipart framing; the file itself is counted below.
            post(upload_avatar).layer(axum::extract::DefaultBodyLimit::max(MAX_AVATAR_BYTES + 64 * 1024)),
        )
        .route("/profile/users", get(search))
        .route("/profile/users/{id}", get(public_profile))
        .route("/avatars/{id}", get(avatar))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateBody {
    first_name: String,
    last_name: String,
}

async fn update(
    State(state): State<AppState>,
    token: BearerToken,
    JsonBody(body): JsonBody<UpdateBody>,
) -> ApiResult<Json<UserJson>> {
    state
        .profile
        .clone()
        .update_my_profile(token.request(UpdateMyProfileRequest {
            first_name: body.first_name,
            last_name: body.last_name,
        }))
        .await?;
    me(State(state), token).await
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("avatar must be at most {} MB", MAX_AVATAR_BYTES / (1024 * 1024)),
    )
}

async fn upload_avatar(
    State(state): State<AppState>,
    token: BearerToken,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Json<UserJson>> {
    let mut multipart = multipart.map_err(|_| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected a multipart/form-data body with the file in field `avatar`",
        )
    })?;
    let read_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("malformed multipart body: {}", e.body_text()),
            )
        }
    };
    let mut data: Option<Vec<u8>> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(read_error)? {
        if field.name() != Some("avatar") {
            continue;
        }
        let mut buffer = Vec::new();
        // Counted as it streams in: reading stops at the limit.
        while let Some(chunk) = field.chunk().await.map_err(read_error)? {
            if buffer.len() + chunk.len() > MAX_AVATAR_BYTES {
                return Err(too_large());
            }
            buffer.extend_from_slice(&chunk);
        }
        data = Some(buffer);
        break;
    }
    let data = data.ok_or_else(|| ApiError::invalid("avatar", "the image must be in form field `avatar`"))?;
    let chunks: Vec<UploadAvatarRequest> = data
        .chunks(64 * 1024)
        .map(|c| UploadAvatarRequest { chunk: c.to_vec() })
        .collect();
    let result = state
        .profile
        .clone()
        .upload_avatar(token.request(futures::stream::iter(chunks)))
        .await;
    result?;
    me(State(state), token).await
}

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    query: Option<String>,
    limit: Option<String>,
}

/// `GET /profile/users?query=ana&limit=20`: people whose first, last or full
/// name starts with `query`, those who share a room with the caller first.
async fn search(
    State(state): State<AppState>,
    token: BearerToken,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let query = q.query.unwrap_or_default();
    if query.trim().is_empty() {
        return Err(ApiError::invalid("query", "query must not be empty"));
    }
    let page_size = match q.limit.as_deref() {
        None | Some("") => 0,
        Some(raw) => raw
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=50).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", "limit must be an integer from 1 to 50"))?,
    };
    let contacts = state
        .room
        .clone()
        .list_contacts(token.request(ListContactsRequest { page_size: 1000 }))
        .await?
        .into_inner()
        .user_ids;
    let profiles = state
        .profile
        .clone()
        .search_profiles(token.request(SearchProfilesRequest {
            query,
            page_size,
            prefer_user_ids: contacts,
        }))
        .await?
        .into_inner()
        .profiles;
    let users: Vec<ProfileJson> = profiles.into_iter().map(Into::into).collect();
    Ok(Json(serde_json::json!({ "users": users })))
}

async fn public_profile(
    State(state): State<AppState>,
    token: BearerToken,
    Path(id): Path<String>,
) -> ApiResult<Json<ProfileJson>> {
    let user_id = parse_id(&id, "user_id")?;
    let profile = state
        .profile
        .clone()
        .get_profile(token.request(GetProfileRequest { user_id }))
        .await?
        .into_inner()
        .profile
        .unwrap_or_default();
    Ok(Json(profile.into()))
}

async fn avatar(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> ApiResult<Response> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::not_found("avatar not found"));
    }
    // An avatar id never changes its bytes, so its id is a strong ETag.
    let etag = format!("\"{id}\"");
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response
            .headers_mut()
            .insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex etag"));
        response.headers_mut().insert(header::CACHE_CONTROL, cache);
        return Ok(response);
    }
    let image = state
        .profile
        .clone()
        .get_avatar(GetAvatarRequest { avatar_id: id })
        .await?
        .into_inner();
    let content_type = match image.content_type.as_str() {
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" => image.content_type.clone(),
        _ => "application/octet-stream".into(),
    };
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, cache)
        .header(header::CONTENT_SECURITY_POLICY, "default-src 'none'")
        .body(Body::from(image.data))
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}
