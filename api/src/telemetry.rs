//! Logging: `tracing` to stderr, as text or JSON lines; `RUST_LOG` filters (default `info`).
//! Traces: every span gets W3C ids (trace context in and out of HTTP) and, when configured, goes to an OTLP
//! collector. Metrics: a Prometheus registry rendered at `GET /metrics`, with the process's own.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Histogram buckets for durations, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The process's metrics registry, installed on first use; `None` if another recorder was installed first.
pub fn metrics() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

use crate::config::{LogFormat, TracingSettings};

use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer as _;

/// The trace pipeline this process installed: flushed and stopped by [`Telemetry::shutdown`].
pub struct Telemetry {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still buffered and stops the exporter (at the end of `serve`).
    pub fn shutdown(self) {
        if let Some(p) = self.provider {
            if let Err(e) = p.shutdown() {
                tracing::warn!(error = %e, "flushing the last spans failed");
            }
        }
    }
}

/// Installs the global subscriber (once; later calls are ignored): the log (text or JSON lines, filtered by
/// `RUST_LOG`, default `info`) and the trace layer, which gives every span W3C trace and span ids (so
/// `traceparent` is honoured and returned) and, with `tracing.otlp_endpoint`, exports them over OTLP/HTTP.
///
/// # Errors
/// The OTLP exporter cannot be built (a malformed endpoint or header).
pub fn init(format: LogFormat, tracing_settings: &TracingSettings) -> anyhow::Result<Telemetry> {
    use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let mut builder = SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            tracing_settings.sample_ratio,
        ))))
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(tracing_settings.service_name.clone())
                .build(),
        );
    let exporting = tracing_settings
        .otlp_endpoint
        .as_deref()
        .filter(|e| !e.is_empty());
    if let Some(endpoint) = exporting {
        use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
        let headers = tracing_settings.headers()?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .with_headers(headers)
            .build()
            .map_err(|e| anyhow::anyhow!("tracing.otlp_endpoint: {e}"))?;
        let processor =
            opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
                exporter,
                opentelemetry_sdk::runtime::Tokio,
            )
            .build();
        builder = builder.with_span_processor(processor);
    }
    let provider = builder.build();
    let tracer = provider.tracer("cabinet");
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let log = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let log = match format {
        LogFormat::Json => log.json().boxed(),
        LogFormat::Text => log.boxed(),
    };
    // What becomes an OpenTelemetry span. Exporting: every span down to debug level (the store's and the
    // inline projections' included). Not exporting: only the spans whose ids travel (`traceparent` in and
    // out of a request, a WebSocket's trace): span data for every command's inner spans would be built only to
    // be dropped (docs/performance.md, "The cost of operations' instrumentation").
    let spans = if exporting.is_some() {
        tracing_subscriber::filter::Targets::new().with_default(tracing::Level::DEBUG)
    } else {
        // The `request` and `websocket` spans live in `api::http`.
        tracing_subscriber::filter::Targets::new().with_target("api::http", tracing::Level::INFO)
    };
    let installed = tracing_subscriber::registry()
        .with(log.with_filter(filter))
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(spans),
        )
        .try_init()
        .is_ok();
    if installed {
        opentelemetry::global::set_tracer_provider(provider.clone());
        if let Some(endpoint) = exporting {
            tracing::info!(endpoint, "exporting spans over OTLP/HTTP");
        }
        Ok(Telemetry {
            provider: Some(provider),
        })
    } else {
        Ok(Telemetry { provider: None })
    }
}

/// Makes `span` a child of the caller's trace when the request carries a valid `traceparent`.
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&opentelemetry_http::HeaderExtractor(headers))
    });
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// The W3C `traceparent` of `span` (None when no trace layer is installed).
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}

/// Samples the process metrics Prometheus's client libraries export under these names (on each scrape):
/// `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
/// `process_open_fds`, `process_max_fds`, `process_threads`, `process_start_time_seconds`. Read from
/// `/proc/self` (Linux); elsewhere nothing is recorded.
pub fn sample_process() {
    let Some(p) = ProcessSample::read() else {
        return;
    };
    // A gauge (the recorder's counters are integers); it only grows, so `rate()` reads it as a counter.
    metrics::gauge!("process_cpu_seconds_total").set(p.cpu_seconds);
    metrics::gauge!("process_resident_memory_bytes").set(p.resident_bytes);
    metrics::gauge!("process_virtual_memory_bytes").set(p.virtual_bytes);
    metrics::gauge!("process_open_fds").set(p.open_fds);
    if let Some(max) = p.max_fds {
        metrics::gauge!("process_max_fds").set(max);
    }
    metrics::gauge!("process_threads").set(p.threads);
    metrics::gauge!("process_start_time_seconds").set(p.start_time_seconds);
}

/// One reading of `/proc/self`.
#[derive(Debug, Clone, Copy)]
pub struct ProcessSample {
    /// User and system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Resident set size, bytes.
    pub resident_bytes: f64,
    /// Virtual memory size, bytes.
    pub virtual_bytes: f64,
    /// Open file descriptors.
    pub open_fds: f64,
    /// The soft limit on them.
    pub max_fds: Option<f64>,
    /// OS threads.
    pub threads: f64,
    /// When the process started, seconds since the Unix epoch.
    pub start_time_seconds: f64,
}

impl ProcessSample {
    /// Reads `/proc/self` (None where there is none).
    pub fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let after = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        // SAFETY: sysconf reads constants.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64;
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
        // Fields 14, 15 (utime, stime), 20 (threads), 22 (starttime), 23 (vsize), 24 (rss), counted from 1
        // with the pid; `after` starts at field 3.
        let cpu_seconds = (num(11)? + num(12)?) / ticks;
        let threads = num(17)?;
        let start_ticks = num(19)?;
        let virtual_bytes = num(20)?;
        let resident_bytes = num(21)? * page;
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| {
                l.strip_prefix("btime ")
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as f64;
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("Max open files"))
                    .and_then(|l| l.split_whitespace().nth(3))
                    .and_then(|v| v.parse::<f64>().ok())
            });
        Some(Self {
            cpu_seconds,
            resident_bytes,
            virtual_bytes,
            open_fds,
            max_fds,
            threads,
            start_time_seconds: boot + start_ticks / ticks,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_process_reads_itself() {
        let p = super::ProcessSample::read().expect("/proc/self on Linux");
        assert!(p.resident_bytes > 1_000_000.0, "{p:?}");
        assert!(p.virtual_bytes >= p.resident_bytes, "{p:?}");
        assert!(p.threads >= 1.0 && p.open_fds >= 3.0, "{p:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            p.start_time_seconds <= now + 1.0 && p.start_time_seconds > now - 86_400.0 * 30.0,
            "{p:?}"
        );
    }
}
