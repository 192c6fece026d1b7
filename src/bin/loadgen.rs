//! Load generator for the widget write path. Start the server with the README command, then:
//!
//!     cargo run --release --bin loadgen -- --seconds 10
//!
//! Many visitors send widget messages over many keep-alive connections for a bounded time.
//! It prints committed messages per second and latency percentiles, then opens the same
//! database and checks that every acknowledged message is stored exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser)]
#[command(about = "perepiska widget load generator (127.0.0.1 only)")]
struct Args {
    /// The server to load; must be on this machine.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Widget channel id.
    #[arg(long, default_value = "web")]
    channel: String,
    /// Distinct visitors (each gets its own conversation).
    #[arg(long, default_value_t = 2000)]
    visitors: usize,
    /// Concurrent connections, each sending one request at a time.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long to send.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The server's data dir (its SQLite database is checked afterwards).
    #[arg(long, env = "PEREPISKA_DATA_DIR", default_value = "data")]
    data_dir: std::path::PathBuf,
    /// The server's DATABASE_URL when it runs on PostgreSQL.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Resend an unanswered or refused message with the same ids, as a platform does, for up
    /// to this many seconds (0: count it as an error). For fault tests: the server may be
    /// killed, restarted or without its database meanwhile.
    #[arg(long, default_value_t = 0)]
    retry_seconds: u64,
}

struct Acked {
    message_id: i64,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let host = args
        .url
        .trim_start_matches("http://")
        .split([':', '/'])
        .next()
        .unwrap_or("");
    if !(host == "127.0.0.1" || host == "localhost" || host == "[::1]") {
        anyhow::bail!("loadgen only targets a server on this machine (127.0.0.1)");
    }
    let run = perepiska::crypto::random_hex(4)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(10))
        .build()?;
    let endpoint = format!("{}/widget/{}/messages", args.url, args.channel);
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let status_5xx = Arc::new(std::sync::Mutex::new(
        std::collections::BTreeMap::<u16, u64>::new(),
    ));
    let retry_for = Duration::from_secs(args.retry_seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (client, endpoint, stop, next, errors, run, retries, status_5xx) = (
            client.clone(),
            endpoint.clone(),
            stop.clone(),
            next.clone(),
            errors.clone(),
            run.clone(),
            retries.clone(),
            status_5xx.clone(),
        );
        let visitors = args.visitors as u64;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut acked = Vec::new();
            let mut sent_platform_ids = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let visitor = format!("loadgen-{run}-{:08}", n % visitors);
                let client_id = format!("m{n}");
                let ext = perepiska::channels::widget::visitor_id(&visitor)
                    .map(|v| format!("{v}:{client_id}"));
                if let Ok(p) = ext {
                    sent_platform_ids.push(p);
                }
                let body = serde_json::json!({
                    "visitor": visitor,
                    "client_id": client_id,
                    "text": format!("Сообщение нагрузочного теста №{n}: где мой заказ?"),
                });
                let t = Instant::now();
                let first = Instant::now();
                loop {
                    let answer = client.post(&endpoint).json(&body).send().await;
                    match answer {
                        Ok(r) if r.status().is_success() => {
                            let v: serde_json::Value = r.json().await.unwrap_or_default();
                            latencies.push(t.elapsed().as_micros() as u64);
                            if let Some(id) = v["message_id"].as_i64() {
                                acked.push(Acked { message_id: id });
                            }
                            break;
                        }
                        other => {
                            if let Ok(r) = &other
                                && r.status().is_server_error()
                            {
                                *status_5xx
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .entry(r.status().as_u16())
                                    .or_default() += 1;
                            }
                            if first.elapsed() >= retry_for {
                                errors.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            }
            (latencies, acked, sent_platform_ids)
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut acked = Vec::new();
    let mut platform_ids = Vec::new();
    for t in tasks {
        let (l, a, p) = t.await?;
        latencies.extend(l);
        acked.extend(a);
        platform_ids.extend(p);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    println!(
        "{} messages acknowledged in {:.1} s over {} connections, {} visitors: {:.0} messages/s",
        acked.len(),
        elapsed,
        args.connections,
        args.visitors,
        acked.len() as f64 / elapsed
    );
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2};  errors: {}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        errors.load(Ordering::Relaxed)
    );
    if args.retry_seconds > 0 {
        let codes = status_5xx.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let codes: Vec<String> = codes.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        println!(
            "retries with the same ids: {}; 5xx answers: {}",
            retries.load(Ordering::Relaxed),
            if codes.is_empty() {
                "none".to_string()
            } else {
                codes.join(", ")
            }
        );
    }

    let url = perepiska::store::database_url(args.database_url.as_deref(), &args.data_dir);
    let store = perepiska::store::Store::open(&url)?;
    let ids: Vec<i64> = acked.iter().map(|a| a.message_id).collect();
    let (found, stored) = store
        .read(move |c| {
            let found = perepiska::store::messages::existing_ids(c, &ids)?;
            let stored = perepiska::store::messages::count_platform_ids(c, &platform_ids)?;
            Ok((found, stored))
        })
        .await?;
    let mut unique = found.clone();
    unique.sort_unstable();
    unique.dedup();
    println!(
        "database check: {} of {} acknowledged messages stored, {} rows for this run's message ids",
        unique.len(),
        acked.len(),
        stored
    );
    if unique.len() != acked.len() || stored < acked.len() as i64 {
        anyhow::bail!("acknowledged messages are missing from the database");
    }
    if stored > acked.len() as i64 + errors.load(Ordering::Relaxed) as i64 {
        anyhow::bail!("the database holds more messages than were sent");
    }
    // With retries every message sent is acknowledged in the end, so each has exactly one row.
    if args.retry_seconds > 0 && errors.load(Ordering::Relaxed) == 0 && stored != acked.len() as i64
    {
        anyhow::bail!(
            "{stored} rows for {} acknowledged messages: a retry created a duplicate or a refused message was stored",
            acked.len()
        );
    }
    println!("OK: every acknowledged message is stored exactly once");
    Ok(())
}
