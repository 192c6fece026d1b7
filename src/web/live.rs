//! Server-Sent Events for the console (every event of the operator's project) and for the
//! widget (public messages of one visitor). One small mpsc per client fed from the bus; a
//! keep-alive every 15 s lets the server notice closed clients.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::{Responder, web};
use actix_web_lab::sse;
use tokio::sync::{broadcast, mpsc};

use super::State;
use super::auth::Console;
use super::errors::HtmlError;
use crate::bus::Event;

fn stream(state: &State, keep: Box<dyn Fn(&Event) -> bool + Send>) -> impl Responder + use<> {
    let (tx, rx) = mpsc::channel::<sse::Event>(64);
    let mut events = state.inbox.bus.subscribe();
    let mut shutdown = state.shutdown.clone();
    let metrics = state.inbox.metrics.clone();
    metrics.live_connections.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        let _ = tx.send(sse::Event::Comment("connected".into())).await;
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(e) => {
                        if !keep(&e) { continue; }
                        let data = match sse::Data::new_json(&e) {
                            Ok(d) => d.event("update"),
                            Err(_) => continue,
                        };
                        let data = match e.message_id { Some(id) => data.id(id.to_string()), None => data };
                        if tx.send(data.into()).await.is_err() { break; }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Too slow to follow: tell the page to reload what it shows.
                        if tx.send(sse::Data::new("{}").event("resync").into()).await.is_err() { break; }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tx.closed() => break,
                _ = shutdown.changed() => break,
            }
        }
        metrics.live_connections.fetch_sub(1, Ordering::Relaxed);
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
    let project_id = console.project.id;
    Ok(stream(
        &state,
        Box::new(move |e| e.project_id == project_id),
    ))
}

/// The widget's stream for one visitor's contact.
pub fn visitor(state: &State, project_id: i64, contact_id: i64) -> impl Responder + use<> {
    stream(
        state,
        Box::new(move |e| e.project_id == project_id && e.contact_id == contact_id && e.public),
    )
}
