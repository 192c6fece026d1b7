//! What each button (or numbered menu line) does.

use super::flows::{self, Incoming};
use super::replies::Replies;
use super::session::{Session, State};
use super::{BotCtx, active, completed, local_time, menu, own, ticket_choices};
use crate::domain::{Actor, Press, Status};
use crate::error::Result;
use crate::i18n::customer::{fill, t};
use crate::i18n::{priority_label, status_label};
use crate::store::contacts::Contact;
use crate::store::{DbConn, users};

/// `prev` is the state before this press (a pending message waits there for "new request" or
/// "attach"); any other press starts from Idle.
pub(super) fn press(
    conn: &mut DbConn,
    ctx: &BotCtx,
    contact: &Contact,
    press: Press,
    r: &mut Replies,
    session: &mut Session,
    prev: State,
) -> Result<()> {
    let l = r.lang;
    match press {
        Press::Menu => menu(conn, ctx, contact, r)?,
        Press::New => {
            session.state = State::AwaitNewRequest;
            r.say(t(l, "ask_new"));
        }
        Press::Status => {
            let list = active(conn, ctx, contact)?;
            if list.is_empty() {
                r.say(t(l, "no_active"));
                menu(conn, ctx, contact, r)?;
            } else {
                let mut text = String::new();
                for c in &list {
                    let assignee = match c.assignee_id {
                        Some(a) => users::by_id(conn, a)?.name,
                        None => t(l, "not_assigned").to_string(),
                    };
                    let due = c
                        .due_at
                        .map(|d| local_time(conn, ctx, d))
                        .transpose()?
                        .unwrap_or_else(|| t(l, "not_set").to_string());
                    text.push_str(&format!(
                        "#{} {}\n{}: {assignee}\n{}: {}\n{}: {due}\n\n",
                        c.number,
                        c.subject,
                        t(l, "assignee"),
                        t(l, "status"),
                        status_label(l, c.status),
                        t(l, "due"),
                    ));
                }
                r.ask(
                    text.trim_end().to_string(),
                    ticket_choices(&list, Press::View),
                );
            }
        }
        Press::View(id) => {
            let c = own(conn, ctx, contact, id)?;
            let created = local_time(conn, ctx, c.created_at)?;
            let emails = contact.email.clone().unwrap_or_else(|| "—".into());
            r.say(format!(
                "#{} {}\n{}: {}\n{}: {emails}\n{}: {}\n{}: {created}",
                c.number,
                c.subject,
                t(l, "status"),
                status_label(l, c.status),
                t(l, "emails"),
                t(l, "priority"),
                priority_label(l, c.priority),
                t(l, "created"),
            ));
            menu(conn, ctx, contact, r)?;
        }
        Press::Comment => {
            let list = active(conn, ctx, contact)?;
            match list.as_slice() {
                [] => {
                    r.say(t(l, "no_active"));
                    menu(conn, ctx, contact, r)?;
                }
                [only] => {
                    session.state = State::AwaitComment {
                        conversation_id: only.id,
                    };
                    r.say(fill(l, "ask_comment", only.number, ""));
                }
                many => r.ask(
                    t(l, "choose_for_comment"),
                    ticket_choices(many, Press::CommentOn),
                ),
            }
        }
        Press::CommentOn(id) => {
            let c = own(conn, ctx, contact, id)?;
            session.state = State::AwaitComment {
                conversation_id: c.id,
            };
            r.say(fill(l, "ask_comment", c.number, ""));
        }
        Press::Cancel => {
            let list = active(conn, ctx, contact)?;
            if list.is_empty() {
                r.say(t(l, "no_active"));
                menu(conn, ctx, contact, r)?;
            } else {
                r.ask(
                    t(l, "choose_for_cancel"),
                    ticket_choices(&list, Press::CancelOne),
                );
            }
        }
        Press::CancelOne(id) => {
            let c = own(conn, ctx, contact, id)?;
            flows::customer_status(conn, ctx, contact, &c, Status::Cancelled)?;
            r.say(fill(l, "cancelled", c.number, ""));
            if active(conn, ctx, contact)?.is_empty() {
                r.say(t(l, "no_more_active"));
            }
            menu(conn, ctx, contact, r)?;
        }
        Press::ContactMe => {
            flows::contact_me(conn, ctx, contact)?;
            r.say(t(l, "contact_me_sent"));
        }
        Press::DoneQuestion => {
            let list = completed(conn, ctx, contact)?;
            r.ask(
                t(l, "choose_done"),
                ticket_choices(&list, Press::QuestionAbout),
            );
        }
        Press::QuestionAbout(id) => {
            let c = own(conn, ctx, contact, id)?;
            session.state = State::AwaitQuestion { about: c.number };
            r.say(t(l, "ask_new"));
        }
        Press::Rate(id) => {
            let c = own(conn, ctx, contact, id)?;
            let stars = (1..=5)
                .map(|n| ("⭐".repeat(n), Press::Stars(c.id, n as i32)))
                .collect();
            r.ask(fill(l, "ask_stars", c.number, ""), stars);
        }
        Press::Stars(id, n) => {
            let c = own(conn, ctx, contact, id)?;
            crate::automation::rating::rated(conn, &ctx.auto(), &c, n, &contact.name)?;
            session.state = State::AwaitRatingComment {
                conversation_id: c.id,
            };
            r.ask(
                t(l, "ask_rating_comment"),
                vec![(t(l, "btn_skip").to_string(), Press::SkipComment(c.id))],
            );
        }
        Press::SkipComment(id) => {
            let c = own(conn, ctx, contact, id)?;
            r.say(fill(l, "rated", c.number, ""));
            menu(conn, ctx, contact, r)?;
        }
        Press::Reopen(id) => {
            let c = own(conn, ctx, contact, id)?;
            r.ask(
                fill(l, "confirm_reopen", c.number, ""),
                vec![
                    (t(l, "btn_yes").to_string(), Press::ReopenConfirmed(c.id)),
                    (t(l, "btn_no").to_string(), Press::Menu),
                ],
            );
        }
        Press::ReopenConfirmed(id) => {
            let c = own(conn, ctx, contact, id)?;
            c.status.can_change(Status::Reopened, Actor::Customer)?;
            session.state = State::AwaitReopenReason {
                conversation_id: c.id,
            };
            r.say(t(l, "ask_reason"));
        }
        Press::NewFromMessage => {
            if let State::ChooseTarget { text, files } = prev {
                let (c, _) =
                    flows::create_request(conn, ctx, contact, &Incoming::later(text, files), None)?;
                r.say(fill(l, "registered", c.number, ""));
            }
            menu(conn, ctx, contact, r)?;
        }
        Press::Attach(id) => {
            if let State::ChooseTarget { text, files } = prev {
                let c = own(conn, ctx, contact, id)?;
                flows::add_comment(conn, ctx, contact, &c, &Incoming::later(text, files))?;
                r.say(fill(l, "comment_added", c.number, ""));
            }
            menu(conn, ctx, contact, r)?;
        }
        // Group presses are handled before a private dialog starts; chat-channel rating
        // buttons belong to automation.
        Press::BindTeam { .. } | Press::ChatStars(..) | Press::ChatRatingSkip(_) => {
            r.say(t(l, "unknown_choice"));
            menu(conn, ctx, contact, r)?;
        }
    }
    Ok(())
}
