//! Merging two contacts that are one person (who wrote from Telegram and from WhatsApp): the
//! kept contact takes the other's identities, conversations, withheld messages and tags, and
//! fills its empty details from the other's; the other is deleted. One transaction.

use diesel::prelude::*;

use super::contacts::{self as contact_rows, Contact};
use super::schema::{contact_identities, contact_tags, contacts, conversations, withheld_messages};
use super::{DbConn, now};
use crate::domain::{ContactId, ProjectId};
use crate::error::{Error, Result};

/// What a merge moved, for the audit log and the caller's answer.
#[derive(Clone, Debug)]
pub struct Merged {
    pub kept: Contact,
    pub removed: Contact,
    pub conversations: usize,
    pub identities: usize,
}

pub fn merge(
    conn: &mut DbConn,
    project_id: ProjectId,
    keep: ContactId,
    remove: ContactId,
) -> Result<Merged> {
    if keep == remove {
        return Err(Error::invalid("a contact cannot be merged with itself"));
    }
    // Locking the removed row first makes a message arriving for it meanwhile wait, and then
    // fail its foreign key and be retried (it then finds the kept contact), instead of
    // leaving a conversation behind on a deleted contact.
    macro_rules! row {
        () => {
            contacts::table
                .filter(contacts::project_id.eq(project_id))
                .filter(contacts::id.eq(remove))
                .select(Contact::as_select())
        };
    }
    let removed: Option<Contact> = match conn {
        DbConn::Postgresql(c) => row!().for_update().first(c).optional()?,
        DbConn::Sqlite(c) => row!().first(c).optional()?,
    };
    let removed =
        removed.ok_or_else(|| Error::not_found(format!("no contact {remove} in this project")))?;
    let kept = contact_rows::by_id(conn, project_id, keep)?;
    let identities =
        diesel::update(contact_identities::table.filter(contact_identities::contact_id.eq(remove)))
            .set(contact_identities::contact_id.eq(keep))
            .execute(conn)?;
    let moved = diesel::update(conversations::table.filter(conversations::contact_id.eq(remove)))
        .set(conversations::contact_id.eq(keep))
        .execute(conn)?;
    diesel::update(withheld_messages::table.filter(withheld_messages::contact_id.eq(remove)))
        .set(withheld_messages::contact_id.eq(keep))
        .execute(conn)?;
    let keep_tags: Vec<i64> = contact_tags::table
        .filter(contact_tags::contact_id.eq(keep))
        .select(contact_tags::tag_id)
        .load(conn)?;
    let other_tags: Vec<i64> = contact_tags::table
        .filter(contact_tags::contact_id.eq(remove))
        .select(contact_tags::tag_id)
        .load(conn)?;
    for t in other_tags.iter().filter(|t| !keep_tags.contains(t)) {
        diesel::insert_into(contact_tags::table)
            .values((
                contact_tags::contact_id.eq(keep),
                contact_tags::tag_id.eq(t),
            ))
            .execute(conn)?;
    }
    diesel::delete(contact_tags::table.filter(contact_tags::contact_id.eq(remove)))
        .execute(conn)?;
    let phone = kept.phone.clone().or_else(|| removed.phone.clone());
    let blacklist = if kept.blacklisted_at.is_some() {
        (
            kept.blacklisted_at,
            kept.blacklist_reason.clone(),
            kept.blacklisted_by,
        )
    } else {
        (
            removed.blacklisted_at,
            removed.blacklist_reason.clone(),
            removed.blacklisted_by,
        )
    };
    let name = if kept.name == contact_rows::DEFAULT_NAME {
        removed.name.clone()
    } else {
        kept.name.clone()
    };
    diesel::delete(contacts::table.find(remove)).execute(conn)?;
    diesel::update(contacts::table.find(keep))
        .set((
            contacts::name.eq(name),
            contacts::phone_key.eq(phone.as_deref().and_then(crate::domain::contact::phone_key)),
            contacts::phone.eq(phone),
            contacts::email.eq(kept.email.clone().or_else(|| removed.email.clone())),
            contacts::vip.eq(kept.vip || removed.vip),
            contacts::organization_id.eq(kept.organization_id.or(removed.organization_id)),
            contacts::language.eq(kept.language.clone().or_else(|| removed.language.clone())),
            contacts::blacklisted_at.eq(blacklist.0),
            contacts::blacklist_reason.eq(blacklist.1),
            contacts::blacklisted_by.eq(blacklist.2),
            contacts::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(Merged {
        kept: contact_rows::by_id(conn, project_id, keep)?,
        removed,
        conversations: moved,
        identities,
    })
}
