//! One trace per user action: a message sent through a gateway process
//! yields spans from the gateway and from the messaging service (this test
//! process) that share one trace id, received by an in-test OTLP collector.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use serde_json::json;
use support::process::gateway_process_with;
use support::sio::SioClient;
use support::{Backend, spawn_app};

/// (service.name, span name, trace id) of one received span.
type Received = (String, String, Vec<u8>);

/// Every span received.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Received>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref())
                .and_then(|v| match &v.value {
                    Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s)) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push((service.clone(), span.name.clone(), span.trace_id.clone()));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_one_trace_across_gateway_and_messaging() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = collector.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(server))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
    });
    // This process runs the services and exports as "chat-services".
    let logs = if std::env::var("TEST_LOG").is_ok() {
        None
    } else {
        Some("off")
    };
    let telemetry = chat_platform::telemetry::init_with("chat-services", Some(&endpoint), logs);

    let app = spawn_app(Backend::Postgres).await;
    let (_gateway, base) = gateway_process_with(
        &app,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    let session = app.register("traced@example.com", "Tia").await;
    let token = session["token"].as_str().unwrap();
    let (_, room) = app
        .post_json("/chat/rooms", &json!({"name": "Traced"}), Some(token))
        .await;
    let room_id = room["id"].as_i64().unwrap();
    let mut client = SioClient::connect(&base, Some(token)).await.unwrap();
    assert_eq!(
        client.emit_ack("join_room", json!({"room_id": room_id})).await["ok"],
        true
    );
    let ack = client
        .emit_ack("send_message", json!({"room_id": room_id, "content": "follow me"}))
        .await;
    assert_eq!(ack["ok"], true);

    let is_gateway_send =
        |(service, name, _): &(String, String, Vec<u8>)| service == "chat-gateway" && name == "socketio";
    let mut shared = None;
    for _ in 0..100 {
        telemetry.flush();
        let spans = collector.0.lock().unwrap().clone();
        // The gateway's send_message event span and the messaging service's
        // SendMessage call span, in one trace.
        let messaging: Vec<_> = spans
            .iter()
            .filter(|(service, name, _)| service == "chat-services" && name == "grpc")
            .map(|(_, _, trace)| trace.clone())
            .collect();
        shared = spans
            .iter()
            .filter(|s| is_gateway_send(s))
            .map(|(_, _, trace)| trace.clone())
            .find(|trace| messaging.contains(trace));
        if shared.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen: std::collections::BTreeSet<(String, String)> = collector
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(s, n, _)| (s.clone(), n.clone()))
        .collect();
    let trace = shared.unwrap_or_else(|| panic!("a gateway span and a service span share a trace id; saw {seen:?}"));
    assert_eq!(trace.len(), 16);
    assert!(trace.iter().any(|b| *b != 0));
    client.close().await;
    app.stop().await;
}
