//! A project's tags and the conversations that carry them.

use std::collections::HashMap;

use diesel::prelude::*;

use super::DbConn;
use super::now;
use super::schema::{contact_tags, conversation_tags, tags};
use crate::domain::tag;
use crate::domain::{ContactId, ConversationId, ProjectId, TagColour};
use crate::error::{Error, Result};

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = tags)]
pub struct Tag {
    pub id: i64,
    pub project_id: ProjectId,
    pub name: String,
    #[diesel(deserialize_as = String)]
    pub colour: TagColour,
}

fn taken(name: &str) -> Error {
    Error::Conflict(format!("the project has a tag named \"{name}\""))
}

fn with_key(conn: &mut DbConn, project_id: ProjectId, key: &str) -> Result<Option<Tag>> {
    Ok(tags::table
        .filter(tags::project_id.eq(project_id))
        .filter(tags::name_key.eq(key))
        .select(Tag::as_select())
        .first(conn)
        .optional()?)
}

/// The project's tag of this name (any case), if it has one.
pub fn by_name(conn: &mut DbConn, project_id: ProjectId, name: &str) -> Result<Option<Tag>> {
    with_key(conn, project_id, &tag::key(name.trim()))
}

/// `name` as checked by `domain::tag::name`.
pub fn create(
    conn: &mut DbConn,
    project_id: ProjectId,
    name: &str,
    colour: TagColour,
) -> Result<Tag> {
    let key = tag::key(name);
    if with_key(conn, project_id, &key)?.is_some() {
        return Err(taken(name));
    }
    let id: i64 = diesel::insert_into(tags::table)
        .values((
            tags::project_id.eq(project_id),
            tags::name.eq(name),
            tags::name_key.eq(&key),
            tags::colour.eq(colour.as_str()),
            tags::created_at.eq(now()),
        ))
        .returning(tags::id)
        .get_result(conn)
        .map_err(|e| match Error::from(e) {
            Error::Unique(_) => taken(name),
            other => other,
        })?;
    by_id(conn, project_id, id)
}

pub fn update(conn: &mut DbConn, existing: &Tag, name: &str, colour: TagColour) -> Result<Tag> {
    let key = tag::key(name);
    if let Some(other) = with_key(conn, existing.project_id, &key)?
        && other.id != existing.id
    {
        return Err(taken(name));
    }
    diesel::update(tags::table.find(existing.id))
        .set((
            tags::name.eq(name),
            tags::name_key.eq(&key),
            tags::colour.eq(colour.as_str()),
        ))
        .execute(conn)
        .map_err(|e| match Error::from(e) {
            Error::Unique(_) => taken(name),
            other => other,
        })?;
    by_id(conn, existing.project_id, existing.id)
}

/// Deletes a tag and takes it off every conversation and contact.
pub fn delete(conn: &mut DbConn, id: i64) -> Result<()> {
    diesel::delete(conversation_tags::table.filter(conversation_tags::tag_id.eq(id)))
        .execute(conn)?;
    diesel::delete(contact_tags::table.filter(contact_tags::tag_id.eq(id))).execute(conn)?;
    diesel::delete(tags::table.find(id)).execute(conn)?;
    Ok(())
}

pub fn by_id(conn: &mut DbConn, project_id: ProjectId, id: i64) -> Result<Tag> {
    tags::table
        .filter(tags::project_id.eq(project_id))
        .filter(tags::id.eq(id))
        .select(Tag::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("no tag {id} in this project")))
}

/// The project's tags by name.
pub fn of_project(conn: &mut DbConn, project_id: ProjectId) -> Result<Vec<Tag>> {
    Ok(tags::table
        .filter(tags::project_id.eq(project_id))
        .order(tags::name_key.asc())
        .select(Tag::as_select())
        .load(conn)?)
}

/// The tags with these names (any case); a name the project has no tag for is refused.
pub fn named(conn: &mut DbConn, project_id: ProjectId, names: &[String]) -> Result<Vec<Tag>> {
    let keys: Vec<String> = names.iter().map(|n| tag::key(n.trim())).collect();
    let found: Vec<Tag> = tags::table
        .filter(tags::project_id.eq(project_id))
        .filter(tags::name_key.eq_any(&keys))
        .select(Tag::as_select())
        .load(conn)?;
    for (n, k) in names.iter().zip(&keys) {
        if !found.iter().any(|t| tag::key(&t.name) == *k) {
            return Err(Error::invalid(format!(
                "the project has no tag \"{}\" (tags are added in Settings → Tags)",
                n.trim()
            )));
        }
    }
    Ok(found)
}

/// How many conversations carry each tag, counted no further than `cap`.
pub fn usage(conn: &mut DbConn, tag_ids: &[i64], cap: i64) -> Result<HashMap<i64, i64>> {
    let mut out = HashMap::new();
    for &t in tag_ids {
        let ids: Vec<i64> = conversation_tags::table
            .filter(conversation_tags::tag_id.eq(t))
            .select(conversation_tags::conversation_id)
            .limit(cap)
            .load(conn)?;
        out.insert(t, ids.len() as i64);
    }
    Ok(out)
}

