//! Integrations of a project and the events queued for them. An event is queued in the
//! transaction that caused it, one row per integration that takes it, so nothing that happened
//! is lost to a crash or an endpoint that is down; a worker claims due rows with a lease (two
//! instances never send the same one) and delivers them in order per conversation.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{integrations, webhook_deliveries};
use crate::domain::{ChannelId, ChannelSource, ConversationId, IntegrationKind, ProjectId};
use crate::error::{Error, Result};

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = integrations)]
pub struct Integration {
    pub id: i64,
    pub project_id: ProjectId,
    pub key: String,
    #[diesel(deserialize_as = String)]
    pub kind: IntegrationKind,
    pub name: String,
    /// Sealed JSON.
    pub config: String,
    #[diesel(deserialize_as = String)]
    pub source: ChannelSource,
    pub enabled: bool,
    pub events: String,
    pub channel_ids: String,
    pub paused_at: Option<NaiveDateTime>,
    pub pause_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Integration {
    /// Whether it takes this event from this channel (empty lists take everything).
    pub fn takes(&self, event: &str, channel: Option<ChannelId>) -> bool {
        let listed =
            |list: &str, item: &str| list.is_empty() || list.contains(&format!(",{item},"));
        listed(&self.events, event)
            && channel.is_none_or(|c| listed(&self.channel_ids, &c.0.to_string()))
    }
}

/// What an integration is declared with; `events` and `channels` are kept plain.
pub struct NewIntegration<'a> {
    pub project_id: ProjectId,
    pub key: &'a str,
    pub kind: IntegrationKind,
    pub name: &'a str,
    pub sealed_config: &'a str,
    pub source: ChannelSource,
    pub enabled: bool,
    pub events: &'a [String],
    pub channels: &'a [ChannelId],
}

fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        String::new()
    } else {
        format!(",{},", items.join(","))
    }
}

/// Creates or replaces the integration with this key in the project (channels.toml re-applies
/// its integrations at every start; the settings and the API replace what they edit). A paused
/// integration stays paused until resumed.
pub fn upsert(conn: &mut DbConn, n: &NewIntegration, t: NaiveDateTime) -> Result<Integration> {
    let events = list(n.events.iter().cloned());
    let channels = list(n.channels.iter().map(|c| c.0.to_string()));
    match by_key(conn, n.project_id, n.key)? {
        Some(existing) => {
            diesel::update(integrations::table.find(existing.id))
                .set((
                    integrations::kind.eq(n.kind.as_str()),
                    integrations::name.eq(n.name),
                    integrations::config.eq(n.sealed_config),
                    integrations::source.eq(n.source.as_str()),
                    integrations::enabled.eq(n.enabled),
                    integrations::events.eq(&events),
                    integrations::channel_ids.eq(&channels),
                    integrations::updated_at.eq(t),
                ))
                .execute(conn)?;
        }
        None => {
            diesel::insert_into(integrations::table)
                .values((
                    integrations::project_id.eq(n.project_id),
                    integrations::key.eq(n.key),
                    integrations::kind.eq(n.kind.as_str()),
                    integrations::name.eq(n.name),
                    integrations::config.eq(n.sealed_config),
                    integrations::source.eq(n.source.as_str()),
                    integrations::enabled.eq(n.enabled),
                    integrations::events.eq(&events),
                    integrations::channel_ids.eq(&channels),
                    integrations::created_at.eq(t),
                    integrations::updated_at.eq(t),
                ))
                .execute(conn)?;
        }
    }
    by_key(conn, n.project_id, n.key)?
        .ok_or_else(|| Error::internal(format!("integration {} vanished", n.key)))
}

pub fn by_key(conn: &mut DbConn, project_id: ProjectId, key: &str) -> Result<Option<Integration>> {
    Ok(integrations::table
        .filter(integrations::project_id.eq(project_id))
        .filter(integrations::key.eq(key))
        .select(Integration::as_select())
        .first(conn)
        .optional()?)
}

pub fn by_id(conn: &mut DbConn, id: i64) -> Result<Option<Integration>> {
    Ok(integrations::table
        .find(id)
        .select(Integration::as_select())
        .first(conn)
        .optional()?)
}

pub fn of_project(conn: &mut DbConn, project_id: ProjectId) -> Result<Vec<Integration>> {
    Ok(integrations::table
        .filter(integrations::project_id.eq(project_id))
        .order(integrations::key)
        .select(Integration::as_select())
        .load(conn)?)
}

/// The running integrations of a project: what an event is queued for.
pub(super) fn active_query(
    project_id: ProjectId,
) -> integrations::BoxedQuery<'static, super::MultiBackend> {
    integrations::table
        .filter(integrations::project_id.eq(project_id))
        .filter(integrations::enabled.eq(true))
        .into_boxed()
}

