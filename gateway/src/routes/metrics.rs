//! `/metrics` (Prometheus text) and the per-route HTTP metrics middleware.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}

async fn render(State(state): State<AppState>) -> impl IntoResponse {
    metrics::gauge!("chat_socketio_connections").set(state.realtime.connections() as f64);
    metrics::gauge!("chat_fanout_rooms_followed").set(state.realtime.rooms_followed().await as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        chat_platform::metrics::handle().render(),
    )
}

/// Counts and times every request by method, matched route and status.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("chat_http_requests_total", &labels).increment(1);
    metrics::histogram!("chat_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}
