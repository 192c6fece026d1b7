use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{messages, users};
use super::{DbConn, now};
use crate::domain::{ChannelId, ContactId, ConversationId, ProjectId};
use crate::domain::{Delivery, MessageKind};
use crate::error::{Error, Result};

/// What a customer sees of a thread.
const PUBLIC_KINDS: [&str; 2] = ["customer", "operator"];

#[derive(Queryable, Selectable, Clone, Debug, Serialize)]
#[diesel(table_name = messages)]
pub struct Message {
    pub id: i64,
    pub project_id: ProjectId,
    pub conversation_id: ConversationId,
    #[diesel(deserialize_as = String)]
    pub kind: MessageKind,
    pub author_id: Option<i64>,
    pub text: String,
    #[diesel(deserialize_as = String)]
    pub delivery: Delivery,
    pub error: Option<String>,
    #[serde(skip)]
    pub dedup_key: Option<String>,
    pub platform_id: Option<String>,
    pub created_at: NaiveDateTime,
}

pub struct NewMessage<'a> {
    pub project_id: ProjectId,
    pub conversation_id: ConversationId,
    pub kind: MessageKind,
    pub author_id: Option<i64>,
    pub text: &'a str,
    pub delivery: Delivery,
    pub dedup_key: Option<&'a str>,
    pub platform_id: Option<&'a str>,
    pub at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, m: &NewMessage) -> Result<i64> {
    Ok(diesel::insert_into(messages::table)
        .values((
            messages::project_id.eq(m.project_id),
            messages::conversation_id.eq(m.conversation_id),
            messages::kind.eq(m.kind.as_str()),
            messages::author_id.eq(m.author_id),
            messages::text.eq(m.text),
            messages::delivery.eq(m.delivery.as_str()),
            messages::dedup_key.eq(m.dedup_key),
            messages::platform_id.eq(m.platform_id),
            messages::created_at.eq(m.at),
        ))
        .returning(messages::id)
        .get_result(conn)?)
}

/// A system event in the thread ("Status: new → open by Anna").
pub fn system(
    conn: &mut DbConn,
    project_id: ProjectId,
    conversation_id: ConversationId,
    text: &str,
) -> Result<i64> {
    insert(
        conn,
        &NewMessage {
            project_id,
            conversation_id,
            kind: MessageKind::System,
            author_id: None,
            text,
            delivery: Delivery::None,
            dedup_key: None,
            platform_id: None,
            at: now(),
        },
    )
}

/// (message id, conversation id) of an already stored platform message.
/// Customer messages stored in all (tests and checks: a scan, not for request paths).
pub fn count_from_customers(conn: &mut DbConn) -> Result<i64> {
    Ok(messages::table
        .filter(messages::kind.eq(MessageKind::Customer.as_str()))
        .count()
        .get_result(conn)?)
}

pub fn by_dedup_key(conn: &mut DbConn, key: &str) -> Result<Option<(i64, ConversationId)>> {
    Ok(messages::table
        .filter(messages::dedup_key.eq(key))
        .select((messages::id, messages::conversation_id))
        .first(conn)
        .optional()?)
}

pub fn by_id(conn: &mut DbConn, project_id: ProjectId, id: i64) -> Result<Message> {
    messages::table
        .find(id)
        .filter(messages::project_id.eq(project_id))
        .select(Message::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("message {id} not found")))
}

/// A thread in order, with author names; `public_only` hides notes (what a customer may see).
pub fn thread(
    conn: &mut DbConn,
    conversation_id: ConversationId,
    after_id: i64,
    public_only: bool,
    limit: i64,
) -> Result<Vec<(Message, Option<String>)>> {
    let mut q = messages::table
        .left_join(users::table.on(users::id.nullable().eq(messages::author_id)))
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::id.gt(after_id))
        .into_boxed();
    if public_only {
        q = q.filter(messages::kind.eq_any(PUBLIC_KINDS));
    }
    Ok(q.order(messages::id)
        .limit(limit)
        .select((Message::as_select(), users::name.nullable()))
        .load(conn)?)
}

pub fn set_delivery(
    conn: &mut DbConn,
    id: i64,
    state: Delivery,
    platform_id: Option<&str>,
    error: Option<&str>,
) -> Result<()> {
    diesel::update(messages::table.find(id))
        .set((
            messages::delivery.eq(state.as_str()),
            messages::error.eq(error),
        ))
        .execute(conn)?;
    if let Some(p) = platform_id {
        diesel::update(messages::table.find(id))
            .set(messages::platform_id.eq(p))
            .execute(conn)?;
    }
    Ok(())
}

/// Which of these message ids exist (the load generator's durability check).
pub fn existing_ids(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<i64>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(500) {
        found.extend(
            messages::table
                .filter(messages::id.eq_any(chunk))
                .select(messages::id)
                .load::<i64>(conn)?,
        );
    }
    Ok(found)
}

