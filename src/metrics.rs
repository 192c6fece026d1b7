//! Prometheus text metrics. Kept per App rather than in the `metrics` crate's global recorder
//! so that several servers in one test process do not share counters.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Default)]
pub struct Metrics {
    received: Mutex<BTreeMap<String, u64>>,
    sent: Mutex<BTreeMap<String, u64>>,
    webhook_errors: Mutex<BTreeMap<String, u64>>,
    send_errors: Mutex<BTreeMap<String, u64>>,
    pub live_connections: AtomicI64,
}

fn bump(m: &Mutex<BTreeMap<String, u64>>, channel: &str, by: u64) {
    let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
    *g.entry(channel.to_string()).or_default() += by;
}

fn render_counter(out: &mut String, name: &str, help: &str, m: &Mutex<BTreeMap<String, u64>>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    let g = m.lock().unwrap_or_else(|e| e.into_inner());
    for (channel, v) in g.iter() {
        let label = channel.replace('\\', "\\\\").replace('"', "\\\"");
        let _ = writeln!(out, "{name}{{channel=\"{label}\"}} {v}");
    }
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

    pub fn render(&self, outbox_depth: i64) -> String {
        let mut out = String::new();
        render_counter(
            &mut out,
            "perepiska_messages_received_total",
            "Customer messages committed, per channel.",
            &self.received,
        );
        render_counter(
            &mut out,
            "perepiska_messages_sent_total",
            "Operator messages delivered, per channel.",
            &self.sent,
        );
        render_counter(
            &mut out,
            "perepiska_webhook_errors_total",
            "Refused or failed inbound requests, per channel.",
            &self.webhook_errors,
        );
        render_counter(
            &mut out,
            "perepiska_send_errors_total",
            "Failed delivery attempts, per channel.",
            &self.send_errors,
        );
        let _ = writeln!(
            out,
            "# HELP perepiska_outbox_depth Messages waiting for delivery.\n# TYPE perepiska_outbox_depth gauge\nperepiska_outbox_depth {outbox_depth}"
        );
        let _ = writeln!(
            out,
            "# HELP perepiska_live_connections Open live (SSE) connections.\n# TYPE perepiska_live_connections gauge\nperepiska_live_connections {}",
            self.live_connections.load(Ordering::Relaxed)
        );
        out
    }
}
