//! Operator changes to a conversation. Each one is recorded as a system event in the thread.

use chrono::NaiveDateTime;

use super::Inbox;
use super::registry::auto_ctx;
use crate::automation::{self, transition};
use crate::bot;
use crate::bus::{Event, EventKind};
use crate::domain::event::{Notice, SystemEvent};
use crate::domain::{Actor, Priority, Status};
use crate::error::{Error, Result};
use crate::store::conversations::{self, Conversation};
use crate::store::{members, tags, teams, users};
use crate::thread;

/// The person acting, in the project they act in.
#[derive(Clone, Debug)]
pub struct Operator {
    pub user_id: i64,
    pub name: String,
    pub project_id: crate::domain::ProjectId,
}

/// A set of changes to apply at once (the API's PATCH, the console's forms).
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub status: Option<Status>,
    /// Some(None) unassigns.
    pub assignee: Option<Option<i64>>,
    /// Some(None) removes the team.
    pub team: Option<Option<i64>>,
    pub priority: Option<Priority>,
    /// Some(None) removes the due date.
    pub due_at: Option<Option<NaiveDateTime>>,
    /// Exactly these tags (the project's tags' names, any case).
    pub tags: Option<Vec<String>>,
    /// A transfer's note for whoever receives the conversation (the new assignee or team):
    /// kept in the thread as an internal note and quoted in their notification.
    pub note: Option<String>,
}

impl Inbox {
    /// NotFound unless the conversation is the project's: asked before a request's body is
    /// read, so another project's member learns nothing from how their body was judged.
    pub async fn ensure_visible(
        &self,
        project_id: crate::domain::ProjectId,
        id: crate::domain::ConversationId,
    ) -> Result<()> {
        self.store
            .read(move |c| conversations::by_id(c, project_id, id).map(|_| ()))
            .await
    }

