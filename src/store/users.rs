use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{api_tokens, sessions, users};
use super::{DbConn, now};
use crate::domain::ProjectId;
use crate::error::{Error, Result};

#[derive(Queryable, Selectable, Clone, Debug, Serialize)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub online: bool,
    pub created_at: NaiveDateTime,
    pub phone: Option<String>,
    pub last_seen_at: Option<NaiveDateTime>,
    /// The server's owner creates projects.
    pub owner: bool,
    /// The console's language ("ru", "en"); None follows the browser.
    pub language: Option<String>,
    /// The zone times are shown in; None: the project's.
    pub timezone: Option<String>,
    /// Events that make a sound, comma-separated: conversation, message.
    pub sounds: String,
    /// Storage key of their picture.
    pub avatar: Option<String>,
    /// Notifications they want under the bell, comma-separated (`Topic` names).
    pub notify: String,
    /// What they are also told by e-mail; the same form.
    pub notify_email: String,
    /// What they are also told in the messenger chat they linked; the same form.
    pub notify_messenger: String,
}

/// A member's own console preferences, as the profile saves them.
pub struct Preferences {
    pub phone: Option<String>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub sounds: String,
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: i64,
    pub token_hash: String,
    pub user_id: i64,
    pub project_id: ProjectId,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn count(conn: &mut DbConn) -> Result<i64> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn create(conn: &mut DbConn, email: &str, name: &str, password_hash: &str) -> Result<User> {
    let email = normalize_email(email)?;
    if by_email(conn, &email)?.is_some() {
        return Err(Error::Conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    let id: i64 = diesel::insert_into(users::table)
        .values((
            users::email.eq(&email),
            users::name.eq(name.trim()),
            users::password_hash.eq(password_hash),
            users::online.eq(false),
            users::created_at.eq(now()),
            users::notify.eq(crate::domain::event::Topic::DEFAULT),
        ))
        .returning(users::id)
        .get_result(conn)?;
    by_id(conn, id)
}

pub fn normalize_email(email: &str) -> Result<String> {
    crate::domain::contact::email(email)?
        .ok_or_else(|| Error::invalid("an email address is required"))
}

pub fn by_id(conn: &mut DbConn, id: i64) -> Result<User> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("user {id} not found")))
}

pub fn by_email(conn: &mut DbConn, email: &str) -> Result<Option<User>> {
    Ok(users::table
        .filter(users::email.eq(email.trim().to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn set_password(conn: &mut DbConn, user_id: i64, hash: &str) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set(users::password_hash.eq(hash))
        .execute(conn)?;
    Ok(())
}

pub fn set_online(conn: &mut DbConn, user_id: i64, online: bool) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set(users::online.eq(online))
        .execute(conn)?;
    super::reports::presence_changed(conn, user_id, online)
}

pub fn create_session(
    conn: &mut DbConn,
    token_hash: &str,
    user_id: i64,
    project_id: ProjectId,
    csrf: &str,
    ttl: chrono::Duration,
) -> Result<()> {
    let t = now();
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(token_hash),
            sessions::user_id.eq(user_id),
            sessions::project_id.eq(project_id),
            sessions::csrf_token.eq(csrf),
            sessions::created_at.eq(t),
            sessions::expires_at.eq(t + ttl),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn session(conn: &mut DbConn, token_hash: &str) -> Result<Option<(Session, User)>> {
    Ok(sessions::table
        .inner_join(users::table.on(users::id.eq(sessions::user_id)))
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(now()))
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .optional()?)
}

/// Whether a session still signs its user in (not signed out, not expired).
pub fn session_alive(conn: &mut DbConn, session_id: i64) -> Result<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        sessions::table
            .filter(sessions::id.eq(session_id))
            .filter(sessions::expires_at.gt(now())),
    ))
    .get_result(conn)?)
}

/// Forgets sessions that have expired (they no longer sign anyone in); returns how many.
pub fn delete_expired_sessions(conn: &mut DbConn) -> Result<usize> {
    Ok(diesel::delete(sessions::table.filter(sessions::expires_at.le(now()))).execute(conn)?)
}

pub fn delete_session(conn: &mut DbConn, token_hash: &str) -> Result<()> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_hash))).execute(conn)?;
    Ok(())
}

/// Signs a user out everywhere but `keep` (a password change keeps the session it came from).
pub fn delete_sessions_except(conn: &mut DbConn, user_id: i64, keep: Option<i64>) -> Result<usize> {
    let q = sessions::table.filter(sessions::user_id.eq(user_id));
    Ok(match keep {
        Some(id) => diesel::delete(q.filter(sessions::id.ne(id))).execute(conn)?,
        None => diesel::delete(q).execute(conn)?,
    })
}

/// Signs a user out of one project: their sessions there and their tokens for it (a member
/// switched off or removed by that project's admin).
pub fn delete_access_to(conn: &mut DbConn, user_id: i64, project_id: ProjectId) -> Result<()> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::project_id.eq(project_id)),
    )
    .execute(conn)?;
    diesel::delete(
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::project_id.eq(project_id)),
    )
    .execute(conn)?;
    Ok(())
}

/// "Last seen" to the minute: the console's requests call this at most once a minute.
pub fn touch_seen(conn: &mut DbConn, user_id: i64) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set(users::last_seen_at.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}

