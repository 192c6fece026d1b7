use super::{ContactId, ConversationId};

/// What one inbound event left in the database, as the platform's caller and the live
/// stream need it.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Received {
    pub message_id: Option<i64>,
    pub conversation_id: Option<ConversationId>,
    pub conversation_number: Option<i64>,
    pub contact_id: ContactId,
    /// The platform had delivered this message before; nothing new was stored.
    pub duplicate: bool,
    pub new_conversation: bool,
    /// Something was queued for a member (a notice by e-mail or messenger, a bot's answer
    /// to a staff link): the delivery workers are woken.
    pub told_staff: bool,
}

impl Received {
    /// The event was handled but stored no message (a button, a block, a menu).
    pub fn nothing(contact_id: ContactId) -> Received {
        Received {
            contact_id,
            ..Received::default()
        }
    }

    pub fn duplicate() -> Received {
        Received {
            duplicate: true,
            ..Received::default()
        }
    }
}