    pub async fn change(
        &self,
        op: &Operator,
        conversation_id: crate::domain::ConversationId,
        ch: Changes,
    ) -> Result<Conversation> {
        let note = ch
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        if note.is_some() && ch.assignee.is_none() && ch.team.is_none() {
            return Err(Error::invalid(
                "a note goes with a transfer: give the conversation to a member or a team",
            ));
        }
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > super::reply::MAX_REPLY_CHARS)
        {
            return Err(Error::invalid(format!(
                "the note is longer than {} characters",
                super::reply::MAX_REPLY_CHARS
            )));
        }
        let op2 = op.clone();
        let registry = self.registry.clone();
        let auto = self.automation.clone();
        let conv = self
            .store
            .write(move |conn| {
                let conv = conversations::by_id(conn, op2.project_id, conversation_id)?;
                let entry = registry.by_id(conv.channel_id);
                // Customers of helpdesk channels hear about what operators change.
                let bot = entry.as_ref().and_then(|e| e.bot_ctx());
                if let Some(n) = &note {
                    thread::add_note(conn, &conv, op2.user_id, n, &[])?;
                }
                if let Some(a) = ch.assignee
                    && a != conv.assignee_id
                {
                    let to_name = match a {
                        Some(uid) => {
                            let answers = members::access_in(conn, op2.project_id, uid)?
                                .is_some_and(|a| a.can(crate::domain::role::Can::Answer));
                            if !answers {
                                return Err(Error::invalid(format!(
                                    "user {uid} is not a member of this project with operator access"
                                )));
                            }
                            Some(users::by_id(conn, uid)?.name)
                        }
                        None => None,
                    };
                    conversations::set_assignee(conn, conv.id, a)?;
                    // Given to someone by someone else: they hear of it.
                    if let Some(uid) = a
                        && uid != op2.user_id
                    {
                        let notice = Notice::Assigned {
                            number: conv.number,
                            by: Some(op2.name.clone()),
                            note: note.as_deref().map(crate::domain::text::notice_preview),
                        };
                        crate::thread::notify::notify(
                            conn,
                            op2.project_id,
                            uid,
                            Some(conv.id),
                            &notice)?;
                    }
                    if let (Some(ctx), Some(name)) = (&bot, &to_name) {
                        bot::notify(conn, ctx, &conv, bot::Change::Assignee(name))?;
                    }
                    let ev = SystemEvent::Assigned {
                        to: to_name,
                        by: op2.name.clone(),
                    };
                    thread::record(conn, &conv, &ev)?;
                }
                if let Some(t) = ch.team
                    && t != conv.team_id
                {
                    let team = match t {
                        Some(id) => Some(teams::by_id(conn, op2.project_id, id)?),
                        None => None,
                    };
                    conversations::set_team(conn, conv.id, t)?;
                    if let Some(team) = &team {
                        thread::tell_team(conn, &conv, team, Some(op2.user_id), note.as_deref())?;
                    }
                    let to = team.map(|t| t.name);
                    let ev = SystemEvent::Team {
                        to,
                        by: op2.name.clone(),
                    };
                    thread::record(conn, &conv, &ev)?;
                }
                if let Some(p) = ch.priority
                    && p != conv.priority
                {
                    conversations::set_priority(conn, conv.id, p)?;
                    let ev = SystemEvent::Priority {
                        from: conv.priority,
                        to: p,
                        by: op2.name.clone(),
                    };
                    thread::record(conn, &conv, &ev)?;
                }
                if let Some(d) = ch.due_at
                    && d != conv.due_at
                {
                    conversations::set_due(conn, conv.id, d)?;
                    if let Some(ctx) = &bot {
                        bot::notify(conn, ctx, &conv, bot::Change::Due(d))?;
                    }
                    let ev = SystemEvent::Due {
                        due: d.map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()),
                        by: op2.name.clone(),
                    };
                    thread::record(conn, &conv, &ev)?;
                }
                if let Some(names) = &ch.tags {
                    if names.len() > crate::domain::tag::MAX_PER_CONVERSATION {
                        return Err(Error::invalid(format!(
                            "a conversation carries at most {} tags",
                            crate::domain::tag::MAX_PER_CONVERSATION
                        )));
                    }
                    let wanted = tags::named(conn, op2.project_id, names)?;
                    let (added, removed) = tags::set_for_conversation(conn, conv.id, &wanted)?;
                    if !added.is_empty() || !removed.is_empty() {
                        let ev = SystemEvent::Tagged {
                            added: added.into_iter().map(|t| t.name).collect(),
                            removed: removed.into_iter().map(|t| t.name).collect(),
                            by: op2.name.clone(),
                        };
                        thread::record(conn, &conv, &ev)?;
                    }
                }
                if let Some(s) = ch.status {
                    let ctx = auto_ctx(&auto, entry.as_deref());
                    transition(conn, &ctx, &conv, s, Actor::Operator, &op2.name)?;
                    if let Some(ctx) = &bot {
                        bot::notify(conn, ctx, &conv, bot::Change::Status(s))?;
                    }
                }
                conversations::by_id(conn, op2.project_id, conversation_id)
            })
            .await?;
        // A status told to the customer (automation, the bot), or a member told of a
        // conversation given to them.
        self.wake_deliveries();
        self.announce(&conv);
        Ok(conv)
    }

    pub async fn mark_read(
        &self,
        project_id: crate::domain::ProjectId,
        conversation_id: crate::domain::ConversationId,
    ) -> Result<()> {
        let registry = self.registry.clone();
        let auto = self.automation.clone();
        let conv = self
            .store
            .write(move |conn| {
                let c = conversations::by_id(conn, project_id, conversation_id)?;
                if c.unread {
                    conversations::mark_read(conn, c.id)?;
                    let ctx = auto_ctx(&auto, registry.by_id(c.channel_id).as_deref());
                    automation::operator_read(conn, &ctx, &c)?;
                }
                Ok(c)
            })
            .await?;
        if conv.unread {
            self.announce(&conv);
        }
        Ok(())
    }

    pub(crate) fn announce(&self, conv: &Conversation) {
        self.bus.publish(Event {
            project_id: conv.project_id,
            conversation_id: conv.id,
            contact_id: conv.contact_id,
            message_id: None,
            kind: EventKind::Updated,
            from_customer: false,
            new_conversation: false,
            public: false,
        });
    }
}
