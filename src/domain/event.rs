//! System events recorded in a thread. Stored as JSON so each reader (console in Russian or
//! English, API) renders them in its own language.

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SystemEvent {
    Created {
        channel: String,
    },
    Status {
        from: String,
        to: String,
        by: String,
    },
    Assigned {
        to: Option<String>,
        by: String,
    },
    Team {
        to: Option<String>,
        by: String,
    },
    Priority {
        from: String,
        to: String,
        by: String,
    },
    Due {
        due: Option<String>,
        by: String,
    },
    Rated {
        stars: i32,
        comment: Option<String>,
        by: String,
    },
    DeliveryFailed {
        error: String,
    },
    Blocked,
}

fn status_label(s: &str, lang: Lang) -> String {
    match (crate::domain::Status::parse(s), lang) {
        (Ok(st), Lang::Ru) => st.label_ru().to_string(),
        _ => s.to_string(),
    }
}

impl SystemEvent {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Renders a stored system message; text that is not an event is shown as it is.
    pub fn render_stored(text: &str, lang: Lang) -> String {
        match serde_json::from_str::<SystemEvent>(text) {
            Ok(e) => e.render(lang),
            Err(_) => text.to_string(),
        }
    }

    pub fn render(&self, lang: Lang) -> String {
        use SystemEvent::*;
        match (self, lang) {
            (Created { channel }, Lang::Ru) => format!("Обращение создано: {channel}"),
            (Created { channel }, Lang::En) => format!("Conversation created via {channel}"),
            (Status { from, to, by }, Lang::Ru) => format!(
                "Статус: {} → {} ({by})",
                status_label(from, lang),
                status_label(to, lang)
            ),
            (Status { from, to, by }, Lang::En) => format!("Status: {from} → {to} ({by})"),
            (Assigned { to: Some(t), by }, Lang::Ru) => format!("Назначено: {t} ({by})"),
            (Assigned { to: Some(t), by }, Lang::En) => format!("Assigned to {t} ({by})"),
            (Assigned { to: None, by }, Lang::Ru) => format!("Исполнитель снят ({by})"),
            (Assigned { to: None, by }, Lang::En) => format!("Unassigned ({by})"),
            (Team { to: Some(t), by }, Lang::Ru) => format!("Команда: {t} ({by})"),
            (Team { to: Some(t), by }, Lang::En) => format!("Team: {t} ({by})"),
            (Team { to: None, by }, Lang::Ru) => format!("Команда снята ({by})"),
            (Team { to: None, by }, Lang::En) => format!("Team removed ({by})"),
            (Priority { from, to, by }, Lang::Ru) => format!("Приоритет: {from} → {to} ({by})"),
            (Priority { from, to, by }, Lang::En) => format!("Priority: {from} → {to} ({by})"),
            (Due { due: Some(d), by }, Lang::Ru) => format!("Срок: {d} ({by})"),
            (Due { due: Some(d), by }, Lang::En) => format!("Due date: {d} ({by})"),
            (Due { due: None, by }, Lang::Ru) => format!("Срок снят ({by})"),
            (Due { due: None, by }, Lang::En) => format!("Due date removed ({by})"),
            (Rated { stars, comment, by }, Lang::Ru) => match comment {
                Some(c) => format!("Оценка {}: «{c}» ({by})", "★".repeat(*stars as usize)),
                None => format!("Оценка {} ({by})", "★".repeat(*stars as usize)),
            },
            (Rated { stars, comment, by }, Lang::En) => match comment {
                Some(c) => format!("Rated {}: \"{c}\" ({by})", "★".repeat(*stars as usize)),
                None => format!("Rated {} ({by})", "★".repeat(*stars as usize)),
            },
            (DeliveryFailed { error }, Lang::Ru) => format!("Сообщение не доставлено: {error}"),
            (DeliveryFailed { error }, Lang::En) => format!("Message not delivered: {error}"),
            (Blocked, Lang::Ru) => {
                "Клиент заблокировал бота или отписался: сообщения ему не доставляются".into()
            }
            (Blocked, Lang::En) => {
                "The customer blocked the bot or unsubscribed: messages are not delivered".into()
            }
        }
    }
}

/// What a console notification says; stored as JSON and rendered in the reader's language.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// The customer commented on a request assigned to you.
    Comment {
        number: i64,
        by: String,
        preview: String,
    },
    /// A VIP organization you manage sent a new request.
    VipRequest {
        number: i64,
        organization: String,
        by: String,
    },
    /// A customer of your organization asks to be contacted.
    ContactMe { number: i64, by: String },
    /// A customer's message has waited for an answer too long.
    Unanswered {
        number: i64,
        minutes: i64,
        by: String,
    },
}

impl Notice {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn render_stored(text: &str, lang: Lang) -> String {
        match serde_json::from_str::<Notice>(text) {
            Ok(n) => n.render(lang),
            Err(_) => text.to_string(),
        }
    }

    pub fn render(&self, lang: Lang) -> String {
        use Notice::*;
        match (self, lang) {
            (
                Comment {
                    number,
                    by,
                    preview,
                },
                Lang::Ru,
            ) => format!("💬 {by} добавил(а) комментарий к #{number}: {preview}"),
            (
                Comment {
                    number,
                    by,
                    preview,
                },
                Lang::En,
            ) => format!("💬 {by} commented on #{number}: {preview}"),
            (
                VipRequest {
                    number,
                    organization,
                    by,
                },
                Lang::Ru,
            ) => format!("⭐ Новая заявка #{number} от VIP-организации {organization} ({by})"),
            (
                VipRequest {
                    number,
                    organization,
                    by,
                },
                Lang::En,
            ) => format!("⭐ New request #{number} from VIP organization {organization} ({by})"),
            (ContactMe { number, by }, Lang::Ru) => format!("📞 {by} просит связаться (#{number})"),
            (ContactMe { number, by }, Lang::En) => {
                format!("📞 {by} asks to be contacted (#{number})")
            }
            (
                Unanswered {
                    number,
                    minutes,
                    by,
                },
                Lang::Ru,
            ) => format!("⏰ #{number}: {by} ждёт ответа больше {minutes} мин"),
            (
                Unanswered {
                    number,
                    minutes,
                    by,
                },
                Lang::En,
            ) => format!("⏰ #{number}: {by} has waited for an answer over {minutes} min"),
        }
    }
}
