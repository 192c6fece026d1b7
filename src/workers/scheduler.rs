//! Fires due timers. Each timer is claimed and acted on in one transaction: if the action
//! fails the claim is rolled back with it, and the timer is then given up (logged) rather than
//! retried forever.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::error::Result;
use crate::inbox::Inbox;
use crate::store::{channels, conversations, project_settings, timers};

const BATCH: i64 = 200;
/// Between two batches of timers the scheduler waits this fraction of the last one's time.
const GIVE_WAY: u32 = 2;
/// How long a pass may spend packing report days (a fresh million conversations take a
/// few passes; a day's changes, one).
const PACKING: Duration = Duration::from_millis(250);
/// How often expired console sessions, old sign-in counters and unreferenced files go.
const SWEEP: Duration = Duration::from_secs(3600);

#[tracing::instrument(name = "scheduler", skip_all)]
pub async fn run(
    inbox: Inbox,
    pollers: std::sync::Arc<super::pollers::Pollers>,
    tick: Duration,
    reload_every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut reloaded = Instant::now();
    let mut swept: Option<Instant> = None;
    let mut packer = crate::inbox::reports::packing::Packer::default();
    loop {
        if swept.is_none_or(|s| s.elapsed() >= SWEEP) {
            match inbox
                .store
                .write(crate::store::users::delete_expired_sessions)
                .await
            {
                Ok(n) if n > 0 => tracing::info!(count = n, "deleted expired sessions"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "expired sessions not deleted"),
            }
            if let Err(e) = inbox
                .store
                .write(crate::store::login_attempts::delete_stale)
                .await
            {
                tracing::warn!(error = %e, "old sign-in counters not deleted");
            }
            match inbox.files.sweep_orphans(&inbox.store).await {
                Ok(n) if n > 0 => tracing::info!(count = n, "removed files no message refers to"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "unreferenced files not swept"),
            }
            swept = Some(Instant::now());
        }
        if reloaded.elapsed() >= reload_every {
            if let Err(e) = reload(&inbox).await {
                tracing::warn!(error = %e, "automation settings not reloaded");
            }
            if let Err(e) = reload_channels(&inbox, &pollers).await {
                tracing::warn!(error = %e, "channels not reloaded");
            }
            reloaded = Instant::now();
        }
        let pass = Instant::now();
        let more = match fire_due(&inbox).await {
            Ok(f) => f.more,
            Err(e) => {
                tracing::warn!(error = %e, "due timers not fired");
                false
            }
        };
        if let Err(e) = index_search(&inbox).await {
            tracing::warn!(error = %e, "new messages not indexed for search");
        }
        if let Err(e) = presence(&inbox).await {
            tracing::warn!(error = %e, "working hours not applied");
        }
        if let Err(e) = super::summary::send_due(&inbox, pollers.public_url()).await {
            tracing::warn!(error = %e, "daily summary not sent");
        }
        let now = inbox.automation.clock.now();
        if let Err(e) = packer.run(&inbox.store, now, PACKING).await {
            tracing::warn!(error = %e, "report days not packed");
        }
        if let Err(e) = inbox.distribute().await {
            tracing::warn!(error = %e, "waiting conversations not handed out");
        }
        inbox.metrics.scheduler_pass(pass.elapsed());
        // Timers still due after a full pass: the next pass starts now, not a tick later.
        let rest = if more { Duration::ZERO } else { tick };
        tokio::select! {
            _ = tokio::time::sleep(rest) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Brings the search indexes up to the newest message and contact, a batch per transaction.
pub async fn index_search(inbox: &Inbox) -> Result<()> {
    const SEARCH_BATCH: i64 = 5000;
    loop {
        let started = Instant::now();
        let n = inbox
            .store
            .write(|c| crate::store::search::index_new(c, SEARCH_BATCH))
            .await?;
        if n < SEARCH_BATCH {
            return Ok(());
        }
        // A backlog (a bulk import, `perepiska seed` beside the server) is worked off in
        // turns: between batches other writers get the lock, this process's and another's
        // (whose busy timeout would otherwise run out while this loop holds the lock).
        tokio::time::sleep(started.elapsed() / GIVE_WAY).await;
    }
}

/// Picks up channels added, changed or paused since (here or on another instance) and starts
/// or stops their background work.
pub async fn reload_channels(inbox: &Inbox, pollers: &super::pollers::Pollers) -> Result<()> {
    let rows = inbox.store.read(channels::all_enabled).await?;
    if !inbox.registry.matches(&rows) {
        inbox.registry.load(rows);
        if let Err(e) = pollers.reconcile(inbox).await {
            tracing::warn!(error = %e, "a channel's background work did not start");
        }
    }
    Ok(())
}

/// Re-reads project settings and the channels' saved rules (another instance may have
/// changed them).
pub async fn reload(inbox: &Inbox) -> Result<()> {
    let (rows, saved) = inbox
        .store
        .read(|c| Ok((project_settings::all(c)?, channels::automation_of_all(c)?)))
        .await?;
    inbox.automation.load(&rows);
    for (id, json) in saved {
        let Some(entry) = inbox.registry.by_id(id) else {
            continue;
        };
        if entry.channel.automation == json {
            continue;
        }
        let rules = match &json {
            Some(j) => serde_json::from_str(j).map_err(|e| e.to_string()),
            None => crate::automation::ChannelRules::from_config(&entry.config),
        };
        match rules {
            Ok(r) => inbox.registry.update_rules(id, json, r),
            Err(e) => tracing::warn!(channel = %id, error = %e, "automation settings not applied"),
        }
    }
    Ok(())
}

/// Operators with their own working hours go online when their hours start and offline when
/// they end. Only a boundary changes presence, so a manual toggle in between holds.
pub async fn presence(inbox: &Inbox) -> Result<()> {
    let now = inbox.automation.clock.now();
    let users = inbox
        .store
        .read(crate::store::users::with_work_hours)
        .await?;
    let changes: Vec<(i64, String)> = users
        .into_iter()
        .filter_map(|(id, hours, applied)| {
            let start = serde_json::from_str::<crate::automation::Schedule>(&hours)
                .ok()?
                .interval_start(now);
            let state = match start {
                Some(s) => format!("in:{s}"),
                None => "out".to_string(),
            };
            (applied.as_deref() != Some(state.as_str())).then_some((id, state))
        })
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    inbox
        .store
        .write(move |conn| {
            for (id, state) in changes {
                crate::store::users::apply_presence(conn, id, &state)?;
            }
            Ok(())
        })
        .await
}

/// What one pass of `fire_due` did.
pub struct Fired {
    pub count: usize,
    /// The pass ended on its time budget with timers still due.
    pub more: bool,
}

/// Fires every timer due by the automation clock. Due timers are fired a batch per
/// transaction (one transaction each made mass auto-close crawl at ~120 a second); a batch
/// that fails is fired again timer by timer, so one bad timer fails alone. Between full
/// batches queued inbound messages go first, so ingest keeps committing.
pub async fn fire_due(inbox: &Inbox) -> Result<Fired> {
    // Past this the rest waits for the next pass, so shutdown and the other duties of the
    // tick are never held up by a mass of due timers.
    const PASS: Duration = Duration::from_secs(1);
    let pass = Instant::now();
    let mut fired = 0;
    loop {
        let now = inbox.automation.clock.now();
        let due = inbox
            .store
            .read(move |c| timers::due(c, now, BATCH))
            .await?;
        if due.is_empty() {
            break;
        }
        let full = due.len() as i64 == BATCH;
        let (registry, auto) = (inbox.registry.clone(), inbox.automation.clone());
        let batch = due.clone();
        let started = Instant::now();
        let all = inbox
            .store
            .write(move |conn| {
                // Each conversation's first timer is claimed in one statement with the others
                // (those another worker took are left out). A second timer of a conversation
                // is claimed after the first acted, which may have cancelled it.
                let mut convs = std::collections::HashSet::new();
                let firsts: std::collections::HashSet<i64> = batch
                    .iter()
                    .filter(|t| convs.insert(t.conversation_id))
                    .map(|t| t.id)
                    .collect();
                let ids: Vec<i64> = firsts.iter().copied().collect();
                let claimed = timers::claim_all(conn, &ids, now)?;
                let mut out = Vec::with_capacity(batch.len());
                for t in &batch {
                    if claimed.contains(&t.id) {
                        out.push(act(conn, &registry, &auto, t, now)?);
                    } else if !firsts.contains(&t.id) {
                        out.extend(fire_one(conn, &registry, &auto, t, now)?);
                    }
                }
                Ok(out)
            })
            .await;
        match all {
            Ok(convs) => {
                fired += convs.len();
                for c in &convs {
                    inbox.announce(c);
                }
            }
            Err(e) => {
                tracing::warn!(batch = due.len(), error = %e, "timer batch failed; firing one by one");
                fired += fire_each(inbox, due, now).await?;
            }
        }
        if fired > 0 {
            inbox.outbox_wake.notify_one();
        }
        if !full {
            break;
        }
        if pass.elapsed() >= PASS {
            return Ok(Fired {
                count: fired,
                more: true,
            });
        }
        // Messages waiting to be committed get their turn first, so a mass of timers slows
        // ingest, never stops it. A committer already waiting for the connection takes it
        // as this batch hands it back (the pool wakes the waiter); the scheduler's next
        // batch reads its timers first.
        if inbox.ingest_queued() {
            tokio::time::sleep(started.elapsed() / GIVE_WAY).await;
        }
    }
    Ok(Fired {
        count: fired,
        more: false,
    })
}

/// Claims and acts on one timer; the conversation as it is afterwards, None if another
/// worker (or a change) got there first.
fn fire_one(
    conn: &mut crate::store::DbConn,
    registry: &crate::inbox::Registry,
    auto: &crate::automation::Automation,
    timer: &timers::Timer,
    now: chrono::NaiveDateTime,
) -> Result<Option<conversations::Conversation>> {
    if !timers::claim(conn, timer.id, now)? {
        return Ok(None);
    }
    act(conn, registry, auto, timer, now).map(Some)
}

/// Acts on a claimed timer; the conversation as it is afterwards.
fn act(
    conn: &mut crate::store::DbConn,
    registry: &crate::inbox::Registry,
    auto: &crate::automation::Automation,
    timer: &timers::Timer,
    now: chrono::NaiveDateTime,
) -> Result<conversations::Conversation> {
    let conv = conversations::by_id(conn, timer.project_id, timer.conversation_id)?;
    let entry = registry.by_id(conv.channel_id);
    let mut ctx = crate::inbox::registry::auto_ctx(auto, entry.as_deref());
    ctx.now = now;
    crate::automation::fire(conn, &ctx, timer, &conv)?;
    conversations::by_id(conn, conv.project_id, conv.id)
}

async fn fire_each(
    inbox: &Inbox,
    due: Vec<timers::Timer>,
    now: chrono::NaiveDateTime,
) -> Result<usize> {
    let mut fired = 0;
    for t in due {
        let (registry, auto) = (inbox.registry.clone(), inbox.automation.clone());
        let timer = t.clone();
        let done = inbox
            .store
            .write(move |conn| fire_one(conn, &registry, &auto, &timer, now))
            .await;
        match done {
            Ok(Some(conv)) => {
                fired += 1;
                inbox.announce(&conv);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(
                    timer = t.id,
                    kind = %t.kind,
                    conversation = %t.conversation_id,
                    error = %e,
                    "timer failed and is dropped"
                );
                let id = t.id;
                inbox
                    .store
                    .write(move |conn| timers::claim(conn, id, now).map(|_| ()))
                    .await?;
            }
        }
    }
    Ok(fired)
}
