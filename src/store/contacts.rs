use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::contact_list::Organization;
use super::conversations::Conversation;
use super::schema::{contact_identities, contacts, organizations, users};
use super::{DbConn, now};
use crate::domain::contact::{ContactInput, phone_key};
use crate::domain::{ChannelId, ContactId, ProjectId};
use crate::error::{Error, Result};

#[derive(Queryable, Selectable, Clone, Debug, Serialize)]
#[diesel(table_name = contacts)]
pub struct Contact {
    pub id: ContactId,
    pub project_id: ProjectId,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub vip: bool,
    pub organization_id: Option<i64>,
    /// The customer's language as their messenger reports it ("ru", "en"…).
    pub language: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// On the project's blacklist since then: what they write is withheld from the inbox.
    pub blacklisted_at: Option<NaiveDateTime>,
    pub blacklist_reason: Option<String>,
    pub blacklisted_by: Option<i64>,
}

/// What a channel knows about the person writing.
#[derive(Clone, Debug, Default)]
pub struct ContactHint {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub language: Option<String>,
}

/// Finds the contact behind a channel identity, creating both on first contact.
/// Returns the contact and whether it was created now.
pub fn find_or_create(
    conn: &mut DbConn,
    project_id: ProjectId,
    channel_id: ChannelId,
    external_id: &str,
    hint: &ContactHint,
) -> Result<(Contact, bool)> {
    // One query for identity and contact: this runs for every inbound message.
    let existing: Option<(Contact, bool)> = contact_identities::table
        .inner_join(contacts::table)
        .filter(contact_identities::channel_id.eq(channel_id))
        .filter(contact_identities::external_id.eq(external_id))
        .filter(contacts::project_id.eq(project_id))
        .select((Contact::as_select(), contact_identities::blocked))
        .first(conn)
        .optional()?;
    if let Some((contact, blocked)) = existing {
        if blocked {
            // Writing again means they can be reached again.
            set_blocked(conn, channel_id, external_id, false)?;
        }
        return if fill_missing(conn, &contact, hint)? {
            Ok((by_id(conn, project_id, contact.id)?, false))
        } else {
            Ok((contact, false))
        };
    }
    Ok((
        create_with_identity(conn, project_id, channel_id, external_id, hint)?,
        true,
    ))
}

/// A new contact with its first identity, for a caller that knows the identity is new (the
/// inbound batch read all of its identities at once). Should another writer have added it
/// meanwhile, the unique index refuses this one.
pub fn create_with_identity(
    conn: &mut DbConn,
    project_id: ProjectId,
    channel_id: ChannelId,
    external_id: &str,
    hint: &ContactHint,
) -> Result<Contact> {
    let t = now();
    let name = hint
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(DEFAULT_NAME);
    let id: ContactId = diesel::insert_into(contacts::table)
        .values((
            contacts::project_id.eq(project_id),
            contacts::name.eq(name),
            contacts::phone.eq(hint.phone.as_deref()),
            contacts::phone_key.eq(hint.phone.as_deref().and_then(phone_key)),
            contacts::email.eq(hint.email.as_deref()),
            contacts::vip.eq(false),
            contacts::language.eq(hint.language.as_deref()),
            contacts::created_at.eq(t),
            contacts::updated_at.eq(t),
        ))
        .returning(contacts::id)
        .get_result(conn)?;
    diesel::insert_into(contact_identities::table)
        .values((
            contact_identities::project_id.eq(project_id),
            contact_identities::channel_id.eq(channel_id),
            contact_identities::external_id.eq(external_id),
            contact_identities::contact_id.eq(id),
            contact_identities::created_at.eq(t),
        ))
        .execute(conn)?;
    Ok(Contact {
        id,
        project_id,
        name: name.to_string(),
        phone: hint.phone.clone(),
        email: hint.email.clone(),
        vip: false,
        organization_id: None,
        language: hint.language.clone(),
        created_at: t,
        updated_at: t,
        blacklisted_at: None,
        blacklist_reason: None,
        blacklisted_by: None,
    })
}

/// Name given to contacts whose channel tells us none.
pub const DEFAULT_NAME: &str = "Посетитель";

