//! What the bot remembers of one customer in one channel between their messages.

use serde::{Deserialize, Serialize};

use super::BotCtx;
use crate::error::{Error, Result};
use crate::store::attachments::StoredFile;
use crate::store::{DbConn, bot_sessions};

#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq)]
#[serde(tag = "s", rename_all = "snake_case")]
pub(super) enum State {
    #[default]
    Idle,
    AwaitPhone,
    AwaitNewRequest,
    AwaitQuestion {
        about: i64,
    },
    AwaitComment {
        conversation_id: crate::domain::ConversationId,
    },
    AwaitRatingComment {
        conversation_id: crate::domain::ConversationId,
    },
    AwaitReopenReason {
        conversation_id: crate::domain::ConversationId,
    },
    /// A message sent without the menu while requests are active: new one, or which to join.
    ChooseTarget {
        text: String,
        files: Vec<StoredFile>,
    },
}

#[derive(Serialize, Deserialize, Default, Debug)]
pub(super) struct Session {
    #[serde(default)]
    pub state: State,
    /// What the numbers of the last numbered menu mean (button payloads).
    #[serde(default)]
    pub options: Vec<String>,
}

/// The session and the last event handled (a redelivered event does nothing twice).
pub(super) fn load(
    conn: &mut DbConn,
    ctx: &BotCtx,
    ext: &str,
) -> Result<(Session, Option<String>)> {
    let (raw, last_event) = bot_sessions::load(conn, ctx.channel_id, ext)?;
    let session = raw
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    Ok((session, last_event))
}

pub(super) fn save(
    conn: &mut DbConn,
    ctx: &BotCtx,
    ext: &str,
    s: &Session,
    event: Option<&str>,
) -> Result<()> {
    let json = serde_json::to_string(s).map_err(|e| Error::internal(e.to_string()))?;
    bot_sessions::save(conn, ctx.channel_id, ext, &json, event)
}
