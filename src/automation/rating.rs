//! Quality ratings. Chat channels ask after a resolution (stars or digits) and take the
//! answer while the RATING timer is pending; the helpdesk bot asks with its own buttons. Both
//! record through `rated` and `commented`, so a rating closes a resolved request the same way.

use chrono::Duration;

use super::{Ctx, customer_lang, say, transition};
use crate::channels::{Button, Keyboard};
use crate::domain::{Actor, ConversationId, Press, Status, TimerKind};
use crate::error::{Error, Result};
use crate::i18n::customer::{fill, t};
use crate::store::conversations::{self, Conversation};
use crate::store::timers::{self, Arm};
use crate::store::{DbConn, contacts};
use crate::thread;

/// How long a rating request and the comment after it stay answerable.
const RATING_WINDOW_DAYS: i64 = 7;
const RATING_COMMENT_MINUTES: i64 = 30;

/// The customer gave `stars`: recorded, and a resolved request is closed by it.
pub fn rated(
    conn: &mut DbConn,
    ctx: &Ctx,
    conv: &Conversation,
    stars: i32,
    by: &str,
) -> Result<()> {
    if !(1..=5).contains(&stars) {
        return Err(Error::invalid("a rating is 1 to 5"));
    }
    thread::rate(conn, conv, stars, None, by)?;
    if conv.status == Status::Resolved {
        transition(conn, ctx, conv, Status::Closed, Actor::System, by)?;
    }
    Ok(())
}

/// The customer's words about the rating they gave.
pub fn commented(conn: &mut DbConn, conv: &Conversation, text: &str, by: &str) -> Result<()> {
    thread::rate(conn, conv, conv.rating.unwrap_or(0), Some(text), by)
}

/// Asks the customer of a chat channel to rate the conversation: star buttons, or digits
/// where the platform has no buttons.
pub(super) fn ask(conn: &mut DbConn, ctx: &Ctx, conv: &Conversation) -> Result<()> {
    let Some((recipient, blocked)) = contacts::recipient(conn, conv)? else {
        return Ok(());
    };
    if blocked {
        return Ok(());
    }
    let lang = customer_lang(conn, conv)?;
    let mut text = fill(lang, "ask_stars", conv.number, "");
    let keyboard = if ctx.buttons {
        Some(Keyboard {
            rows: vec![
                (1..=5)
                    .map(|n| Button {
                        label: "⭐".repeat(n),
                        data: Press::ChatStars(conv.id, n as i32).to_string(),
                    })
                    .collect(),
            ],
            request_phone: None,
        })
    } else {
        text.push_str(&format!("\n{}", t(lang, "rate_by_digit")));
        None
    };
    say(conn, ctx, conv, &recipient, text, keyboard)?;
    timers::arm(
        conn,
        conv.project_id,
        conv.id,
        TimerKind::Rating,
        0,
        ctx.now + Duration::days(RATING_WINDOW_DAYS),
        Arm::Restart,
    )?;
    Ok(())
}

/// What a chat channel's customer said, seen as an answer to a rating request.
pub enum RatingAnswer {
    Stars(ConversationId, i32),
    Comment(ConversationId, String),
    /// "No comment": the next message is an ordinary one again.
    Skip(ConversationId),
}

impl RatingAnswer {
    /// A star button or the skip button of a chat channel's rating request.
    pub fn of_press(p: &Press) -> Option<RatingAnswer> {
        match p {
            Press::ChatStars(c, n) => Some(RatingAnswer::Stars(*c, *n)),
            Press::ChatRatingSkip(c) => Some(RatingAnswer::Skip(*c)),
            _ => None,
        }
    }
}

/// A customer's text while a rating request or its comment window is open in this channel.
pub fn answer_of_text(
    conn: &mut DbConn,
    contact_id: crate::domain::ContactId,
    channel_id: crate::domain::ChannelId,
    text: &str,
) -> Result<Option<RatingAnswer>> {
    let open = timers::pending_for_contact(
        conn,
        contact_id,
        channel_id,
        &[TimerKind::Rating, TimerKind::RatingComment],
    )?;
    for (conv_id, kind) in open {
        if kind == TimerKind::Rating {
            let digit = text.trim().trim_end_matches(['⭐', '*']).trim();
            if let Ok(n) = digit.parse::<i32>()
                && (1..=5).contains(&n)
            {
                return Ok(Some(RatingAnswer::Stars(conv_id, n)));
            }
        } else if kind == TimerKind::RatingComment && !text.trim().is_empty() {
            return Ok(Some(RatingAnswer::Comment(
                conv_id,
                text.trim().to_string(),
            )));
        }
    }
    Ok(None)
}

/// Records a chat channel's rating (or its comment) and thanks the customer. Only the
/// customer of the conversation can rate it, once; a rating closes a resolved conversation.
pub fn record_rating(
    conn: &mut DbConn,
    ctx: &Ctx,
    project_id: crate::domain::ProjectId,
    contact_id: crate::domain::ContactId,
    answer: RatingAnswer,
) -> Result<()> {
    let conv_id = match &answer {
        RatingAnswer::Stars(c, _) | RatingAnswer::Comment(c, _) | RatingAnswer::Skip(c) => *c,
    };
    let conv = conversations::by_id(conn, project_id, conv_id)?;
    if conv.contact_id != contact_id {
        return Err(Error::not_found("conversation not found"));
    }
    let who = contacts::by_id(conn, conv.project_id, contact_id)?.name;
    let lang = customer_lang(conn, &conv)?;
    let (reply, keyboard) = match answer {
        RatingAnswer::Stars(_, n) => {
            if !(1..=5).contains(&n) {
                return Err(Error::invalid("a rating is 1 to 5"));
            }
            if !timers::pending(conn, conv.id, TimerKind::Rating)? {
                return Ok(());
            }
            timers::reset(conn, conv.id, &[TimerKind::Rating])?;
            rated(conn, ctx, &conv, n, &who)?;
            timers::arm(
                conn,
                conv.project_id,
                conv.id,
                TimerKind::RatingComment,
                0,
                ctx.now + Duration::minutes(RATING_COMMENT_MINUTES),
                Arm::Restart,
            )?;
            let skip = ctx.buttons.then(|| Keyboard {
                rows: vec![vec![Button {
                    label: t(lang, "btn_skip").to_string(),
                    data: Press::ChatRatingSkip(conv.id).to_string(),
                }]],
                request_phone: None,
            });
            (t(lang, "rated_chat_ask_comment"), skip)
        }
        RatingAnswer::Comment(_, text) => {
            timers::reset(conn, conv.id, &[TimerKind::RatingComment])?;
            commented(conn, &conv, &text, &who)?;
            (t(lang, "rated_chat_thanks"), None)
        }
        RatingAnswer::Skip(_) => {
            if !timers::pending(conn, conv.id, TimerKind::RatingComment)? {
                return Ok(());
            }
            timers::reset(conn, conv.id, &[TimerKind::RatingComment])?;
            (t(lang, "rated_chat_thanks"), None)
        }
    };
    if let Some((recipient, false)) = contacts::recipient(conn, &conv)? {
        say(conn, ctx, &conv, &recipient, reply.to_string(), keyboard)?;
    }
    Ok(())
}
