//! Logs and traces.
//!
//! Logs are human-readable by default and JSON with `LOG_FORMAT=json`.
//! Traces go out over OTLP/gRPC when `OTEL_EXPORTER_OTLP_ENDPOINT` is set;
//! without it no exporter or OpenTelemetry layer exists at all. W3C trace
//! context travels in gRPC metadata ([`inject`], and the server span made by
//! [`grpc_span`]), so one user action is one trace across processes.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Keeps the trace pipeline alive; flushes on [`Telemetry::shutdown`].
#[derive(Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends every finished span now.
    pub fn flush(&self) {
        if let Some(p) = &self.provider {
            let _ = p.force_flush();
        }
    }

    pub fn shutdown(self) {
        if let Some(p) = self.provider {
            let _ = p.force_flush();
            let _ = p.shutdown();
        }
    }
}

/// Installs the global subscriber from the environment. Safe to call more than once.
pub fn init(service_name: &str) -> Telemetry {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty());
    init_with(service_name, endpoint.as_deref(), None)
}

/// Like [`init`], with the OTLP endpoint given and, optionally, the log
/// filter (tests pass `off` to stay quiet).
pub fn init_with(service_name: &str, otlp_endpoint: Option<&str>, log_filter: Option<&str>) -> Telemetry {
    let filter = match log_filter {
        Some(f) => EnvFilter::new(f),
        None => EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,h2=warn,tower=warn,hyper=warn,opentelemetry=warn")),
    };
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let provider = otlp_endpoint.and_then(|endpoint| match exporter(endpoint) {
        Ok(exporter) => {
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name(service_name.to_owned())
                .build();
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource)
                    .build(),
            )
        }
        Err(e) => {
            eprintln!("tracing export disabled: {e}");
            None
        }
    });
    // Spans are exported at info whatever RUST_LOG says about log lines.
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("chat"))
            .with_filter(EnvFilter::new(
                "info,h2=off,hyper=off,tower=off,sqlx=off,opentelemetry=off",
            ))
    });
    if provider.is_some() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    }
    let registry = tracing_subscriber::registry().with(otel);
    let _ = if json {
        let logs = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true);
        registry.with(logs.with_filter(filter)).try_init()
    } else {
        let logs = tracing_subscriber::fmt::layer().with_target(true);
        registry.with(logs.with_filter(filter)).try_init()
    };
    Telemetry { provider }
}

fn exporter(endpoint: &str) -> anyhow::Result<opentelemetry_otlp::SpanExporter> {
    use opentelemetry_otlp::WithExportConfig;
    Ok(opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?)
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Puts the current span's W3C trace context on an outgoing gRPC request.
pub fn inject(metadata: &mut tonic::metadata::MetadataMap) {
    let context = tracing::Span::current().context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut MetadataInjector(metadata));
    }
}

/// The span of one incoming gRPC call, continuing the caller's trace.
pub fn grpc_span(request: &http::Request<()>) -> tracing::Span {
    let span = tracing::info_span!("grpc", rpc = %request.uri().path(), trace_id = tracing::field::Empty);
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(request.headers()));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    record_trace_id(&span);
    span
}

/// Puts the span's trace id in its `trace_id` field, so every log line
/// inside it carries the id.
pub fn record_trace_id(span: &tracing::Span) {
    let id = span.context().span().span_context().trace_id();
    if id != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(id));
    }
}
