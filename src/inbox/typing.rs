//! The two live signals that are not messages: an operator typing (the widget shows
//! «Оператор печатает…», messengers that can show their typing action) and a visitor having
//! read the answers (the console shows them as read).

use std::time::{Duration, Instant};

use super::Inbox;
use crate::bus::{Event, EventKind};
use crate::domain::{ChannelId, ChannelKind, ContactId, ConversationId, ProjectId};
use crate::error::Result;
use crate::store::{contacts, conversations, messages};

/// A platform shows its typing action for about five seconds: telling it more often adds
/// nothing but calls.
const TYPING_EVERY: Duration = Duration::from_secs(4);

impl Inbox {
    /// An operator types in the conversation's reply box. Said to the customer at most every
    /// few seconds per conversation, whatever the consoles send.
    pub async fn typing(&self, project_id: ProjectId, id: ConversationId) -> Result<()> {
        let conv = self
            .store
            .read(move |c| conversations::by_id(c, project_id, id))
            .await?;
        {
            let mut last = self.typing.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if last.get(&id).is_some_and(|t| now - *t < TYPING_EVERY) {
                return Ok(());
            }
            last.retain(|_, t| now - *t < TYPING_EVERY);
            last.insert(id, now);
        }
        self.bus.publish(Event {
            project_id,
            conversation_id: id,
            contact_id: conv.contact_id,
            message_id: None,
            kind: EventKind::Typing,
            from_customer: false,
            new_conversation: false,
            public: true,
        });
        let Some(entry) = self.registry.by_id(conv.channel_id) else {
            return Ok(());
        };
        if entry.channel.kind == ChannelKind::Widget {
            return Ok(());
        }
        let Some((to, false)) = self
            .store
            .read(move |c| contacts::recipient(c, &conv))
            .await?
        else {
            return Ok(());
        };
        // Best effort and off the request: a slow platform never holds the operator's box.
        tokio::spawn(async move {
            if let Err(e) = entry.adapter.typing(&to).await {
                tracing::debug!(channel = %entry.channel.key, error = %e, "typing not shown");
            }
        });
        Ok(())
    }

    /// The visitor has seen the operators' messages up to `up_to` in their conversations of
    /// this channel; returns how many became read.
    pub async fn visitor_read(
        &self,
        project_id: ProjectId,
        contact_id: ContactId,
        channel_id: ChannelId,
        up_to: i64,
    ) -> Result<usize> {
        let read = self
            .store
            .write(move |c| messages::read_by_customer(c, contact_id, channel_id, up_to))
            .await?;
        let mut conversations: Vec<ConversationId> = read.iter().map(|(_, c)| *c).collect();
        conversations.sort_unstable();
        conversations.dedup();
        for conversation_id in conversations {
            self.bus.publish(Event {
                project_id,
                conversation_id,
                contact_id,
                message_id: None,
                kind: EventKind::Delivery,
                from_customer: false,
                new_conversation: false,
                public: false,
            });
        }
        Ok(read.len())
    }
}
