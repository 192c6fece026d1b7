//! Operator messages: public replies go to the outbox in the same transaction; notes stay
//! inside the team.

use super::Inbox;
use super::manage::Operator;
use super::registry::auto_ctx;
use crate::automation::transition;
use crate::bus::{Event, EventKind};
use crate::domain::event::SystemEvent;
use crate::domain::{Actor, ChannelKind, Status};
use crate::error::{Error, Result};
use crate::store::attachments::StoredFile;
use crate::store::conversations;
use crate::thread;

pub const MAX_REPLY_CHARS: usize = 20_000;

impl Inbox {
    /// Adds an operator message (or an internal note when `private`). Returns its id.
    /// An operator's answer or note. Files saved for it are removed again if it is refused,
    /// so a failed reply leaves nothing on disk.
    pub async fn reply(
        &self,
        op: &Operator,
        conversation_id: crate::domain::ConversationId,
        text: String,
        files: Vec<StoredFile>,
        private: bool,
    ) -> Result<i64> {
        let saved = files.clone();
        let r = self
            .store_reply(op, conversation_id, text, files, private)
            .await;
        if r.is_err() {
            self.files.discard(&saved).await;
        }
        r
    }

    async fn store_reply(
        &self,
        op: &Operator,
        conversation_id: crate::domain::ConversationId,
        text: String,
        files: Vec<StoredFile>,
        private: bool,
    ) -> Result<i64> {
        let text = text.trim().to_string();
        if text.is_empty() && files.is_empty() {
            return Err(Error::invalid("the message is empty"));
        }
        if text.chars().count() > MAX_REPLY_CHARS {
            return Err(Error::invalid(format!(
                "the message is longer than {MAX_REPLY_CHARS} characters"
            )));
        }
        let op2 = op.clone();
        let registry = self.registry.clone();
        let auto = self.automation.clone();
        let (mid, contact_id) = self
            .store
            .write(move |conn| {
                let conv = conversations::by_id(conn, op2.project_id, conversation_id)?;
                if private {
                    let mid = thread::add_note(conn, &conv, op2.user_id, &text, &files)?;
                    thread::tell_mentioned(conn, &conv, op2.user_id, &op2.name, &text)?;
                    return Ok((mid, conv.contact_id));
                }
                let ctx = auto_ctx(&auto, registry.by_id(conv.channel_id).as_deref());
                // Answering a new or finished conversation puts it (back) to work.
                let status = conv.status;
                if status == Status::New || status.is_final() || status == Status::Reopened {
                    transition(conn, &ctx, &conv, Status::Open, Actor::Operator, &op2.name)?;
                }
                if conv.assignee_id.is_none() {
                    conversations::set_assignee(conn, conv.id, Some(op2.user_id))?;
                    let ev = SystemEvent::Assigned {
                        to: Some(op2.name.clone()),
                        by: op2.name.clone(),
                    };
                    thread::record(conn, &conv, &ev)?;
                }
                let mid = thread::add_outgoing(
                    conn,
                    &conv,
                    Some(op2.user_id),
                    &text,
                    &files,
                    None,
                    ctx.now,
                )?;
                crate::automation::operator_answered(conn, &ctx, &conv)?;
                Ok((mid, conv.contact_id))
            })
            .await?;
        self.written_by_operator(op, conversation_id, contact_id, mid);
        Ok(mid)
    }

    /// After an operator's message committed: the outbox is woken for a public one, and the
    /// consoles hear of it. It is public to the widget only once delivered (the outbox says).
    fn written_by_operator(
        &self,
        op: &Operator,
        conversation_id: crate::domain::ConversationId,
        contact_id: crate::domain::ContactId,
        message_id: i64,
    ) {
        // A reply goes out; a note may have told a member (@mention) by e-mail or messenger.
        self.wake_deliveries();
        self.bus.publish(Event {
            project_id: op.project_id,
            conversation_id,
            contact_id,
            message_id: Some(message_id),
            kind: EventKind::Message,
            from_customer: false,
            new_conversation: false,
            public: false,
        });
    }
}

