//! What the console, the widget and the API show of messages: system events rendered in the
//! reader's language, attachments listed, times as RFC 3339 or in the project's time zone.

use chrono::{NaiveDateTime, TimeZone};
use serde::Serialize;

use crate::domain::MessageKind;
use crate::error::Result;
use crate::files::INLINE_TYPES;
use crate::i18n::Lang;
use crate::store::DbConn;
use crate::store::attachments;
use crate::store::messages::Message;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Attachment)]
pub struct AttachmentView {
    pub id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    #[serde(skip)]
    #[schema(ignore)]
    pub size_label: String,
    pub image: bool,
    /// ready, pending (still being fetched from the platform) or failed.
    #[schema(value_type = String)]
    pub state: attachments::FileState,
    /// Why a failed file could not be fetched.
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Message)]
pub struct MessageView {
    pub id: i64,
    #[schema(value_type = i64)]
    pub conversation_id: crate::domain::ConversationId,
    /// customer, operator, note (team only) or system (a recorded change).
    #[schema(schema_with = super::openapi::message_kind_schema)]
    pub kind: String,
    /// The operator's name; "🤖 Automatic" for what automation sent; none for the customer.
    pub author: Option<String>,
    /// The address of the operator's picture, when they have one (the widget shows it).
    pub author_avatar: Option<String>,
    /// System events are rendered in English here.
    pub text: String,
    #[schema(schema_with = super::openapi::delivery_schema)]
    pub delivery: String,
    /// Why the last delivery attempt failed.
    pub error: Option<String>,
    #[schema(schema_with = super::openapi::date_time_schema)]
    pub created_at: String,
    #[serde(skip)]
    #[schema(ignore)]
    pub local_time: String,
    pub attachments: Vec<AttachmentView>,
}

pub fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// "21.11 14:03" in the project's zone (invariant 3: stored UTC, shown local).
pub fn local(t: NaiveDateTime, tz: &str) -> String {
    match tz.parse::<chrono_tz::Tz>() {
        Ok(z) => z.from_utc_datetime(&t).format("%d.%m %H:%M").to_string(),
        Err(_) => t.format("%d.%m %H:%M UTC").to_string(),
    }
}

pub fn messages(
    conn: &mut DbConn,
    rows: Vec<(Message, Option<String>)>,
    lang: Lang,
    tz: &str,
) -> Result<Vec<MessageView>> {
    let ids: Vec<i64> = rows.iter().map(|(m, _)| m.id).collect();
    let files = attachments::of_messages(conn, &ids)?;
    let mut authors: Vec<i64> = rows.iter().filter_map(|(m, _)| m.author_id).collect();
    authors.sort_unstable();
    authors.dedup();
    let avatars: std::collections::HashMap<i64, String> = if authors.is_empty() {
        Default::default()
    } else {
        crate::store::users::avatars_of(conn, &authors)?
            .into_iter()
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|(m, author)| {
            let text = if m.kind == MessageKind::System {
                crate::i18n::events::stored_event(&m.text, lang)
            } else {
                m.text
            };
            MessageView {
                attachments: files
                    .iter()
                    .filter(|a| a.message_id == m.id)
                    .map(|a| AttachmentView {
                        id: a.id,
                        file_name: a.file_name.clone(),
                        content_type: a.content_type.clone(),
                        size: a.size,
                        size_label: size(a.size),
                        image: a.state() == attachments::FileState::Ready
                            && INLINE_TYPES.contains(&a.content_type.as_str())
                            && a.content_type.starts_with("image/"),
                        state: a.state(),
                        error: a.error.clone(),
                    })
                    .collect(),
                id: m.id,
                conversation_id: m.conversation_id,
                // Messages the system sends for the team (auto-replies, closing messages).
                author: match m.kind {
                    MessageKind::Operator if author.is_none() => {
                        Some(crate::i18n::Tr { lang }.t("automatic").to_string())
                    }
                    MessageKind::Bot => Some(crate::i18n::Tr { lang }.t("bot_author").to_string()),
                    _ => author,
                },
                author_avatar: m
                    .author_id
                    .filter(|_| m.kind == MessageKind::Operator)
                    .and_then(|a| avatars.get(&a))
                    .map(|k| format!("/avatars/{k}")),
                kind: m.kind.to_string(),
                text,
                delivery: m.delivery.to_string(),
                error: m.error,
                created_at: rfc3339(m.created_at),
                local_time: local(m.created_at, tz),
            }
        })
        .collect())
}

/// Human file size for the console.
pub fn size(bytes: i64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.0} KB", b / 1024.0)
    } else {
        format!("{:.1} MB", b / 1024.0 / 1024.0)
    }
}
