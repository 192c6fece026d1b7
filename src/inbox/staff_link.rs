//! A member links their messenger chat to the project's bot for notifications. The profile
//! gives a one-time code; the member sends the bot "/start staff_<code>" (Telegram's deep link
//! does it with one tap). Such a message is the member's, not a customer's: it opens no
//! conversation and reaches neither the helpdesk bot nor automation.

use crate::channels::{DirectPayload, InboundEvent};
use crate::domain::Received;
use crate::error::Result;
use crate::i18n::{Lang, Tr};
use crate::store::{DbConn, members, users};
use crate::thread;

use super::receive::Item;

pub const PREFIX: &str = "staff_";
/// Hex characters in a code: 40 bits, for a code that lives 15 minutes and works once.
pub const CODE_LEN: usize = 10;

/// The code in a "/start staff_<code>" message, if that is what it is.
pub fn code_in(event: &InboundEvent) -> Option<&str> {
    let InboundEvent::Message { text, .. } = event else {
        return None;
    };
    let code = text.trim().strip_prefix("/start")?.trim_start();
    let code = code.strip_prefix(PREFIX)?;
    (code.len() == CODE_LEN && code.chars().all(|c| c.is_ascii_hexdigit())).then_some(code)
}

/// What the profile stores for a code: its hash, so the table never holds a usable code.
pub fn code_hash(code: &str) -> String {
    crate::crypto::sha256_hex(code.to_ascii_lowercase().as_bytes())
}

/// Links the sending chat to the code's member, and says so in the chat either way.
pub(super) fn claim(conn: &mut DbConn, it: &Item, code: &str) -> Result<Received> {
    let chat = it.inbound.external_user_id.as_str();
    let linked = members::claim_link(conn, it.project_id, &code_hash(code), it.channel_id, chat)?;
    let text = match linked {
        Some(user_id) => {
            let user = users::by_id(conn, user_id)?;
            tracing::info!(user = user_id, channel = %it.channel_id, "messenger linked for notifications");
            Tr {
                lang: Lang::of(user.language.as_deref()),
            }
            .t("staff_linked")
            .replace("{name}", &user.name)
        }
        None => Tr { lang: Lang::Ru }.t("staff_link_refused").to_string(),
    };
    thread::say_direct(
        conn,
        it.project_id,
        it.channel_id,
        chat,
        &DirectPayload {
            text,
            keyboard: None,
        },
        None,
    )?;
    Ok(Received {
        told_staff: true,
        ..Received::default()
    })
}
