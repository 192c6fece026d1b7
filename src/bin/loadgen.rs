//! Load generator for the widget write path. Start the server with the README command, then:
//!
//!     cargo run --release --bin loadgen -- --seconds 10
//!
//! Many visitors send widget messages over many keep-alive connections for a bounded time.
//! It prints committed messages per second and latency percentiles, then opens the same
//! database and checks that every acknowledged message is stored exactly once.
//!
//! `--rate` paces the senders; `--streams N --session COOKIE` holds N console live streams
//! open meanwhile and prints how long a message took from the widget POST to each stream;
//! `--twice` sends every message twice at once, as a platform redelivering does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
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
    /// Messages per second in all (0: as fast as the server answers).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Console live streams (`/console/live`) to hold open while sending.
    #[arg(long, default_value_t = 0)]
    streams: usize,
    /// The console session cookie's value the streams sign in with.
    #[arg(long, env = "LOADGEN_SESSION", default_value = "")]
    session: String,
    /// Send each message twice at once (same visitor, same ids): both answers must be 2xx
    /// and name the same message.
    #[arg(long)]
    twice: bool,
}

struct Acked {
    message_id: i64,
    /// When its POST was sent (live latency counts from here).
    sent_at: Instant,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

/// What the server answered to one message, after retries.
enum Sent {
    Acked(Option<i64>),
    Failed,
}

#[derive(Default)]
struct Tally {
    errors: AtomicU64,
    retries: AtomicU64,
    /// `--twice`: both answers were 2xx but named different messages.
    split: AtomicU64,
    status_5xx: std::sync::Mutex<std::collections::BTreeMap<u16, u64>>,
}

async fn send(
    client: &reqwest::Client,
    endpoint: &str,
    body: &serde_json::Value,
    retry_for: Duration,
    tally: &Tally,
) -> Sent {
    let first = Instant::now();
    loop {
        match client.post(endpoint).json(body).send().await {
            Ok(r) if r.status().is_success() => {
                let v: serde_json::Value = r.json().await.unwrap_or_default();
                return Sent::Acked(v["message_id"].as_i64());
            }
            other => {
                if let Ok(r) = &other
                    && r.status().is_server_error()
                {
                    *tally
                        .status_5xx
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(r.status().as_u16())
                        .or_default() += 1;
                }
                if first.elapsed() >= retry_for {
                    return Sent::Failed;
                }
                tally.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One console live stream: when each message id first arrived on it.
#[derive(Default)]
struct Stream {
    seen: std::sync::Mutex<std::collections::HashMap<i64, Instant>>,
    highest: AtomicI64,
}

async fn follow(
    client: reqwest::Client,
    url: String,
    session: String,
    stream: Arc<Stream>,
    connected: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let mut r = client
        .get(&url)
        .header(
            "Cookie",
            format!("{}={session}", perepiska::web::auth::SESSION_COOKIE),
        )
        .send()
        .await?;
    if !r.status().is_success() {
        anyhow::bail!("the console stream answered {}", r.status());
    }
    connected.fetch_add(1, Ordering::Relaxed);
    let mut line = Vec::new();
    while let Some(chunk) = r.chunk().await? {
        let now = Instant::now();
        for &b in chunk.iter() {
            if b != b'\n' {
                line.push(b);
                continue;
            }
            if let Some(id) = line
                .strip_prefix(b"id: ")
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
            {
                stream
                    .seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(id)
                    .or_insert(now);
                stream.highest.fetch_max(id, Ordering::Relaxed);
            }
            line.clear();
        }
    }
    Ok(())
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
    if args.streams > 0 && args.session.is_empty() {
        anyhow::bail!("--streams needs --session (a console session cookie's value)");
    }
    let run = perepiska::crypto::random_hex(4)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections * 2)
        .timeout(Duration::from_secs(10))
        .build()?;

    // Streams first, all connected, so every message sent can be waited for on each.
    let streams: Vec<Arc<Stream>> = (0..args.streams).map(|_| Arc::default()).collect();
    let connected = Arc::new(AtomicU64::new(0));
    let mut followers = Vec::new();
    if args.streams > 0 {
        // A stream is one long response: no overall timeout.
        let live = reqwest::Client::builder()
            .pool_max_idle_per_host(args.streams)
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        for s in &streams {
            let task = tokio::spawn(follow(
                live.clone(),
                format!("{}/console/live", args.url),
                args.session.clone(),
                s.clone(),
                connected.clone(),
            ));
            followers.push(task);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while connected.load(Ordering::Relaxed) < args.streams as u64 {
            if Instant::now() > deadline || followers.iter().any(|f| f.is_finished()) {
                anyhow::bail!(
                    "{} of {} console streams connected",
                    connected.load(Ordering::Relaxed),
                    args.streams
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let endpoint = format!("{}/widget/{}/messages", args.url, args.channel);
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Tally::default());
    let retry_for = Duration::from_secs(args.retry_seconds);
    // Each connection sends on its own schedule, spread over the interval.
    let every = (args.rate > 0)
        .then(|| Duration::from_secs_f64(args.connections as f64 / args.rate as f64));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..args.connections {
        let (client, endpoint, stop, next, run, tally) = (
            client.clone(),
            endpoint.clone(),
            stop.clone(),
            next.clone(),
            run.clone(),
            tally.clone(),
        );
        let visitors = args.visitors as u64;
        let (twice, connections) = (args.twice, args.connections as u32);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut acked = Vec::new();
            let mut sent_platform_ids = Vec::new();
            let mut at = every.map(|e| tokio::time::Instant::now() + e * i as u32 / connections);
            while !stop.load(Ordering::Relaxed) {
                if let (Some(t), Some(e)) = (at.as_mut(), every) {
                    tokio::time::sleep_until(*t).await;
                    // Behind schedule: carry on from now rather than send a burst.
                    *t = (*t + e).max(tokio::time::Instant::now());
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
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
                let sent_at = Instant::now();
                let outcome = if twice {
                    let (a, b) = tokio::join!(
                        send(&client, &endpoint, &body, retry_for, &tally),
                        send(&client, &endpoint, &body, retry_for, &tally)
                    );
                    match (a, b) {
                        (Sent::Acked(x), Sent::Acked(y)) if x == y => Sent::Acked(x),
                        (Sent::Acked(x), Sent::Acked(_)) => {
                            tally.split.fetch_add(1, Ordering::Relaxed);
                            Sent::Acked(x)
                        }
                        _ => Sent::Failed,
                    }
                } else {
                    send(&client, &endpoint, &body, retry_for, &tally).await
                };
                match outcome {
                    Sent::Acked(id) => {
                        latencies.push(sent_at.elapsed().as_micros() as u64);
                        if let Some(message_id) = id {
                            acked.push(Acked {
                                message_id,
                                sent_at,
                            });
                        }
                    }
                    Sent::Failed => {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
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
    let errors = tally.errors.load(Ordering::Relaxed);
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
        errors
    );
    let codes = tally
        .status_5xx
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if args.retry_seconds > 0 || args.twice {
        let codes: Vec<String> = codes.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        println!(
            "retries with the same ids: {}; 5xx answers: {}{}",
            tally.retries.load(Ordering::Relaxed),
            if codes.is_empty() {
                "none".to_string()
            } else {
                codes.join(", ")
            },
            if args.twice {
                format!(
                    "; sent twice, answered with two different messages: {}",
                    tally.split.load(Ordering::Relaxed)
                )
            } else {
                String::new()
            }
        );
    }

    if args.streams > 0 {
        // Every acknowledged message is waited for on every stream, for a bounded time.
        let last = acked.iter().map(|a| a.message_id).max().unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline
            && streams
                .iter()
                .any(|s| s.highest.load(Ordering::Relaxed) < last)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for f in &followers {
            f.abort();
        }
        let mut live = Vec::new();
        let mut missed = 0u64;
        for s in &streams {
            let seen = s.seen.lock().unwrap_or_else(|e| e.into_inner());
            for a in &acked {
                match seen.get(&a.message_id) {
                    Some(at) => {
                        live.push(at.saturating_duration_since(a.sent_at).as_micros() as u64)
                    }
                    None => missed += 1,
                }
            }
        }
        live.sort_unstable();
        println!(
            "live: POST -> console event on {} streams, ms: p50 {:.2}  p99 {:.2}  max {:.2};  missed: {}",
            args.streams,
            percentile(&live, 0.50),
            percentile(&live, 0.99),
            percentile(&live, 1.0),
            missed
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
    if stored > acked.len() as i64 + errors as i64 {
        anyhow::bail!("the database holds more messages than were sent");
    }
    // With retries every message sent is acknowledged in the end, so each has exactly one row.
    if (args.retry_seconds > 0 || args.twice) && errors == 0 && stored != acked.len() as i64 {
        anyhow::bail!(
            "{stored} rows for {} acknowledged messages: a retry created a duplicate or a refused message was stored",
            acked.len()
        );
    }
    println!("OK: every acknowledged message is stored exactly once");
    Ok(())
}
