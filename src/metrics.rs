//! Prometheus metrics (OpenMetrics text through prometheus-client). Each App has its own
//! registry rather than a global recorder, so several servers in one test process do not
//! share counters.

use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: String,
}

type PerChannel = Family<ChannelLabel, Counter>;

pub struct Metrics {
    registry: Registry,
    received: PerChannel,
    sent: PerChannel,
    webhook_errors: PerChannel,
    send_errors: PerChannel,
    outbox_depth: Gauge,
    pub live_connections: Gauge<i64, AtomicI64>,
    scheduler_passes: Counter,
    scheduler_pass_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("perepiska");
        let per_channel = |registry: &mut Registry, name: &str, help: &str| {
            let f = PerChannel::default();
            registry.register(name, help, f.clone());
            f
        };
        let received = per_channel(
            &mut registry,
            "messages_received",
            "Customer messages committed, per channel.",
        );
        let sent = per_channel(
            &mut registry,
            "messages_sent",
            "Operator messages delivered, per channel.",
        );
        let webhook_errors = per_channel(
            &mut registry,
            "webhook_errors",
            "Refused or failed inbound requests, per channel.",
        );
        let send_errors = per_channel(
            &mut registry,
            "send_errors",
            "Failed delivery attempts, per channel.",
        );
        let outbox_depth = Gauge::default();
        registry.register(
            "outbox_depth",
            "Messages waiting for delivery.",
            outbox_depth.clone(),
        );
        let live_connections = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "live_connections",
            "Open live (SSE) connections.",
            live_connections.clone(),
        );
        let scheduler_passes = Counter::default();
        registry.register(
            "scheduler_passes",
            "Scheduler passes completed (due timers fired, working hours applied).",
            scheduler_passes.clone(),
        );
        // A pass with nothing due is one indexed lookup each for timers, the search index and
        // working hours: sub-millisecond buckets show whether it still is.
        let scheduler_pass_seconds = Histogram::new([
            0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ]);
        registry.register(
            "scheduler_pass_seconds",
            "How long one scheduler pass took (due timers, search index, working hours).",
            scheduler_pass_seconds.clone(),
        );
        Metrics {
            scheduler_passes,
            scheduler_pass_seconds,
            registry,
            received,
            sent,
            webhook_errors,
            send_errors,
            outbox_depth,
            live_connections,
        }
    }
}

fn bump(f: &PerChannel, channel: &str, by: u64) {
    f.get_or_create(&ChannelLabel {
        channel: channel.to_string(),
    })
    .inc_by(by);
}

impl Metrics {
    pub fn received(&self, channel: &str, n: u64) {
        bump(&self.received, channel, n);
    }
    pub fn sent(&self, channel: &str) {
        bump(&self.sent, channel, 1);
    }
    pub fn webhook_error(&self, channel: &str) {
        bump(&self.webhook_errors, channel, 1);
    }
    pub fn send_error(&self, channel: &str) {
        bump(&self.send_errors, channel, 1);
    }

    pub fn scheduler_pass(&self, took: std::time::Duration) {
        self.scheduler_passes.inc();
        self.scheduler_pass_seconds.observe(took.as_secs_f64());
    }

    /// The exposition, with the outbox depth read just now.
    pub fn render(&self, outbox_depth: i64) -> String {
        self.outbox_depth.set(outbox_depth);
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics not encoded");
        }
        out
    }
}

/// What `/metrics` answers with.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