/// A channel may learn a name or email later (a widget contact form); never overwrite what
/// an operator typed.
/// Fills what a channel newly tells about the contact; returns whether anything changed.
pub fn fill_missing(conn: &mut DbConn, c: &Contact, hint: &ContactHint) -> Result<bool> {
    let mut changed = false;
    let name = hint
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if let Some(n) = name
        && c.name == DEFAULT_NAME
    {
        diesel::update(contacts::table.find(c.id))
            .set((contacts::name.eq(n), contacts::updated_at.eq(now())))
            .execute(conn)?;
        changed = true;
    }
    if c.email.is_none() && hint.email.is_some() {
        diesel::update(contacts::table.find(c.id))
            .set(contacts::email.eq(hint.email.as_deref()))
            .execute(conn)?;
        changed = true;
    }
    if hint.language.is_some() && c.language != hint.language {
        diesel::update(contacts::table.find(c.id))
            .set(contacts::language.eq(hint.language.as_deref()))
            .execute(conn)?;
        changed = true;
    }
    if c.phone.is_none() && hint.phone.is_some() {
        diesel::update(contacts::table.find(c.id))
            .set((
                contacts::phone.eq(hint.phone.as_deref()),
                contacts::phone_key.eq(hint.phone.as_deref().and_then(phone_key)),
            ))
            .execute(conn)?;
        changed = true;
    }
    Ok(changed)
}

pub fn by_id(conn: &mut DbConn, project_id: ProjectId, id: ContactId) -> Result<Contact> {
    contacts::table
        .find(id)
        .filter(contacts::project_id.eq(project_id))
        .select(Contact::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("contact {id} not found")))
}

/// The project's contacts with these ids (one query for a page of conversations).
pub fn by_ids(conn: &mut DbConn, project_id: ProjectId, ids: &[ContactId]) -> Result<Vec<Contact>> {
    let ids: Vec<i64> = ids.iter().map(|c| c.0).collect();
    Ok(contacts::table
        .filter(contacts::id.eq_any(&ids))
        .filter(contacts::project_id.eq(project_id))
        .select(Contact::as_select())
        .load(conn)?)
}

/// The contact's organisation and its manager, for the sidebar.
pub fn organization(conn: &mut DbConn, c: &Contact) -> Result<Option<Organization>> {
    let Some(org_id) = c.organization_id else {
        return Ok(None);
    };
    Ok(super::contact_list::organizations(conn, &[org_id])?.remove(&org_id))
}

/// The customer's id in a channel and whether they blocked us there.
/// Where replies in a conversation go, and whether that identity blocked us: the identity the
/// customer last wrote from, else the contact's oldest one in the conversation's channel.
pub fn recipient(conn: &mut DbConn, conv: &Conversation) -> Result<Option<(String, bool)>> {
    let of_contact = || {
        contact_identities::table
            .filter(contact_identities::contact_id.eq(conv.contact_id))
            .filter(contact_identities::channel_id.eq(conv.channel_id))
            .select((contact_identities::external_id, contact_identities::blocked))
    };
    if let Some(from) = &conv.reply_to
        && let Some(found) = of_contact()
            .filter(contact_identities::external_id.eq(from))
            .first(conn)
            .optional()?
    {
        return Ok(Some(found));
    }
    Ok(of_contact()
        .order(contact_identities::id.asc())
        .first(conn)
        .optional()?)
}

pub fn set_blocked(
    conn: &mut DbConn,
    channel_id: ChannelId,
    external_id: &str,
    blocked: bool,
) -> Result<()> {
    diesel::update(
        contact_identities::table
            .filter(contact_identities::channel_id.eq(channel_id))
            .filter(contact_identities::external_id.eq(external_id)),
    )
    .set(contact_identities::blocked.eq(blocked))
    .execute(conn)?;
    Ok(())
}

pub fn by_identity(
    conn: &mut DbConn,
    channel_id: ChannelId,
    external_id: &str,
) -> Result<Option<ContactId>> {
    Ok(contact_identities::table
        .filter(contact_identities::channel_id.eq(channel_id))
        .filter(contact_identities::external_id.eq(external_id))
        .select(contact_identities::contact_id)
        .first(conn)
        .optional()?)
}

