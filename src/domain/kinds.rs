//! The kinds that name rows and channels. Stored as their lowercase names (text columns);
//! parsing a stored name back fails loudly instead of comparing strings all over the code.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Declares a text-stored enum: its names, `as_str`, `parse`, `ALL`, Display and the
/// `TryFrom<String>` the store reads rows with.
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($(#[$vm:meta])* $v:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            pub fn parse(s: &str) -> Result<$name, Error> {
                let s = s.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|k| k.as_str() == s)
                    .ok_or_else(|| {
                        let names: Vec<&str> = $name::ALL.iter().map(|k| k.as_str()).collect();
                        Error::invalid(format!(
                            "unknown {} \"{s}\"; expected one of: {}",
                            $what,
                            names.join(", ")
                        ))
                    })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<$name, Error> {
                $name::parse(&s)
            }
        }
    };
}

text_enum!(
    /// The platform a channel talks to.
    ChannelKind, "channel kind", {
        Widget => "widget",
        Api => "api",
        Telegram => "telegram",
        Vk => "vk",
        Viber => "viber",
        Whatsapp => "whatsapp",
        Ok => "ok",
        Avito => "avito",
        Max => "max",
    }
);

text_enum!(
    /// What an integration hands conversations to.
    IntegrationKind, "integration kind", {
        /// Signed JSON events POSTed to a URL of the business.
        Webhook => "webhook",
        /// Leads or contacts with deals in a Bitrix24 portal, through its incoming webhook.
        Bitrix24 => "bitrix24",
        /// Contacts and leads in an amoCRM account, with a long-lived token.
        AmoCrm => "amocrm",
    }
);

text_enum!(
    /// What happened, as an outgoing webhook names it.
    WebhookEvent, "webhook event", {
        ConversationCreated => "conversation_created",
        StatusChanged => "conversation_status_changed",
        Assigned => "conversation_assigned",
        /// A customer's message.
        MessageIncoming => "message_incoming",
        /// An operator's or an automatic message to the customer.
        MessageOutgoing => "message_outgoing",
        Rated => "conversation_rated",
        ContactUpdated => "contact_updated",
    }
);

text_enum!(
    /// Where a channel was declared, which says where it may be changed.
    ChannelSource, "channel source", {
        /// channels.toml: changed in the file (shown, not editable in the settings).
        File => "file",
        /// The widget every project gets.
        Builtin => "builtin",
        /// Connected in the settings or through the API.
        Web => "web",
    }
);

impl ChannelSource {
    /// Whether the settings and the API may change it.
    pub fn editable(self) -> bool {
        self != ChannelSource::File
    }
}

text_enum!(
    /// Who wrote a message.
    MessageKind, "message kind", {
        Customer => "customer",
        Operator => "operator",
        /// Internal note: operators only, never sent to the customer.
        Note => "note",
        /// A recorded change (status, assignee, delivery failure…).
        System => "system",
        /// What the helpdesk bot or automation told the customer outside the conversation's
        /// own messages (menus with their buttons, confirmations, status answers, rating
        /// prompts), kept so operators see what the customer saw. Never an operator's answer.
        Bot => "bot",
    }
);

text_enum!(
    /// Where a message is on its way: customer messages are `Received`, notes `None`.
    Delivery, "delivery state", {
        Received => "received",
        Pending => "pending",
        Sent => "sent",
        Delivered => "delivered",
        Read => "read",
        Failed => "failed",
        None => "none",
    }
);

text_enum!(
    /// What an automation timer is for; one row per (conversation, kind, step).
    TimerKind, "timer kind", {
        AutoReply => "auto_reply",
        OffHoursReply => "off_hours_reply",
        AutoClose => "auto_close",
        Unanswered => "unanswered",
        /// Pending while the customer may answer a rating request (chat channels).
        Rating => "rating",
        /// Pending while the customer may add a comment to the rating just given.
        RatingComment => "rating_comment",
        /// Widget: the visitor's message has not been read by an operator.
        WidgetUnread => "widget_unread",
        /// Widget: read by an operator but not answered.
        WidgetUnanswered => "widget_unanswered",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_what_it_stores() {
        for k in ChannelKind::ALL {
            assert_eq!(ChannelKind::parse(k.as_str()).ok(), Some(*k));
        }
        for k in TimerKind::ALL {
            assert_eq!(TimerKind::try_from(k.as_str().to_string()).ok(), Some(*k));
        }
        let e = ChannelKind::parse("icq").err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("telegram")));
    }
}

text_enum!(
    /// A tag's colour, from a palette that reads on the console's light background.
    TagColour, "tag colour", {
        Gray => "gray",
        Red => "red",
        Orange => "orange",
        Yellow => "yellow",
        Green => "green",
        Teal => "teal",
        Blue => "blue",
        Purple => "purple",
        Pink => "pink",
    }
);