impl Inbox {
    /// An operator opens a new request for the customer of an existing conversation, in the
    /// same channel; the customer is told its number (where a bot speaks for the channel) and
    /// gets the operator's first message.
    pub async fn open_for_customer(
        &self,
        op: &Operator,
        from_conversation: crate::domain::ConversationId,
        subject: String,
        text: String,
    ) -> Result<crate::domain::ConversationId> {
        let subject = subject.trim().to_string();
        if subject.is_empty() || subject.chars().count() > 200 {
            return Err(Error::invalid("the subject must be 1-200 characters"));
        }
        let op2 = op.clone();
        let registry = self.registry.clone();
        let auto = self.automation.clone();
        let conv = self
            .store
            .write(move |conn| {
                let base = conversations::by_id(conn, op2.project_id, from_conversation)?;
                let channel = crate::store::channels::by_id(conn, base.channel_id)?;
                let c = thread::open(
                    conn,
                    &thread::Opening {
                        project_id: op2.project_id,
                        contact_id: base.contact_id,
                        channel_id: base.channel_id,
                        channel_name: &channel.name,
                        subject: &subject,
                        team: channel.default_team_id,
                        at: auto.clock.now(),
                    },
                )?;
                conversations::set_assignee(conn, c.id, Some(op2.user_id))?;
                let ctx = auto_ctx(&auto, registry.by_id(c.channel_id).as_deref());
                transition(conn, &ctx, &c, Status::Open, Actor::Operator, &op2.name)?;
                if let Some(ctx) = registry.by_id(c.channel_id).and_then(|e| e.bot_ctx()) {
                    crate::bot::notify(conn, &ctx, &c, crate::bot::Change::Created)?;
                }
                Ok(c)
            })
            .await?;
        self.announce(&conv);
        if !text.trim().is_empty() {
            self.reply(op, conv.id, text, Vec::new(), false).await?;
        }
        self.outbox_wake.notify_one();
        Ok(conv.id)
    }
}

impl Inbox {
    /// Sends an approved WhatsApp template (the way to reach a customer after 24 hours).
    pub async fn send_template(
        &self,
        op: &Operator,
        conversation_id: crate::domain::ConversationId,
        template: crate::channels::Template,
    ) -> Result<i64> {
        template.validate().map_err(Error::invalid)?;
        let op2 = op.clone();
        let registry = self.registry.clone();
        let auto = self.automation.clone();
        let (mid, contact_id) = self
            .store
            .write(move |conn| {
                let conv = conversations::by_id(conn, op2.project_id, conversation_id)?;
                let channel = crate::store::channels::by_id(conn, conv.channel_id)?;
                if channel.kind != ChannelKind::Whatsapp {
                    return Err(Error::invalid(format!(
                        "templates are a WhatsApp feature; this conversation is on {}",
                        channel.kind
                    )));
                }
                let text = if template.parameters.is_empty() {
                    format!("📋 {} ({})", template.name, template.language)
                } else {
                    format!(
                        "📋 {} ({}): {}",
                        template.name,
                        template.language,
                        template.parameters.join(", ")
                    )
                };
                let payload =
                    serde_json::to_string(&template).map_err(|e| Error::internal(e.to_string()))?;
                let ctx = auto_ctx(&auto, registry.by_id(conv.channel_id).as_deref());
                let mid = thread::add_outgoing(
                    conn,
                    &conv,
                    Some(op2.user_id),
                    &text,
                    &[],
                    Some(&payload),
                    ctx.now,
                )?;
                crate::automation::operator_answered(conn, &ctx, &conv)?;
                Ok((mid, conv.contact_id))
            })
            .await?;
        self.written_by_operator(op, conversation_id, contact_id, mid);
        Ok(mid)
    }
}
