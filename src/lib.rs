//! perepiska: an omnichannel inbox server. `start` builds everything from `Settings`;
//! main.rs and the integration tests both use it.

pub mod automation;
pub mod backup;
pub mod bootstrap;
pub mod bot;
pub mod bus;
pub mod channels;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod files;
pub mod i18n;
pub mod inbox;
pub mod integrations;
pub mod mail;
pub mod metrics;
pub mod store;
pub mod thread;
pub mod web;
pub mod workers;

use std::net::TcpListener;
use std::sync::Arc;

use tokio::sync::watch;

use crate::config::Settings;

pub struct Running {
    pub port: u16,
    pub url: String,
    /// Set when this start created the first admin; main prints it once.
    pub admin_notice: Option<String>,
    handle: actix_web::dev::ServerHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops the way a deploy wants: live streams and background workers are told first
    /// (streams end, pollers and the outbox stop taking work and hand back what they
    /// claimed), then the server stops accepting and finishes the requests in flight, whose
    /// messages the committers still commit; then the workers are awaited.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        self.handle.stop(true).await;
        let _ = (&mut self.server).await;
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }

    /// Serves until SIGTERM or Ctrl-C, then stops as `stop` does.
    pub async fn wait(mut self) {
        tokio::select! {
            _ = stop_signal() => {
                tracing::info!("stopping: finishing requests in flight");
                self.stop().await;
            }
            _ = &mut self.server => {
                let _ = self.shutdown.send(true);
                for t in std::mem::take(&mut self.tasks) {
                    let _ = t.await;
                }
            }
        }
    }
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Background workers stop with the handle even when nobody awaited stop().
        let _ = self.shutdown.send(true);
    }
}

pub async fn start(settings: Settings) -> anyhow::Result<Running> {
    let boot = bootstrap::prepare(&settings).await?;
    let listener = TcpListener::bind(&settings.bind)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
    let port = listener.local_addr()?.port();
    let host = settings
        .bind
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or("127.0.0.1");
    let url = format!("http://{host}:{port}");

    let metrics = Arc::new(metrics::Metrics::default());
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let bus = match &settings.redis_url {
        Some(url) => bus::Bus::with_redis(url, shutdown_rx.clone()).await?,
        None => bus::Bus::new(),
    };
    let (inbox, ingest_rxs) = inbox::Inbox::new(
        boot.store.clone(),
        bus,
        boot.registry.clone(),
        files::FileStore::new(&settings.data_dir, settings.max_attachment_bytes),
        channels::download::Downloader::new(
            settings.allow_private_targets,
            settings.max_attachment_bytes,
        )
        .map_err(|e| anyhow::anyhow!("cannot build the download client: {e}"))?,
        metrics,
        Arc::new(automation::Automation::new(settings.clock.clone())),
    );
    workers::scheduler::reload(&inbox).await?;
    // Committers end when the last Inbox clone (the server's) is dropped.
    let mut tasks: Vec<_> = ingest_rxs
        .into_iter()
        .map(|rx| {
            tokio::spawn(inbox::commit_queue::run_committer(
                boot.store.clone(),
                inbox.bus.clone(),
                rx,
                inbox.outbox_wake.clone(),
                inbox.letters_wake.clone(),
            ))
        })
        .collect();
    let mailer = match &settings.smtp_url {
        Some(url) => {
            let from = settings.smtp_from.clone().unwrap_or_else(|| {
                let host = settings
                    .public_url
                    .as_deref()
                    .and_then(|u| reqwest::Url::parse(u).ok())
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_else(|| "localhost".into());
                format!("perepiska@{host}")
            });
            Some(std::sync::Arc::new(
                mail::Mailer::new(url, &from).map_err(|e| anyhow::anyhow!("{e}"))?,
            ))
        }
        None => None,
    };
    // Letters retry like platform deliveries do.
    let delivery = workers::outbox::OutboxConfig {
        backoff_base: settings.outbox_backoff,
        max_attempts: settings.outbox_max_attempts,
        public_url: settings.public_url.clone(),
        ..Default::default()
    };
    tasks.push(tokio::spawn(workers::outbox::run(
        inbox.clone(),
        delivery.clone(),
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(workers::letters::run(
        inbox.clone(),
        mailer.clone(),
        delivery,
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(workers::webhooks::run(
        inbox.clone(),
        settings.public_url.clone(),
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(workers::fetcher::run(
        inbox.clone(),
        workers::fetcher::FetcherConfig {
            backoff: settings.outbox_backoff,
        },
        shutdown_rx.clone(),
    )));
    let pollers = workers::pollers::Pollers::new(settings.public_url.clone(), shutdown_rx.clone());
    match pollers.reconcile(&inbox).await {
        Ok(started) => tasks.extend(started),
        Err(e) => {
            let _ = shutdown_tx.send(true);
            return Err(e);
        }
    }
    tasks.push(tokio::spawn(workers::scheduler::run(
        inbox.clone(),
        pollers.clone(),
        settings.scheduler_tick,
        settings.settings_reload,
        shutdown_rx.clone(),
    )));
    let server = web::server(
        listener,
        inbox,
        pollers,
        mailer,
        settings.clone(),
        shutdown_rx,
    )?;
    let handle = server.handle();
    let server = tokio::spawn(server);
    Ok(Running {
        port,
        url,
        admin_notice: boot.admin_notice,
        handle,
        server,
        shutdown: shutdown_tx,
        tasks,
    })
}
