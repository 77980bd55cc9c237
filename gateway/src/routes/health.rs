//! `/health`: the gateway and each backend service it depends on.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    dependencies: BTreeMap<&'static str, &'static str>,
}

async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        let health = Health {
            status: "draining",
            dependencies: BTreeMap::new(),
        };
        return (StatusCode::SERVICE_UNAVAILABLE, Json(health));
    }
    let checks = state.channels.iter().map(|(service, channel)| {
        let mut client = HealthClient::new(channel.clone());
        let request = HealthCheckRequest {
            service: service.grpc_name().to_owned(),
        };
        async move {
            let answer = tokio::time::timeout(Duration::from_secs(2), client.check(request)).await;
            let status = match answer {
                Ok(Ok(r)) if r.get_ref().status() == ServingStatus::Serving => "up",
                Ok(Ok(_)) => "not_serving",
                _ => "down",
            };
            (service.as_str(), status)
        }
    });
    let dependencies: BTreeMap<_, _> = futures::future::join_all(checks).await.into_iter().collect();
    let healthy = dependencies.values().all(|s| *s == "up");
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let status = if healthy { "ok" } else { "degraded" };
    (code, Json(Health { status, dependencies }))
}
