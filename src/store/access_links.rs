//! Invitation and password-reset links: a random token handed out once, of which only the
//! hash is kept; each link works once and only until it expires.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::access_links;
use super::{DbConn, now};
use crate::domain::ProjectId;
use crate::error::Result;

/// What a link lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A new member sets their first password.
    Invite,
    /// A member who forgot their password sets a new one.
    Reset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Invite => "invite",
            Purpose::Reset => "reset",
        }
    }
}

pub fn create(
    conn: &mut DbConn,
    token_hash: &str,
    user_id: i64,
    project_id: ProjectId,
    purpose: Purpose,
    ttl: chrono::Duration,
) -> Result<NaiveDateTime> {
    let t = now();
    // A new link replaces the member's unused ones of the same kind.
    diesel::delete(
        access_links::table
            .filter(access_links::user_id.eq(user_id))
            .filter(access_links::purpose.eq(purpose.as_str()))
            .filter(access_links::used_at.is_null()),
    )
    .execute(conn)?;
    diesel::insert_into(access_links::table)
        .values((
            access_links::token_hash.eq(token_hash),
            access_links::user_id.eq(user_id),
            access_links::project_id.eq(project_id),
            access_links::purpose.eq(purpose.as_str()),
            access_links::created_at.eq(t),
            access_links::expires_at.eq(t + ttl),
        ))
        .execute(conn)?;
    Ok(t + ttl)
}

/// (user, project) of a usable link, without using it (the page that asks for the password).
pub fn peek(
    conn: &mut DbConn,
    token_hash: &str,
    purpose: Purpose,
) -> Result<Option<(i64, ProjectId)>> {
    Ok(access_links::table
        .filter(access_links::token_hash.eq(token_hash))
        .filter(access_links::purpose.eq(purpose.as_str()))
        .filter(access_links::used_at.is_null())
        .filter(access_links::expires_at.gt(now()))
        .select((access_links::user_id, access_links::project_id))
        .first(conn)
        .optional()?)
}

/// Uses a link: one conditional update, so two tabs submitting at once cannot both succeed.
pub fn take(
    conn: &mut DbConn,
    token_hash: &str,
    purpose: Purpose,
) -> Result<Option<(i64, ProjectId)>> {
    let found = peek(conn, token_hash, purpose)?;
    if found.is_none() {
        return Ok(None);
    }
    let used = diesel::update(
        access_links::table
            .filter(access_links::token_hash.eq(token_hash))
            .filter(access_links::used_at.is_null())
            .filter(access_links::expires_at.gt(now())),
    )
    .set(access_links::used_at.eq(Some(now())))
    .execute(conn)?;
    Ok(if used == 1 { found } else { None })
}

/// Whether the member still has an unused, unexpired invitation (shown on the team page).
pub fn pending_invite(conn: &mut DbConn, user_id: i64) -> Result<Option<NaiveDateTime>> {
    Ok(access_links::table
        .filter(access_links::user_id.eq(user_id))
        .filter(access_links::purpose.eq(Purpose::Invite.as_str()))
        .filter(access_links::used_at.is_null())
        .filter(access_links::expires_at.gt(now()))
        .select(access_links::expires_at)
        .first(conn)
        .optional()?)
}