pub fn set_preferences(conn: &mut DbConn, user_id: i64, p: &Preferences) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::phone.eq(&p.phone),
            users::language.eq(&p.language),
            users::timezone.eq(&p.timezone),
            users::sounds.eq(&p.sounds),
        ))
        .execute(conn)?;
    Ok(())
}

/// What a member is told, on each way (stored `Topic` lists: under the bell, by e-mail, in
/// the messenger).
pub fn set_notify(
    conn: &mut DbConn,
    user_id: i64,
    bell: &str,
    email: &str,
    messenger: &str,
) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::notify.eq(bell),
            users::notify_email.eq(email),
            users::notify_messenger.eq(messenger),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_avatar(conn: &mut DbConn, user_id: i64, key: Option<&str>) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set(users::avatar.eq(key))
        .execute(conn)?;
    Ok(())
}

/// The user whose picture is stored under this key (the widget asks by key).
pub fn by_avatar(conn: &mut DbConn, key: &str) -> Result<Option<User>> {
    Ok(users::table
        .filter(users::avatar.eq(key))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// Which of these storage keys are members' pictures (the orphan sweep keeps them).
pub fn known_avatars(conn: &mut DbConn, keys: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        out.extend(
            users::table
                .filter(users::avatar.eq_any(chunk))
                .select(users::avatar.assume_not_null())
                .load::<String>(conn)?,
        );
    }
    Ok(out)
}

/// The pictures of these users, by id (authors of the messages a widget shows).
pub fn avatars_of(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<(i64, String)>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .filter(users::avatar.is_not_null())
        .select((users::id, users::avatar.assume_not_null()))
        .load(conn)?)
}

pub fn set_owner(conn: &mut DbConn, user_id: i64, owner: bool) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set(users::owner.eq(owner))
        .execute(conn)?;
    Ok(())
}

pub fn set_phone(conn: &mut DbConn, user_id: i64, phone: Option<&str>) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set(users::phone.eq(phone))
        .execute(conn)?;
    Ok(())
}

pub fn set_name(conn: &mut DbConn, user_id: i64, name: &str) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set(users::name.eq(name))
        .execute(conn)?;
    Ok(())
}

pub fn set_session_project(
    conn: &mut DbConn,
    session_id: i64,
    project_id: ProjectId,
) -> Result<()> {
    diesel::update(sessions::table.find(session_id))
        .set(sessions::project_id.eq(project_id))
        .execute(conn)?;
    Ok(())
}

pub fn create_api_token(
    conn: &mut DbConn,
    token_hash: &str,
    user_id: i64,
    project_id: ProjectId,
    name: &str,
) -> Result<()> {
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::token_hash.eq(token_hash),
            api_tokens::user_id.eq(user_id),
            api_tokens::project_id.eq(project_id),
            api_tokens::name.eq(name),
            api_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A personal API token as its owner sees it (the token itself is never stored).
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i64,
    pub project_id: ProjectId,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

/// The user and project a bearer token acts for, with the token's row.
pub fn api_token(conn: &mut DbConn, token_hash: &str) -> Result<Option<(User, ApiToken)>> {
    Ok(api_tokens::table
        .inner_join(users::table.on(users::id.eq(api_tokens::user_id)))
        .filter(api_tokens::token_hash.eq(token_hash))
        .select((User::as_select(), ApiToken::as_select()))
        .first(conn)
        .optional()?)
}

/// A user's tokens in a project, newest first.
pub fn api_tokens_of(
    conn: &mut DbConn,
    user_id: i64,
    project_id: ProjectId,
) -> Result<Vec<ApiToken>> {
    Ok(api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::project_id.eq(project_id))
        .order(api_tokens::id.desc())
        .select(ApiToken::as_select())
        .load(conn)?)
}

/// Revokes one of the user's own tokens; 0 when it is not theirs.
pub fn delete_api_token(conn: &mut DbConn, user_id: i64, id: i64) -> Result<usize> {
    Ok(diesel::delete(
        api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::user_id.eq(user_id)),
    )
    .execute(conn)?)
}

pub fn touch_api_token(conn: &mut DbConn, id: i64) -> Result<()> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used_at.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}

/// Saves (or clears) a user's own working hours, as schedule JSON.
pub fn set_work_hours(conn: &mut DbConn, user_id: i64, hours: Option<&str>) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::work_hours.eq(hours),
            users::presence_auto.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// (id, working hours, last state applied) of users with working hours.
pub fn with_work_hours(conn: &mut DbConn) -> Result<Vec<(i64, String, Option<String>)>> {
    Ok(users::table
        .filter(users::work_hours.is_not_null())
        .select((
            users::id,
            users::work_hours.assume_not_null(),
            users::presence_auto,
        ))
        .load(conn)?)
}

/// Applies the presence a user's working hours call for and remembers which period it was
/// for ("in:<local start>" or "out").
pub fn apply_presence(conn: &mut DbConn, user_id: i64, state: &str) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::online.eq(state.starts_with("in")),
            users::presence_auto.eq(state),
        ))
        .execute(conn)?;
    super::reports::presence_changed(conn, user_id, state.starts_with("in"))
}
