//! What customers of helpdesk channels are told when an operator changes their request.

use super::replies::Replies;
use super::session::{self, Session};
use super::{BotCtx, local_time};
use crate::channels::DirectPayload;
use crate::domain::{Press, Status};
use crate::error::Result;
use crate::i18n::customer::{fill, t};
use crate::i18n::{Lang, status_label};
use crate::store::conversations::Conversation;
use crate::store::{DbConn, contacts};
use crate::thread;

/// What an operator changed, for the customer's notice.
pub enum Change<'a> {
    /// An operator opened a request for the customer.
    Created,
    Status(Status),
    Assignee(&'a str),
    Due(Option<chrono::NaiveDateTime>),
}

/// Tells the customer about an operator's change (inside the same transaction).
pub fn notify(conn: &mut DbConn, ctx: &BotCtx, c: &Conversation, change: Change) -> Result<()> {
    let Some((to, blocked)) = contacts::recipient(conn, c)? else {
        return Ok(());
    };
    if blocked {
        return Ok(());
    }
    let contact = contacts::by_id(conn, ctx.project_id, c.contact_id)?;
    let lang = Lang::of(contact.language.as_deref());
    let mut r = Replies::new(ctx, to.as_str(), lang);
    r.about(c);
    match change {
        Change::Status(Status::Resolved) => {
            let mut choices = vec![
                (t(lang, "btn_reopen").to_string(), Press::Reopen(c.id)),
                (t(lang, "btn_view").to_string(), Press::View(c.id)),
            ];
            // Rating is on for helpdesk channels unless the channel turns it off.
            if ctx.rules.rating.unwrap_or(true) {
                choices.insert(0, (t(lang, "btn_rate").to_string(), Press::Rate(c.id)));
            }
            r.ask(fill(lang, "resolved", c.number, &c.subject), choices)
        }
        Change::Created => r.say(fill(lang, "opened_for_you", c.number, &c.subject)),
        Change::Status(Status::Closed) => r.say(fill(lang, "closed", c.number, "")),
        Change::Status(s) => r.say(fill(
            lang,
            "status_changed",
            c.number,
            status_label(lang, s),
        )),
        Change::Assignee(name) => r.say(fill(lang, "assigned", c.number, name)),
        Change::Due(d) => {
            let when = match d {
                Some(d) => local_time(conn, ctx, d)?,
                None => t(lang, "not_set").to_string(),
            };
            r.say(fill(lang, "due_changed", c.number, &when));
        }
    }
    // A request made in a group is followed there too (text only: the buttons are personal).
    if let Some(group) = &c.origin
        && let Some(first) = r.out.first()
    {
        let text = first.text.clone();
        thread::say_direct(
            conn,
            ctx.project_id,
            ctx.channel_id,
            group,
            &DirectPayload {
                text,
                keyboard: None,
            },
            None,
        )?;
    }
    let options = r.flush(conn)?;
    // Numbered choices in a notice must be answerable too.
    if !options.is_empty() {
        let (mut s, last): (Session, _) = session::load(conn, ctx, &to)?;
        s.options = options;
        session::save(conn, ctx, &to, &s, last.as_deref())?;
    }
    Ok(())
}