pub fn active(conn: &mut DbConn, project_id: ProjectId) -> Result<Vec<Integration>> {
    Ok(active_query(project_id)
        .select(Integration::as_select())
        .load(conn)?)
}

/// Removes an integration, its delivery log and what it made of conversations.
pub fn delete(conn: &mut DbConn, id: i64) -> Result<()> {
    super::crm_links::forget_integration(conn, id)?;
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::integration_id.eq(id)))
        .execute(conn)?;
    diesel::delete(integrations::table.find(id)).execute(conn)?;
    Ok(())
}

/// File-declared integrations no longer in the file are switched off (their log is kept).
pub fn disable_file_integrations_except(conn: &mut DbConn, keep: &[i64]) -> Result<()> {
    diesel::update(
        integrations::table
            .filter(integrations::source.eq(ChannelSource::File.as_str()))
            .filter(integrations::id.ne_all(keep)),
    )
    .set(integrations::enabled.eq(false))
    .execute(conn)?;
    Ok(())
}

/// Pauses (with why) or resumes (None) an integration; resumed, its waiting events are due at
/// once and a day of failures is counted afresh.
pub fn set_paused(conn: &mut DbConn, id: i64, paused: Option<(NaiveDateTime, &str)>) -> Result<()> {
    diesel::update(integrations::table.find(id))
        .set((
            integrations::paused_at.eq(paused.map(|p| p.0)),
            integrations::pause_reason.eq(paused.map(|p| p.1.to_string())),
        ))
        .execute(conn)?;
    if paused.is_none() {
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::integration_id.eq(id))
                .filter(super::literal("webhook_deliveries.status = 'pending'")),
        )
        .set((
            webhook_deliveries::first_failed_at.eq(None::<NaiveDateTime>),
            webhook_deliveries::next_attempt_at.eq(chrono::DateTime::UNIX_EPOCH.naive_utc()),
        ))
        .execute(conn)?;
    }
    Ok(())
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: i64,
    pub integration_id: i64,
    pub project_id: ProjectId,
    pub conversation_id: Option<ConversationId>,
    pub event: String,
    pub body: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub first_failed_at: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

pub fn enqueue(
    conn: &mut DbConn,
    integration: &Integration,
    conversation: Option<ConversationId>,
    event: &str,
    body: &str,
    t: NaiveDateTime,
) -> Result<i64> {
    Ok(diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::integration_id.eq(integration.id),
            webhook_deliveries::project_id.eq(integration.project_id),
            webhook_deliveries::conversation_id.eq(conversation.map(|c| c.0)),
            webhook_deliveries::event.eq(event),
            webhook_deliveries::body.eq(body),
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::attempts.eq(0),
            // Due at once on whatever clock the worker runs by.
            webhook_deliveries::next_attempt_at.eq(chrono::DateTime::UNIX_EPOCH.naive_utc()),
            webhook_deliveries::created_at.eq(t),
        ))
        .returning(webhook_deliveries::id)
        .get_result(conn)?)
}

/// Due deliveries nobody holds, soonest first (the status a literal so both databases see
/// the partial index `webhook_deliveries_due` applies).
pub(super) fn due_query(
    t: NaiveDateTime,
    limit: i64,
) -> webhook_deliveries::BoxedQuery<'static, super::MultiBackend, diesel::sql_types::BigInt> {
    webhook_deliveries::table
        .filter(super::literal("webhook_deliveries.status = 'pending'"))
        .filter(webhook_deliveries::next_attempt_at.le(t))
        .filter(
            webhook_deliveries::locked_until
                .is_null()
                .or(webhook_deliveries::locked_until.lt(t)),
        )
        .order(webhook_deliveries::next_attempt_at)
        .limit(limit)
        .select(webhook_deliveries::id)
        .into_boxed()
}

/// Whether an older event of the same conversation still waits for this integration: then
/// this one waits too, so a receiver sees a conversation's events in the order they happened.
pub(super) fn older_pending_query(
    integration_id: i64,
    conversation: Option<ConversationId>,
    id: i64,
) -> webhook_deliveries::BoxedQuery<'static, super::MultiBackend, diesel::sql_types::BigInt> {
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::integration_id.eq(integration_id))
        .filter(super::literal("webhook_deliveries.status = 'pending'"))
        .filter(webhook_deliveries::id.lt(id))
        .select(webhook_deliveries::id)
        .limit(1)
        .into_boxed();
    q = match conversation {
        Some(c) => q.filter(webhook_deliveries::conversation_id.eq(c.0)),
        None => q.filter(webhook_deliveries::conversation_id.is_null()),
    };
    q
}