/// How many stored messages carry one of these platform ids.
pub fn count_platform_ids(conn: &mut DbConn, platform_ids: &[String]) -> Result<i64> {
    let mut n = 0;
    for chunk in platform_ids.chunks(500) {
        n += messages::table
            .filter(messages::platform_id.eq_any(chunk))
            .count()
            .get_result::<i64>(conn)?;
    }
    Ok(n)
}

/// What a customer may see of their conversations in one channel, oldest first.
pub fn public_for_contact(
    conn: &mut DbConn,
    contact_id: ContactId,
    channel_id: ChannelId,
    after_id: i64,
    limit: i64,
) -> Result<Vec<(Message, Option<String>)>> {
    use super::schema::conversations;
    let conv_ids = conversations::table
        .filter(conversations::contact_id.eq(contact_id))
        .filter(conversations::channel_id.eq(channel_id))
        .select(conversations::id);
    Ok(messages::table
        .left_join(users::table.on(users::id.nullable().eq(messages::author_id)))
        .filter(messages::conversation_id.eq_any(conv_ids))
        .filter(messages::kind.eq_any(PUBLIC_KINDS))
        .filter(messages::id.gt(after_id))
        .order(messages::id)
        .limit(limit)
        .select((Message::as_select(), users::name.nullable()))
        .load(conn)?)
}

/// A stored platform message: (dedup key, message id, conversation id, number, contact id).
pub type KnownMessage = (String, i64, ConversationId, i64, ContactId);

/// Which of these dedup keys are stored already, with where they went.
pub fn by_dedup_keys(conn: &mut DbConn, keys: &[String]) -> Result<Vec<KnownMessage>> {
    use super::schema::conversations;
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        let rows: Vec<(Option<String>, i64, ConversationId, i64, ContactId)> = messages::table
            .inner_join(conversations::table)
            .filter(messages::dedup_key.eq_any(chunk))
            .select((
                messages::dedup_key,
                messages::id,
                messages::conversation_id,
                conversations::number,
                conversations::contact_id,
            ))
            .load(conn)?;
        out.extend(
            rows.into_iter()
                .filter_map(|(k, m, c, n, ct)| k.map(|k| (k, m, c, n, ct))),
        );
    }
    Ok(out)
}

/// Applies a platform's delivery report to the operator message it sent as `platform_id`.
/// States only move forward (a late "delivered" never undoes "read").
pub fn report_delivery(
    conn: &mut DbConn,
    channel_id: ChannelId,
    platform_id: &str,
    state: Delivery,
    error: Option<&str>,
) -> Result<Option<(i64, ConversationId)>> {
    use super::schema::conversations;
    let rank = |s: Delivery| match s {
        Delivery::Pending => 0,
        Delivery::Sent => 1,
        Delivery::Delivered => 2,
        Delivery::Read => 3,
        Delivery::Failed => 4,
        Delivery::Received | Delivery::None => -1,
    };
    let found: Option<(i64, String, ConversationId)> = messages::table
        .inner_join(conversations::table)
        .filter(conversations::channel_id.eq(channel_id))
        .filter(messages::platform_id.eq(platform_id))
        .filter(messages::kind.eq(MessageKind::Operator.as_str()))
        .select((messages::id, messages::delivery, messages::conversation_id))
        .first(conn)
        .optional()?;
    let Some((id, current, conversation_id)) = found else {
        return Ok(None);
    };
    if rank(state) <= Delivery::parse(&current).map(rank).unwrap_or(-1) {
        return Ok(None);
    }
    diesel::update(messages::table.find(id))
        .set((
            messages::delivery.eq(state.as_str()),
            messages::error.eq(error),
        ))
        .execute(conn)?;
    Ok(Some((id, conversation_id)))
}

/// The customer has seen the operators' delivered messages up to `up_to` in their
/// conversations of this channel (the widget says so): those become read. Returns
/// (message, conversation) of each.
pub fn read_by_customer(
    conn: &mut DbConn,
    contact_id: ContactId,
    channel_id: ChannelId,
    up_to: i64,
) -> Result<Vec<(i64, ConversationId)>> {
    use super::schema::conversations;
    let conv_ids = conversations::table
        .filter(conversations::contact_id.eq(contact_id))
        .filter(conversations::channel_id.eq(channel_id))
        .select(conversations::id);
    Ok(diesel::update(
        messages::table
            .filter(messages::conversation_id.eq_any(conv_ids))
            .filter(messages::kind.eq(MessageKind::Operator.as_str()))
            .filter(
                messages::delivery.eq_any([Delivery::Sent.as_str(), Delivery::Delivered.as_str()]),
            )
            .filter(messages::id.le(up_to)),
    )
    .set(messages::delivery.eq(Delivery::Read.as_str()))
    .returning((messages::id, messages::conversation_id))
    .get_results(conn)?)
}
