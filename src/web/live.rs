//! Server-Sent Events for the console (every event of the operator's project) and for the
//! widget (public messages of one visitor). One small mpsc per client fed from the bus; a
//! keep-alive every 15 s lets the server notice closed clients.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{Responder, web};
use actix_web_lab::sse;
use tokio::sync::{broadcast, mpsc};

use super::State;
use super::auth::Console;
use super::errors::HtmlError;
use crate::bus::Event;
use crate::domain::Can;
use crate::store::{members, users};

/// A stream ends after this long and the browser's EventSource reconnects (with its cookie
/// or visitor id checked again): nothing is held forever.
const MAX_STREAM: Duration = Duration::from_secs(30 * 60);
/// Live streams one widget visitor may hold (tabs of one browser).
pub const PER_VISITOR: usize = 5;
/// How often an open console stream says its operator is still there.
const SEEN_EVERY: Duration = Duration::from_secs(60);
/// Widget streams the whole server holds: anonymous clients cannot take every connection.
pub const ALL_VISITORS: usize = 5_000;

/// Counts the widget's live streams, per visitor and in all.
#[derive(Default)]
pub struct VisitorStreams {
    open: Mutex<HashMap<crate::domain::ContactId, usize>>,
}

/// One admitted stream; its place is given back when the stream ends.
pub struct Admitted {
    streams: Arc<VisitorStreams>,
    contact_id: crate::domain::ContactId,
}

impl VisitorStreams {
    pub fn admit(self: &Arc<Self>, contact_id: crate::domain::ContactId) -> Option<Admitted> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = open.values().sum();
        let mine = open.entry(contact_id).or_default();
        if *mine >= PER_VISITOR || total >= ALL_VISITORS {
            return None;
        }
        *mine += 1;
        Some(Admitted {
            streams: self.clone(),
            contact_id,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.contact_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.contact_id);
            }
        }
    }
}

/// Whose console stream this is: when their access changes the stream asks the database again
/// and ends, telling the page, once they may no longer read it.
struct Holder {
    user_id: i64,
    session_id: i64,
    project_id: crate::domain::ProjectId,
}

impl Holder {
    async fn still_allowed(&self, store: &crate::store::Store) -> bool {
        let (uid, sid, pid) = (self.user_id, self.session_id, self.project_id);
        let allowed = store
            .read(move |c| {
                Ok(users::session_alive(c, sid)?
                    && members::access_in(c, pid, uid)?.is_some_and(|a| a.can(Can::ReadDialogs)))
            })
            .await;
        // A database that cannot answer now is not a reason to cut anyone off.
        allowed.unwrap_or(true)
    }
}

fn stream(
    state: &State,
    keep: Box<dyn Fn(&Event) -> bool + Send>,
    admitted: Option<Admitted>,
    holder: Option<Holder>,
) -> impl Responder + use<> {
    let (tx, rx) = mpsc::channel::<sse::Event>(64);
    let mut events = state.inbox.bus.subscribe();
    let mut access = state.inbox.bus.access_changes();
    let store = state.inbox.store.clone();
    let mut shutdown = state.shutdown.clone();
    let metrics = state.inbox.metrics.clone();
    metrics.live_connections.inc();
    tokio::spawn(async move {
        let _admitted = admitted;
        let _ = tx.send(sse::Event::Comment("connected".into())).await;
        let expire = tokio::time::sleep(MAX_STREAM);
        tokio::pin!(expire);
        // An open console is a present operator: distribution counts the console closed for
        // a while as away, and nothing else would tell while they only read.
        let mut seen =
            tokio::time::interval_at(tokio::time::Instant::now() + SEEN_EVERY, SEEN_EVERY);
        loop {
            tokio::select! {
                _ = seen.tick(), if holder.is_some() => {
                    let Some(h) = &holder else { continue };
                    let uid = h.user_id;
                    if let Err(e) = store.write(move |c| users::touch_seen(c, uid)).await {
                        tracing::warn!(error = %e, "the member's open console was not recorded");
                    }
                }
                ev = events.recv() => match ev {
                    Ok(live) => {
                        if !keep(&live.event) { continue; }
                        let data = sse::Data::new(String::from(&*live.json)).event("update");
                        let data = match live.event.message_id { Some(id) => data.id(id.to_string()), None => data };
                        if tx.send(data.into()).await.is_err() { break; }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Too slow to follow: tell the page to reload what it shows.
                        if tx.send(sse::Data::new("{}").event("resync").into()).await.is_err() { break; }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                changed = access.recv(), if holder.is_some() => {
                    let Some(h) = &holder else { continue };
                    let mine = match changed {
                        Ok(user) => user == h.user_id,
                        // Missed some: check anyway.
                        Err(broadcast::error::RecvError::Lagged(_)) => true,
                        Err(broadcast::error::RecvError::Closed) => false,
                    };
                    if mine && !h.still_allowed(&store).await {
                        let _ = tx.send(sse::Data::new("{\"signed_out\":true}").event("signed_out").into()).await;
                        break;
                    }
                }
                _ = tx.closed() => break,
                _ = shutdown.changed() => break,
                _ = &mut expire => break,
            }
        }
        metrics.live_connections.dec();
    });
    sse::Sse::from_infallible_receiver(rx)
        .with_keep_alive(Duration::from_secs(15))
        .with_retry_duration(Duration::from_secs(3))
        .customize()
        .insert_header(("X-Accel-Buffering", "no"))
}

pub async fn console(
    state: web::Data<State>,
    console: Console,
) -> Result<impl Responder, HtmlError> {
    console.require(crate::domain::Can::ReadDialogs)?;
    let project_id = console.project.id;
    let holder = Holder {
        user_id: console.user.id,
        session_id: console.session_id,
        project_id,
    };
    Ok(stream(
        &state,
        Box::new(move |e| e.project_id == project_id),
        None,
        Some(holder),
    ))
}

/// The widget's stream for one visitor's contact, once admitted.
pub fn visitor(
    state: &State,
    project_id: crate::domain::ProjectId,
    contact_id: crate::domain::ContactId,
    admitted: Admitted,
) -> impl Responder + use<> {
    stream(
        state,
        Box::new(move |e| e.project_id == project_id && e.contact_id == contact_id && e.public),
        Some(admitted),
        None,
    )
}