/// The project's organisation of this name (created on first use) with its VIP mark and
/// manager as given.
fn organization_id(
    conn: &mut DbConn,
    project_id: ProjectId,
    name: &str,
    vip: bool,
    manager_id: Option<i64>,
) -> Result<i64> {
    let existing: Option<i64> = organizations::table
        .filter(organizations::project_id.eq(project_id))
        .filter(organizations::name.eq(name))
        .select(organizations::id)
        .first(conn)
        .optional()?;
    let id = match existing {
        Some(o) => o,
        None => diesel::insert_into(organizations::table)
            .values((
                organizations::project_id.eq(project_id),
                organizations::name.eq(name),
                organizations::vip.eq(false),
            ))
            .returning(organizations::id)
            .get_result(conn)?,
    };
    diesel::update(organizations::table.find(id))
        .set((
            organizations::vip.eq(vip),
            organizations::manager_id.eq(manager_id),
        ))
        .execute(conn)?;
    Ok(id)
}

/// The organisation the input names, as its id; None detaches.
fn organization_of(
    conn: &mut DbConn,
    project_id: ProjectId,
    e: &ContactInput,
) -> Result<Option<i64>> {
    e.organization
        .as_deref()
        .map(|name| organization_id(conn, project_id, name, e.organization_vip, e.manager_id))
        .transpose()
}

/// Replaces what an operator may change about a contact (`e` as checked by
/// `domain::contact`).
pub fn update(
    conn: &mut DbConn,
    project_id: ProjectId,
    id: ContactId,
    e: &ContactInput,
) -> Result<Contact> {
    let contact = by_id(conn, project_id, id)?;
    let org_id = organization_of(conn, project_id, e)?;
    diesel::update(contacts::table.find(contact.id))
        .set((
            contacts::name.eq(&e.name),
            contacts::phone.eq(e.phone.as_deref()),
            contacts::phone_key.eq(e.phone.as_deref().and_then(phone_key)),
            contacts::email.eq(e.email.as_deref()),
            contacts::vip.eq(e.vip),
            contacts::organization_id.eq(org_id),
            contacts::updated_at.eq(now()),
        ))
        .execute(conn)?;
    by_id(conn, project_id, id)
}

/// A contact typed in by hand or imported: no channel identity yet (they get one when they
/// write, e.g. by sharing this phone with the bot).
pub fn create(conn: &mut DbConn, project_id: ProjectId, e: &ContactInput) -> Result<Contact> {
    let org_id = organization_of(conn, project_id, e)?;
    let t = now();
    let id: ContactId = diesel::insert_into(contacts::table)
        .values((
            contacts::project_id.eq(project_id),
            contacts::name.eq(&e.name),
            contacts::phone.eq(e.phone.as_deref()),
            contacts::phone_key.eq(e.phone.as_deref().and_then(phone_key)),
            contacts::email.eq(e.email.as_deref()),
            contacts::vip.eq(e.vip),
            contacts::organization_id.eq(org_id),
            contacts::created_at.eq(t),
            contacts::updated_at.eq(t),
        ))
        .returning(contacts::id)
        .get_result(conn)?;
    by_id(conn, project_id, id)
}

/// Contacts behind many identities of one channel at once: (external id, contact, blocked).
/// The channel already pins the project; filtering on it again made PostgreSQL's generic plan
/// hash-join every contact of the project.
pub fn by_identities(
    conn: &mut DbConn,
    channel_id: ChannelId,
    external_ids: &[String],
) -> Result<Vec<(String, Contact, bool)>> {
    let mut out = Vec::new();
    for chunk in external_ids.chunks(500) {
        out.extend(
            contact_identities::table
                .inner_join(contacts::table)
                .filter(contact_identities::channel_id.eq(channel_id))
                .filter(contact_identities::external_id.eq_any(chunk))
                .select((
                    contact_identities::external_id,
                    Contact::as_select(),
                    contact_identities::blocked,
                ))
                .load::<(String, Contact, bool)>(conn)?,
        );
    }
    Ok(out)
}

