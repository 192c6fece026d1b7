use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::channels;
use super::{DbConn, now};
use crate::domain::{ChannelId, ProjectId};
use crate::domain::{ChannelKind, ChannelSource};
use crate::error::{Error, Result};

#[derive(Queryable, Selectable, Clone, Debug, Serialize)]
#[diesel(table_name = channels)]
pub struct Channel {
    pub id: ChannelId,
    pub project_id: ProjectId,
    pub key: String,
    #[diesel(deserialize_as = String)]
    pub kind: ChannelKind,
    pub name: String,
    #[serde(skip)]
    pub config: String,
    #[diesel(deserialize_as = String)]
    pub source: ChannelSource,
    pub enabled: bool,
    pub created_at: NaiveDateTime,
    /// Automation rules saved from the settings page (JSON); they win over the file's keys.
    #[serde(skip)]
    pub automation: Option<String>,
    /// Set when disconnected in the settings: off for good, history kept.
    pub disconnected_at: Option<NaiveDateTime>,
    /// The team its new conversations start in.
    pub default_team_id: Option<i64>,
}

/// Creates or updates the channel with this key. Channels from channels.toml are re-applied
/// on every start, so editing the file and restarting is how they change.
pub fn upsert(
    conn: &mut DbConn,
    project_id: ProjectId,
    key: &str,
    kind: ChannelKind,
    name: &str,
    config: &str,
    source: ChannelSource,
) -> Result<Channel> {
    let (kind, source) = (kind.as_str(), source.as_str());
    match by_key(conn, key)? {
        Some(existing) => {
            if existing.project_id != project_id {
                return Err(Error::Conflict(format!(
                    "channel id \"{key}\" is already used by another project"
                )));
            }
            diesel::update(channels::table.find(existing.id))
                .set((
                    channels::kind.eq(kind),
                    channels::name.eq(name),
                    channels::config.eq(config),
                    channels::source.eq(source),
                    channels::enabled.eq(true),
                    channels::disconnected_at.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
            by_id(conn, existing.id)
        }
        None => {
            let id: ChannelId = diesel::insert_into(channels::table)
                .values((
                    channels::project_id.eq(project_id),
                    channels::key.eq(key),
                    channels::kind.eq(kind),
                    channels::name.eq(name),
                    channels::config.eq(config),
                    channels::source.eq(source),
                    channels::enabled.eq(true),
                    channels::created_at.eq(now()),
                ))
                .returning(channels::id)
                .get_result(conn)?;
            by_id(conn, id)
        }
    }
}

pub fn by_id(conn: &mut DbConn, id: ChannelId) -> Result<Channel> {
    channels::table
        .find(id)
        .select(Channel::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("channel {id} not found")))
}

pub fn by_key(conn: &mut DbConn, key: &str) -> Result<Option<Channel>> {
    Ok(channels::table
        .filter(channels::key.eq(key))
        .select(Channel::as_select())
        .first(conn)
        .optional()?)
}

/// The project's channels, disconnected ones left out.
pub fn of_project(conn: &mut DbConn, project_id: ProjectId) -> Result<Vec<Channel>> {
    Ok(channels::table
        .filter(channels::project_id.eq(project_id))
        .filter(channels::disconnected_at.is_null())
        .order(channels::id)
        .select(Channel::as_select())
        .load(conn)?)
}

pub fn all_enabled(conn: &mut DbConn) -> Result<Vec<Channel>> {
    Ok(channels::table
        .filter(channels::enabled.eq(true))
        .order(channels::id)
        .select(Channel::as_select())
        .load(conn)?)
}

/// Every channel's (id, stored config), enabled or not: to check and re-seal secrets.
pub fn configs(conn: &mut DbConn) -> Result<Vec<(ChannelId, String, String)>> {
    Ok(channels::table
        .order(channels::id)
        .select((channels::id, channels::key, channels::config))
        .load(conn)?)
}

/// Paused (false) channels neither receive nor send; their history and queue stay.
pub fn set_enabled(conn: &mut DbConn, id: ChannelId, enabled: bool) -> Result<()> {
    diesel::update(channels::table.find(id))
        .set(channels::enabled.eq(enabled))
        .execute(conn)?;
    Ok(())
}

/// Off for good: it leaves the list, its conversations stay (its key stays taken, so old
/// webhook calls never reach a new channel).
pub fn disconnect(conn: &mut DbConn, id: ChannelId) -> Result<()> {
    diesel::update(channels::table.find(id))
        .set((
            channels::enabled.eq(false),
            channels::disconnected_at.eq(Some(now())),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_default_team(conn: &mut DbConn, id: ChannelId, team: Option<i64>) -> Result<()> {
    diesel::update(channels::table.find(id))
        .set(channels::default_team_id.eq(team))
        .execute(conn)?;
    Ok(())
}

/// When a customer last wrote in this channel (the conversations_channel_received index).
pub fn last_received(conn: &mut DbConn, id: ChannelId) -> Result<Option<NaiveDateTime>> {
    use super::schema::conversations;
    Ok(conversations::table
        .filter(conversations::channel_id.eq(id))
        .select(diesel::dsl::max(conversations::last_customer_at))
        .first::<Option<NaiveDateTime>>(conn)?)
}

pub fn rename(conn: &mut DbConn, id: ChannelId, name: &str) -> Result<()> {
    diesel::update(channels::table.find(id))
        .set(channels::name.eq(name))
        .execute(conn)?;
    Ok(())
}

pub fn set_config(conn: &mut DbConn, id: ChannelId, config: &str) -> Result<()> {
    diesel::update(channels::table.find(id))
        .set(channels::config.eq(config))
        .execute(conn)?;
    Ok(())
}

/// File channels no longer in channels.toml stop receiving; their history stays.
pub fn disable_file_channels_except(conn: &mut DbConn, keep: &[String]) -> Result<usize> {
    Ok(diesel::update(
        channels::table
            .filter(channels::source.eq(ChannelSource::File.as_str()))
            .filter(channels::key.ne_all(keep)),
    )
    .set(channels::enabled.eq(false))
    .execute(conn)?)
}

/// A value a channel keeps across restarts (None when never set).
pub fn state(conn: &mut DbConn, channel_id: ChannelId, key: &str) -> Result<Option<String>> {
    use super::schema::channel_state;
    Ok(channel_state::table
        .filter(channel_state::channel_id.eq(channel_id))
        .filter(channel_state::key.eq(key))
        .select(channel_state::value)
        .first(conn)
        .optional()?)
}

pub fn set_state(conn: &mut DbConn, channel_id: ChannelId, key: &str, value: &str) -> Result<()> {
    use super::schema::channel_state;
    let updated = diesel::update(
        channel_state::table
            .filter(channel_state::channel_id.eq(channel_id))
            .filter(channel_state::key.eq(key)),
    )
    .set((
        channel_state::value.eq(value),
        channel_state::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(channel_state::table)
            .values((
                channel_state::channel_id.eq(channel_id),
                channel_state::key.eq(key),
                channel_state::value.eq(value),
                channel_state::updated_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Keeps an update we could not parse, so it can be looked at later.
pub fn store_raw(
    conn: &mut DbConn,
    channel_id: ChannelId,
    payload: &str,
    error: &str,
) -> Result<()> {
    use super::schema::raw_updates;
    diesel::insert_into(raw_updates::table)
        .values((
            raw_updates::channel_id.eq(channel_id),
            raw_updates::payload.eq(payload),
            raw_updates::error.eq(error),
            raw_updates::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn raw_count(conn: &mut DbConn, channel_id: ChannelId) -> Result<i64> {
    use super::schema::raw_updates;
    Ok(raw_updates::table
        .filter(raw_updates::channel_id.eq(channel_id))
        .count()
        .get_result(conn)?)
}

/// Saves the settings page's automation rules (JSON), which win over the file's keys.
pub fn set_automation(conn: &mut DbConn, id: ChannelId, rules: Option<&str>) -> Result<()> {
    diesel::update(channels::table.find(id))
        .set(channels::automation.eq(rules))
        .execute(conn)?;
    Ok(())
}

/// (id, saved automation) of the enabled channels, for instances to pick up each other's
/// settings changes.
pub fn automation_of_all(conn: &mut DbConn) -> Result<Vec<(ChannelId, Option<String>)>> {
    Ok(channels::table
        .filter(channels::enabled.eq(true))
        .select((channels::id, channels::automation))
        .load(conn)?)
}