/// The tags of these conversations (a page of a list), by name.
pub fn of_conversations(
    conn: &mut DbConn,
    ids: &[ConversationId],
) -> Result<HashMap<ConversationId, Vec<Tag>>> {
    let mut out: HashMap<ConversationId, Vec<Tag>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, Tag)> = conversation_tags::table
        .inner_join(tags::table.on(tags::id.eq(conversation_tags::tag_id)))
        .filter(conversation_tags::conversation_id.eq_any(ids.iter().map(|i| i.0)))
        .order(tags::name_key.asc())
        .select((conversation_tags::conversation_id, Tag::as_select()))
        .load(conn)?;
    for (c, t) in rows {
        out.entry(ConversationId(c)).or_default().push(t);
    }
    Ok(out)
}

/// What putting exactly `wanted` on something that carries `now_on` adds and takes off.
fn difference(now_on: Vec<Tag>, wanted: &[Tag]) -> (Vec<Tag>, Vec<Tag>) {
    let added: Vec<Tag> = wanted
        .iter()
        .filter(|t| !now_on.iter().any(|o| o.id == t.id))
        .cloned()
        .collect();
    let removed: Vec<Tag> = now_on
        .into_iter()
        .filter(|o| !wanted.iter().any(|t| t.id == o.id))
        .collect();
    (added, removed)
}

/// Puts exactly these tags on a conversation; returns those added and those taken off.
pub fn set_for_conversation(
    conn: &mut DbConn,
    conversation_id: ConversationId,
    wanted: &[Tag],
) -> Result<(Vec<Tag>, Vec<Tag>)> {
    let now_on = of_conversations(conn, &[conversation_id])?
        .remove(&conversation_id)
        .unwrap_or_default();
    let (added, removed) = difference(now_on, wanted);
    if !removed.is_empty() {
        diesel::delete(
            conversation_tags::table
                .filter(conversation_tags::conversation_id.eq(conversation_id.0))
                .filter(conversation_tags::tag_id.eq_any(removed.iter().map(|t| t.id))),
        )
        .execute(conn)?;
    }
    for t in &added {
        diesel::insert_into(conversation_tags::table)
            .values((
                conversation_tags::conversation_id.eq(conversation_id.0),
                conversation_tags::tag_id.eq(t.id),
            ))
            .execute(conn)?;
    }
    Ok((added, removed))
}

/// The tags of these contacts (a page of the contacts list), by name.
pub fn of_contacts(conn: &mut DbConn, ids: &[ContactId]) -> Result<HashMap<ContactId, Vec<Tag>>> {
    let mut out: HashMap<ContactId, Vec<Tag>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, Tag)> = contact_tags::table
        .inner_join(tags::table.on(tags::id.eq(contact_tags::tag_id)))
        .filter(contact_tags::contact_id.eq_any(ids.iter().map(|i| i.0)))
        .order(tags::name_key.asc())
        .select((contact_tags::contact_id, Tag::as_select()))
        .load(conn)?;
    for (c, t) in rows {
        out.entry(ContactId(c)).or_default().push(t);
    }
    Ok(out)
}

/// Puts exactly these tags on a contact; returns those added and those taken off.
pub fn set_for_contact(
    conn: &mut DbConn,
    contact_id: ContactId,
    wanted: &[Tag],
) -> Result<(Vec<Tag>, Vec<Tag>)> {
    let now_on = of_contacts(conn, &[contact_id])?
        .remove(&contact_id)
        .unwrap_or_default();
    let (added, removed) = difference(now_on, wanted);
    if !removed.is_empty() {
        diesel::delete(
            contact_tags::table
                .filter(contact_tags::contact_id.eq(contact_id.0))
                .filter(contact_tags::tag_id.eq_any(removed.iter().map(|t| t.id))),
        )
        .execute(conn)?;
    }
    for t in &added {
        diesel::insert_into(contact_tags::table)
            .values((
                contact_tags::contact_id.eq(contact_id.0),
                contact_tags::tag_id.eq(t.id),
            ))
            .execute(conn)?;
    }
    Ok((added, removed))
}

/// The newest `limit` conversations with this tag (by id), for the list's tag filter.
pub fn conversations_with(conn: &mut DbConn, tag_id: i64, limit: i64) -> Result<Vec<i64>> {
    Ok(tagged_query(tag_id, limit).load(conn)?)
}

pub(super) fn tagged_query(
    tag_id: i64,
    limit: i64,
) -> conversation_tags::BoxedQuery<'static, super::MultiBackend, diesel::sql_types::BigInt> {
    conversation_tags::table
        .filter(conversation_tags::tag_id.eq(tag_id))
        .order(conversation_tags::conversation_id.desc())
        .select(conversation_tags::conversation_id)
        .limit(limit)
        .into_boxed()
}