/// Whether this channel identity blocked us (false when unknown).
pub fn identity_blocked(
    conn: &mut DbConn,
    channel_id: ChannelId,
    external_id: &str,
) -> Result<bool> {
    Ok(contact_identities::table
        .filter(contact_identities::channel_id.eq(channel_id))
        .filter(contact_identities::external_id.eq(external_id))
        .select(contact_identities::blocked)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}

/// The project's contact with this phone number however it is written (see
/// `domain::contact::phone_key`); the oldest, if several share it.
pub fn by_phone(conn: &mut DbConn, project_id: ProjectId, phone: &str) -> Result<Option<Contact>> {
    let Some(key) = phone_key(phone).filter(|k| k.len() >= 5) else {
        return Ok(None);
    };
    Ok(with_phone_key(project_id, key)
        .select(Contact::as_select())
        .first(conn)
        .optional()?)
}

/// The project's contacts with this phone key, the oldest first.
pub(super) fn with_phone_key(
    project_id: ProjectId,
    key: String,
) -> contacts::BoxedQuery<'static, super::MultiBackend> {
    contacts::table
        .filter(contacts::project_id.eq(project_id))
        .filter(contacts::phone_key.eq(key))
        .order(contacts::id.asc())
        .into_boxed()
}

/// The project's contact with this e-mail address (lower-cased); the oldest, if several.
pub fn by_email(conn: &mut DbConn, project_id: ProjectId, email: &str) -> Result<Option<Contact>> {
    Ok(contacts::table
        .filter(contacts::project_id.eq(project_id))
        .filter(contacts::email.eq(email))
        .order(contacts::id.asc())
        .select(Contact::as_select())
        .first(conn)
        .optional()?)
}

/// Links a channel identity to an existing contact (registration by phone).
pub fn link_identity(
    conn: &mut DbConn,
    project_id: ProjectId,
    channel_id: ChannelId,
    external_id: &str,
    contact_id: ContactId,
) -> Result<()> {
    diesel::insert_into(contact_identities::table)
        .values((
            contact_identities::project_id.eq(project_id),
            contact_identities::channel_id.eq(channel_id),
            contact_identities::external_id.eq(external_id),
            contact_identities::contact_id.eq(contact_id),
            contact_identities::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Details the customer gave themselves (the widget's contact form): they replace what was
/// there.
pub fn set_given(conn: &mut DbConn, id: ContactId, hint: &ContactHint) -> Result<()> {
    if let Some(n) = &hint.name {
        diesel::update(contacts::table.find(id))
            .set((contacts::name.eq(n), contacts::updated_at.eq(now())))
            .execute(conn)?;
    }
    if let Some(p) = &hint.phone {
        diesel::update(contacts::table.find(id))
            .set((contacts::phone.eq(p), contacts::phone_key.eq(phone_key(p))))
            .execute(conn)?;
    }
    if let Some(e) = &hint.email {
        diesel::update(contacts::table.find(id))
            .set(contacts::email.eq(e))
            .execute(conn)?;
    }
    Ok(())
}

/// Puts a contact on the project's blacklist (Some) or takes them off it (None).
pub fn set_blacklisted(
    conn: &mut DbConn,
    project_id: ProjectId,
    id: ContactId,
    by: Option<(i64, &str)>,
) -> Result<Contact> {
    by_id(conn, project_id, id)?;
    let (at, user, reason) = match by {
        Some((user, reason)) => (Some(now()), Some(user), Some(reason.to_string())),
        None => (None, None, None),
    };
    diesel::update(contacts::table.find(id))
        .set((
            contacts::blacklisted_at.eq(at),
            contacts::blacklisted_by.eq(user),
            contacts::blacklist_reason.eq(reason),
        ))
        .execute(conn)?;
    by_id(conn, project_id, id)
}

/// The project's blacklist, newest first, with who put each contact there (read through
/// the partial index on blacklisted contacts).
pub fn blacklisted(
    conn: &mut DbConn,
    project_id: ProjectId,
) -> Result<Vec<(Contact, Option<String>)>> {
    Ok(contacts::table
        .left_join(users::table.on(users::id.nullable().eq(contacts::blacklisted_by)))
        .filter(contacts::project_id.eq(project_id))
        .filter(contacts::blacklisted_at.is_not_null())
        .order(contacts::blacklisted_at.desc())
        .select((Contact::as_select(), users::name.nullable()))
        .load(conn)?)
}

/// Where a contact writes from: (channel, id in that channel, whether they blocked us there),
/// the oldest first.
pub fn identities(conn: &mut DbConn, id: ContactId) -> Result<Vec<(ChannelId, String, bool)>> {
    Ok(contact_identities::table
        .filter(contact_identities::contact_id.eq(id))
        .order(contact_identities::id.asc())
        .select((
            contact_identities::channel_id,
            contact_identities::external_id,
            contact_identities::blocked,
        ))
        .limit(100)
        .load(conn)?)
}
