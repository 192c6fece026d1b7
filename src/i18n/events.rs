//! How stored system events and console notices read, in the reader's language.

use super::{Lang, priority_label, status_label};
use crate::domain::event::{Notice, SystemEvent};

/// Renders a stored system message; text that is not an event is shown as it is.
pub fn stored_event(text: &str, lang: Lang) -> String {
    match serde_json::from_str::<SystemEvent>(text) {
        Ok(e) => event(&e, lang),
        Err(_) => text.to_string(),
    }
}

pub fn event(e: &SystemEvent, lang: Lang) -> String {
    use SystemEvent::*;
    match (e, lang) {
        (Created { channel }, Lang::Ru) => format!("Обращение создано: {channel}"),
        (Created { channel }, Lang::En) => format!("Conversation created via {channel}"),
        (Status { from, to, by }, Lang::Ru) => format!(
            "Статус: {} → {} ({by})",
            status_label(lang, *from),
            status_label(lang, *to)
        ),
        (Status { from, to, by }, Lang::En) => format!(
            "Status: {} → {} ({by})",
            status_label(lang, *from),
            status_label(lang, *to)
        ),
        (Assigned { to: Some(t), by }, Lang::Ru) => format!("Назначено: {t} ({by})"),
        (Assigned { to: Some(t), by }, Lang::En) => format!("Assigned to {t} ({by})"),
        (Assigned { to: None, by }, Lang::Ru) => format!("Исполнитель снят ({by})"),
        (Assigned { to: None, by }, Lang::En) => format!("Unassigned ({by})"),
        (
            Tagged {
                added,
                removed,
                by,
            },
            lang,
        ) => {
            let (on, off) = match lang {
                Lang::Ru => ("Метки: +", "Метки сняты: "),
                Lang::En => ("Tags: +", "Tags removed: "),
            };
            let mut parts = Vec::new();
            if !added.is_empty() {
                parts.push(format!("{on}{}", added.join(", +")));
            }
            if !removed.is_empty() {
                parts.push(format!("{off}{}", removed.join(", ")));
            }
            format!("{} ({by})", parts.join("; "))
        }
        (Team { to: Some(t), by }, Lang::Ru) => format!("Команда: {t} ({by})"),
        (Team { to: Some(t), by }, Lang::En) => format!("Team: {t} ({by})"),
        (Team { to: None, by }, Lang::Ru) => format!("Команда снята ({by})"),
        (Team { to: None, by }, Lang::En) => format!("Team removed ({by})"),
        (Priority { from, to, by }, Lang::Ru) => format!(
            "Приоритет: {} → {} ({by})",
            priority_label(lang, *from),
            priority_label(lang, *to)
        ),
        (Priority { from, to, by }, Lang::En) => format!(
            "Priority: {} → {} ({by})",
            priority_label(lang, *from),
            priority_label(lang, *to)
        ),
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
        (LeftOffline, Lang::Ru) => {
            "Оставлено через форму, пока никого не было в сети: ответ придёт посетителю в чат".into()
        }
        (AutoAssigned { to }, Lang::Ru) => format!("Назначено автоматически: {to}"),
        (AutoAssigned { to }, Lang::En) => format!("Assigned automatically to {to}"),
        (Returned { from }, Lang::Ru) => {
            format!("Вернулось в очередь: {from} не в сети")
        }
        (Returned { from }, Lang::En) => format!("Back to the queue: {from} went offline"),
        (ContactsMerged { other, by }, Lang::Ru) => {
            format!("{by} объединил(а) контакт клиента с «{other}»: одна история на всех каналах")
        }
        (ContactsMerged { other, by }, Lang::En) => {
            format!("{by} merged the customer's contact with {other}: one history on every channel")
        }
        (LeftOffline, Lang::En) => {
            "Left through the offline form while nobody was online: the answer reaches the visitor in the chat".into()
        }
    }
}

pub fn stored_notice(text: &str, lang: Lang) -> String {
    match serde_json::from_str::<Notice>(text) {
        Ok(n) => notice(&n, lang),
        Err(_) => text.to_string(),
    }
}

pub fn notice(n: &Notice, lang: Lang) -> String {
    use Notice::*;
    match (n, lang) {
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
        (IntegrationPaused { name, reason }, Lang::Ru) => format!(
            "⛔ Интеграция «{name}» приостановлена: адрес не принимает события сутки ({reason}). События копятся; возобновите её в Настройках → Интеграции."
        ),
        (IntegrationPaused { name, reason }, Lang::En) => format!(
            "⛔ Integration \"{name}\" was paused: its address has refused events for a day ({reason}). Events are kept; resume it in Settings → Integrations."
        ),
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
        (ToTeam { number, team, note }, lang) => {
            let head = match lang {
                Lang::Ru => format!("👥 #{number} передано группе «{team}»"),
                Lang::En => format!("👥 #{number} was given to team {team}"),
            };
            match note {
                Some(n) => format!("{head}: {n}"),
                None => head,
            }
        }
        (
            Mention {
                number,
                by,
                preview,
            },
            Lang::Ru,
        ) => format!("📝 {by} упомянул(а) вас в заметке к #{number}: {preview}"),
        (
            Mention {
                number,
                by,
                preview,
            },
            Lang::En,
        ) => format!("📝 {by} mentioned you in a note on #{number}: {preview}"),
        (
            Replied {
                number,
                by,
                preview,
            },
            Lang::Ru,
        ) => format!("↩️ {by} ответил(а) в #{number}: {preview}"),
        (
            Replied {
                number,
                by,
                preview,
            },
            Lang::En,
        ) => format!("↩️ {by} replied in #{number}: {preview}"),
        (
            DailySummary {
                date,
                opened,
                closed,
                first_response_median_s,
                rating_average,
                unanswered_now,
                link,
            },
            lang,
        ) => {
            let unit = match lang {
                Lang::Ru => "мин",
                Lang::En => "min",
            };
            let minutes = |s: &Option<i64>| {
                s.map(|s| format!("{} {unit}", (s + 30) / 60))
                    .unwrap_or_else(|| "—".into())
            };
            let rating = rating_average
                .map(|r| format!("{r:.2}"))
                .unwrap_or_else(|| "—".into());
            let fr = minutes(first_response_median_s);
            let body = match lang {
                Lang::Ru => format!(
                    "📊 Сводка за {date}: открыто {opened}, закрыто {closed}, первый ответ (медиана) {fr}, оценка {rating}; ждут ответа сейчас: {unanswered_now}"
                ),
                Lang::En => format!(
                    "📊 Summary for {date}: {opened} opened, {closed} closed, first response (median) {fr}, rating {rating}; waiting for an answer now: {unanswered_now}"
                ),
            };
            match link {
                Some(l) => format!("{body}\n{l}"),
                None => body,
            }
        }
        (Assigned { number, by, note }, lang) => {
            let head = match (by, lang) {
                (Some(by), Lang::Ru) => format!("📥 {by} передал(а) вам #{number}"),
                (Some(by), Lang::En) => format!("📥 {by} handed #{number} to you"),
                (None, Lang::Ru) => format!("📥 Вам назначено #{number}"),
                (None, Lang::En) => format!("📥 #{number} was assigned to you"),
            };
            match note {
                Some(n) => format!("{head}: {n}"),
                None => head,
            }
        }
    }
}
