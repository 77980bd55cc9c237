//! `/auth/*`: register, login, refresh, logout and the current user.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_proto::auth::v1::{
    GetMeRequest, LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest, TokenPair, User,
};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{BearerToken, JsonBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
}

/// The user as the REST API shows it.
#[derive(Serialize)]
pub struct UserJson {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub avatar_url: Option<String>,
    pub status: String,
    pub created_at: String,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            avatar_url: Some(u.avatar_url).filter(|s| !s.is_empty()),
            status: u.status,
            created_at: rfc3339(u.create_time),
        }
    }
}

/// RFC 3339 in UTC, as every timestamp leaves the API.
pub fn rfc3339(ts: Option<prost_types::Timestamp>) -> String {
    let ts = ts.unwrap_or_default();
    chrono::DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Serialize)]
struct TokensJson {
    token: String,
    token_expires_at: String,
    refresh_token: String,
    refresh_token_expires_at: String,
}

impl From<TokenPair> for TokensJson {
    fn from(t: TokenPair) -> Self {
        Self {
            token: t.access_token,
            token_expires_at: rfc3339(t.access_token_expire_time),
            refresh_token: t.refresh_token,
            refresh_token_expires_at: rfc3339(t.refresh_token_expire_time),
        }
    }
}

#[derive(Serialize)]
struct SessionJson {
    #[serde(flatten)]
    tokens: TokensJson,
    user: UserJson,
}

#[derive(Deserialize)]
struct RegisterBody {
    email: String,
    password: String,
    first_name: String,
    last_name: String,
}

async fn register(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RegisterBody>,
) -> ApiResult<impl IntoResponse> {
    let response = state
        .auth
        .clone()
        .register(RegisterRequest {
            email: body.email,
            password: body.password,
            first_name: body.first_name,
            last_name: body.last_name,
        })
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(session(response.tokens, response.user))))
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

async fn login(State(state): State<AppState>, JsonBody(body): JsonBody<LoginBody>) -> ApiResult<impl IntoResponse> {
    let response = state
        .auth
        .clone()
        .login(LoginRequest {
            email: body.email,
            password: body.password,
        })
        .await?
        .into_inner();
    Ok(Json(session(response.tokens, response.user)))
}

fn session(tokens: Option<TokenPair>, user: Option<User>) -> SessionJson {
    SessionJson {
        tokens: tokens.unwrap_or_default().into(),
        user: user.unwrap_or_default().into(),
    }
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh(State(state): State<AppState>, JsonBody(body): JsonBody<RefreshBody>) -> ApiResult<impl IntoResponse> {
    let response = state
        .auth
        .clone()
        .refresh(RefreshRequest {
            refresh_token: body.refresh_token,
        })
        .await?
        .into_inner();
    Ok(Json(TokensJson::from(response.tokens.unwrap_or_default())))
}

async fn logout(
    State(state): State<AppState>,
    token: BearerToken,
    JsonBody(body): JsonBody<RefreshBody>,
) -> ApiResult<StatusCode> {
    state
        .auth
        .clone()
        .logout(token.request(LogoutRequest {
            refresh_token: body.refresh_token,
        }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, token: BearerToken) -> ApiResult<Json<UserJson>> {
    let response = state
        .auth
        .clone()
        .get_me(token.request(GetMeRequest {}))
        .await?
        .into_inner();
    Ok(Json(response.user.unwrap_or_default().into()))
}