/// Claims due deliveries of running integrations for one attempt each, skipping any whose
/// conversation has an older event still waiting. The re-checked condition in the UPDATE
/// keeps two instances from claiming the same row; the lease frees a crashed worker's claims.
pub fn claim_due(
    conn: &mut DbConn,
    t: NaiveDateTime,
    limit: i64,
    lease: chrono::Duration,
) -> Result<Vec<(Delivery, Integration)>> {
    let ids: Vec<i64> = due_query(t, limit).load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let candidates: Vec<Delivery> = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq_any(&ids))
        .order(webhook_deliveries::id)
        .select(Delivery::as_select())
        .load(conn)?;
    let mut out = Vec::new();
    for d in candidates {
        let Some(i) = by_id(conn, d.integration_id)? else {
            continue;
        };
        if !i.enabled || i.paused_at.is_some() {
            continue;
        }
        let older: Option<i64> = older_pending_query(d.integration_id, d.conversation_id, d.id)
            .first(conn)
            .optional()?;
        if older.is_some() {
            continue;
        }
        let claimed = diesel::update(
            webhook_deliveries::table
                .find(d.id)
                .filter(webhook_deliveries::status.eq("pending"))
                .filter(
                    webhook_deliveries::locked_until
                        .is_null()
                        .or(webhook_deliveries::locked_until.lt(t)),
                ),
        )
        .set((
            webhook_deliveries::locked_until.eq(t + lease),
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        ))
        .execute(conn)?;
        if claimed == 1 {
            out.push((
                Delivery {
                    attempts: d.attempts + 1,
                    ..d
                },
                i,
            ));
        }
    }
    Ok(out)
}

/// What one attempt got back: the HTTP status and the start of the answer, or why not.
pub struct Attempt<'a> {
    pub status: Option<i32>,
    pub response: Option<&'a str>,
    pub error: Option<&'a str>,
}

pub fn mark_delivered(conn: &mut DbConn, id: i64, t: NaiveDateTime, a: &Attempt) -> Result<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq("delivered"),
            webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::delivered_at.eq(Some(t)),
            webhook_deliveries::last_status.eq(a.status),
            webhook_deliveries::last_response.eq(a.response),
            webhook_deliveries::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// A failed attempt: tried again at `next`; the first failure's time is kept (a day of them
/// pauses the integration).
pub fn retry_later(
    conn: &mut DbConn,
    id: i64,
    t: NaiveDateTime,
    next: NaiveDateTime,
    a: &Attempt,
) -> Result<Option<NaiveDateTime>> {
    let first: Option<NaiveDateTime> = webhook_deliveries::table
        .find(id)
        .select(webhook_deliveries::first_failed_at)
        .first(conn)?;
    let first = first.unwrap_or(t);
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::next_attempt_at.eq(next),
            webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::first_failed_at.eq(Some(first)),
            webhook_deliveries::last_status.eq(a.status),
            webhook_deliveries::last_response.eq(a.response),
            webhook_deliveries::last_error.eq(a.error),
        ))
        .execute(conn)?;
    Ok(Some(first))
}

/// Claimed deliveries not tried (shutting down): free at once, the attempt not counted.
pub fn release(conn: &mut DbConn, ids: &[i64]) -> Result<()> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq_any(ids))
            .filter(webhook_deliveries::status.eq("pending")),
    )
    .set((
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts - 1),
    ))
    .execute(conn)?;
    Ok(())
}

/// "Retry now": a waiting delivery is due at once; a delivered one is sent again as a new
/// attempt. Returns false when there is no such delivery for this integration.
pub fn retry_now(
    conn: &mut DbConn,
    integration_id: i64,
    id: i64,
    t: NaiveDateTime,
) -> Result<bool> {
    let n = diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::integration_id.eq(integration_id)),
    )
    .set((
        webhook_deliveries::status.eq("pending"),
        webhook_deliveries::next_attempt_at.eq(t),
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The delivery log of an integration, newest first (keyset: ids below `before`).
pub fn log_query(
    integration_id: i64,
    before: Option<i64>,
    limit: i64,
) -> webhook_deliveries::BoxedQuery<'static, super::MultiBackend> {
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::integration_id.eq(integration_id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(webhook_deliveries::id.lt(b));
    }
    q
}

pub fn log(
    conn: &mut DbConn,
    integration_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    Ok(log_query(integration_id, before, limit)
        .select(Delivery::as_select())
        .load(conn)?)
}

/// When the next delivery is due, for the worker's sleep.
pub(super) fn next_due_query() -> webhook_deliveries::BoxedQuery<
    'static,
    super::MultiBackend,
    diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
> {
    webhook_deliveries::table
        .filter(super::literal("webhook_deliveries.status = 'pending'"))
        .select(diesel::dsl::min(webhook_deliveries::next_attempt_at))
        .into_boxed()
}

pub fn next_due(conn: &mut DbConn) -> Result<Option<NaiveDateTime>> {
    Ok(next_due_query().first(conn)?)
}
