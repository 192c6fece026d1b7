//! What a CRM integration made of a conversation (its lead or deal, the contact, how much of
//! the thread went into it). Written after every step the CRM accepted, so a retried event
//! carries on where the last attempt stopped instead of making a second lead.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::crm_links;
use crate::domain::{ConversationId, ProjectId};
use crate::error::Result;

/// The progress of one conversation in one CRM.
#[derive(Clone, Debug, Default, PartialEq, Queryable, Selectable)]
#[diesel(table_name = crm_links)]
pub struct Progress {
    /// "lead" or "deal".
    pub entity: String,
    pub entity_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// Where a person opens it in the CRM.
    pub url: Option<String>,
    pub first_message_id: Option<i64>,
    pub transcript_until: Option<i64>,
}

pub(super) fn of_query(
    integration_id: i64,
    conversation_id: ConversationId,
) -> crm_links::BoxedQuery<'static, super::MultiBackend> {
    crm_links::table
        .filter(crm_links::conversation_id.eq(conversation_id.0))
        .filter(crm_links::integration_id.eq(integration_id))
        .into_boxed()
}

pub fn of(
    conn: &mut DbConn,
    integration_id: i64,
    conversation_id: ConversationId,
) -> Result<Option<Progress>> {
    Ok(of_query(integration_id, conversation_id)
        .select(Progress::as_select())
        .first(conn)
        .optional()?)
}

/// Records how far a conversation got in a CRM (made on its first step).
pub fn save(
    conn: &mut DbConn,
    integration_id: i64,
    project_id: ProjectId,
    conversation_id: ConversationId,
    p: &Progress,
    t: NaiveDateTime,
) -> Result<()> {
    let changed = diesel::update(
        crm_links::table
            .filter(crm_links::conversation_id.eq(conversation_id.0))
            .filter(crm_links::integration_id.eq(integration_id)),
    )
    .set((
        crm_links::entity.eq(&p.entity),
        crm_links::entity_id.eq(p.entity_id),
        crm_links::contact_id.eq(p.contact_id),
        crm_links::url.eq(&p.url),
        crm_links::first_message_id.eq(p.first_message_id),
        crm_links::transcript_until.eq(p.transcript_until),
        crm_links::updated_at.eq(t),
    ))
    .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(crm_links::table)
            .values((
                crm_links::integration_id.eq(integration_id),
                crm_links::project_id.eq(project_id),
                crm_links::conversation_id.eq(conversation_id.0),
                crm_links::entity.eq(&p.entity),
                crm_links::entity_id.eq(p.entity_id),
                crm_links::contact_id.eq(p.contact_id),
                crm_links::url.eq(&p.url),
                crm_links::first_message_id.eq(p.first_message_id),
                crm_links::transcript_until.eq(p.transcript_until),
                crm_links::created_at.eq(t),
                crm_links::updated_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A conversation's leads and deals, for its sidebar: the integration's name, the entity and
/// its address.
pub struct Shown {
    pub integration: String,
    pub kind: String,
    pub entity: String,
    pub entity_id: i64,
    pub url: String,
}

pub(super) fn of_conversation_query(
    project_id: ProjectId,
    conversation_id: ConversationId,
) -> crm_links::BoxedQuery<'static, super::MultiBackend> {
    crm_links::table
        .filter(crm_links::conversation_id.eq(conversation_id.0))
        .filter(crm_links::project_id.eq(project_id))
        .filter(crm_links::entity_id.is_not_null())
        .order(crm_links::id)
        .into_boxed()
}

pub fn of_conversation(
    conn: &mut DbConn,
    project_id: ProjectId,
    conversation_id: ConversationId,
) -> Result<Vec<Shown>> {
    let rows: Vec<(i64, Progress)> = of_conversation_query(project_id, conversation_id)
        .select((crm_links::integration_id, Progress::as_select()))
        .load(conn)?;
    let mut out = Vec::new();
    for (integration_id, p) in rows {
        let Some(i) = super::integrations::by_id(conn, integration_id)? else {
            continue;
        };
        if let (Some(entity_id), Some(url)) = (p.entity_id, p.url) {
            out.push(Shown {
                integration: i.name,
                kind: i.kind.as_str().to_string(),
                entity: p.entity,
                entity_id,
                url,
            });
        }
    }
    Ok(out)
}

/// Removes an integration's links (the integration is being removed).
pub fn forget_integration(conn: &mut DbConn, integration_id: i64) -> Result<()> {
    diesel::delete(crm_links::table.filter(crm_links::integration_id.eq(integration_id)))
        .execute(conn)?;
    Ok(())
}
