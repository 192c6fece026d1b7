use diesel::prelude::*;

use super::schema::bot_sessions;
use super::{DbConn, now};
use crate::domain::ChannelId;
use crate::error::Result;

/// The customer's bot session (JSON) and the id of the last event it handled.
pub fn load(
    conn: &mut DbConn,
    channel_id: ChannelId,
    external_id: &str,
) -> Result<(Option<String>, Option<String>)> {
    let row: Option<(String, Option<String>)> = bot_sessions::table
        .filter(bot_sessions::channel_id.eq(channel_id))
        .filter(bot_sessions::external_id.eq(external_id))
        .select((bot_sessions::state, bot_sessions::last_event))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((s, e)) => (Some(s), e),
        None => (None, None),
    })
}

pub fn save(
    conn: &mut DbConn,
    channel_id: ChannelId,
    external_id: &str,
    state: &str,
    last_event: Option<&str>,
) -> Result<()> {
    let updated = diesel::update(
        bot_sessions::table
            .filter(bot_sessions::channel_id.eq(channel_id))
            .filter(bot_sessions::external_id.eq(external_id)),
    )
    .set((
        bot_sessions::state.eq(state),
        bot_sessions::last_event.eq(last_event),
        bot_sessions::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(bot_sessions::table)
            .values((
                bot_sessions::channel_id.eq(channel_id),
                bot_sessions::external_id.eq(external_id),
                bot_sessions::state.eq(state),
                bot_sessions::last_event.eq(last_event),
                bot_sessions::updated_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
