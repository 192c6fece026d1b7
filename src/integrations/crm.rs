//! What the CRM integrations share: the settings every CRM takes (title template, default
//! responsible person, channels), the facts about a conversation an event is handed over
//! with, how a phone is written for a Russian CRM (+7…), the closing transcript, and one way
//! to call a CRM and read its answer.

use chrono::NaiveDateTime;
use serde_json::Value;

use super::Outcome;
use crate::channels::download::Downloader;
use crate::domain::{ContactId, ConversationId, MessageKind, WebhookEvent};
use crate::error::Result;
use crate::store::crm_links::Progress;
use crate::store::integrations::Delivery;
use crate::store::{DbConn, channels, contacts, conversations, messages, projects, users};

/// The title of a new lead or deal unless the admin sets another.
pub const DEFAULT_TITLE: &str = "{name|Клиент} — {channel}";
/// The longest closing transcript written into a CRM; older lines give way.
const TRANSCRIPT_CHARS: usize = 20_000;
/// The longest CRM answer read.
const ANSWER_BYTES: u64 = 1024 * 1024;
/// How much of an answer the delivery log keeps.
const EXCERPT_CHARS: usize = 500;

/// What every CRM's settings hold besides how to reach it.
#[derive(Clone, Debug, PartialEq)]
pub struct Common {
    pub title: String,
    /// The CRM user who gets a lead nobody in the team is assigned to (or whose e-mail the
    /// CRM does not know).
    pub default_responsible: Option<i64>,
    /// Channel keys it applies to; empty: every channel.
    pub channels: Vec<String>,
}

/// The events a CRM takes: the new conversation, its messages, who works on it, its close.
pub const CRM_EVENTS: &[WebhookEvent] = &[
    WebhookEvent::ConversationCreated,
    WebhookEvent::MessageIncoming,
    WebhookEvent::MessageOutgoing,
    WebhookEvent::StatusChanged,
    WebhookEvent::Assigned,
];

/// The keys every CRM takes, and checks them.
pub const COMMON_KEYS: &[&str] = &["title", "default_responsible", "channels"];

impl Common {
    pub fn from_config(v: &Value) -> std::result::Result<Common, String> {
        let title = match v.get("title") {
            None | Some(Value::Null) => DEFAULT_TITLE.to_string(),
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 200 => {
                s.trim().to_string()
            }
            Some(_) => return Err("title must be a template of 1-200 characters".into()),
        };
        let default_responsible = optional_id(v, "default_responsible")?;
        let channels = super::webhook::strings(v, "channels")?.unwrap_or_default();
        Ok(Common {
            title,
            default_responsible,
            channels,
        })
    }
}

/// A positive whole number given as a number or as text (forms send text).
pub fn optional_id(v: &Value, key: &str) -> std::result::Result<Option<i64>, String> {
    let n = match v.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if n > 0 => Ok(Some(n)),
        _ => Err(format!(
            "{key} must be a positive whole number (an id in the CRM)"
        )),
    }
}

/// Refuses keys the kind does not know, naming the ones it does.
pub fn known_keys(v: &Value, kind: &str, own: &[&str]) -> std::result::Result<(), String> {
    let Some(m) = v.as_object() else {
        return Err("config must be an object".into());
    };
    for key in m.keys() {
        if !own.contains(&key.as_str()) && !COMMON_KEYS.contains(&key.as_str()) {
            let mut all: Vec<&str> = own.to_vec();
            all.extend_from_slice(COMMON_KEYS);
            return Err(format!(
                "unknown key \"{key}\" for {kind} (expected {})",
                all.join(", ")
            ));
        }
    }
    Ok(())
}

/// A phone as CRMs match it (+7… for Russian numbers); None when it is not a phone number.
pub fn normalize_phone(raw: &str) -> Option<String> {
    crate::domain::contact::phone_key(raw)
        .filter(|k| (8..=15).contains(&k.len()))
        .map(|k| format!("+{k}"))
}

/// One line of a transcript.
#[derive(Clone, Debug)]
pub struct Line {
    pub id: i64,
    pub at: String,
    pub who: String,
    pub text: String,
}

/// What an event is handed to a CRM with, read when it is delivered (so the CRM gets the
/// contact as it is now, not as it was when the event was queued).
#[derive(Clone, Debug)]
pub struct Facts {
    pub event: WebhookEvent,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    pub number: i64,
    pub channel: String,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// The e-mail of the member the conversation is assigned to.
    pub assignee_email: Option<String>,
    /// The customer's first message, which the lead is made with (None once it has gone to
    /// the CRM).
    pub first_message: Option<(i64, String)>,
    /// The message of a message event: its id and the line as the timeline shows it.
    pub message: Option<Line>,
    /// The status a status event changed to.
    pub status_to: Option<String>,
    /// The lines a closing transcript covers (after the last one written).
    pub transcript: Vec<Line>,
    pub link: Progress,
    /// The conversation in the console, when the server knows its public address.
    pub console_url: Option<String>,
}

impl Facts {
    /// Whether this event closes the conversation (the transcript goes then).
    pub fn closes(&self) -> bool {
        self.event == WebhookEvent::StatusChanged
            && matches!(self.status_to.as_deref(), Some("closed" | "cancelled"))
    }

    /// The title from the template: `{name}`, `{phone}`, `{email}`, `{channel}`, `{number}`,
    /// each with an optional `|fallback` for when it is empty.
    pub fn title(&self, template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                out.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let inner = &rest[open + 1..open + close];
            let (key, fallback) = inner.split_once('|').unwrap_or((inner, ""));
            let value = match key.trim() {
                "name" => self.name.clone(),
                "phone" => self.phone.clone().unwrap_or_default(),
                "email" => self.email.clone().unwrap_or_default(),
                "channel" => self.channel.clone(),
                "number" => format!("#{}", self.number),
                _ => format!("{{{inner}}}"),
            };
            out.push_str(if value.trim().is_empty() {
                fallback
            } else {
                &value
            });
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        let title = out.trim();
        if title.is_empty() {
            format!("#{}", self.number)
        } else {
            crate::domain::text::truncate_chars(title, 250).to_string()
        }
    }

    /// The lead's description: the first message and where it came from.
    pub fn description(&self) -> String {
        let mut s = format!("Обращение #{} из канала «{}».", self.number, self.channel);
        if let Some((_, text)) = &self.first_message {
            s.push_str("\n\n");
            s.push_str(text);
        }
        if let Some(url) = &self.console_url {
            s.push_str("\n\nПереписка: ");
            s.push_str(url);
        }
        s
    }

    /// The transcript comment, newest lines kept when it is long.
    pub fn transcript_text(&self) -> String {
        let head = format!(
            "Обращение #{} закрыто ({}). Переписка:",
            self.number,
            self.status_to.as_deref().unwrap_or("closed")
        );
        let mut lines: Vec<String> = Vec::new();
        let mut size = head.chars().count();
        for l in self.transcript.iter().rev() {
            let line = format!("[{}] {}: {}", l.at, l.who, l.text);
            size += line.chars().count() + 1;
            if size > TRANSCRIPT_CHARS {
                lines.push("…".to_string());
                break;
            }
            lines.push(line);
        }
        lines.reverse();
        if self.transcript.is_empty() {
            lines.push("(сообщений нет)".to_string());
        }
        format!("{head}\n{}", lines.join("\n"))
    }

    /// The last line the transcript covers.
    pub fn transcript_end(&self) -> Option<i64> {
        self.transcript
            .last()
            .map(|l| l.id)
            .or(self.link.transcript_until)
    }

    /// Whether the message of this event still has to go to the timeline (the first one went
    /// with the lead).
    pub fn message_to_add(&self) -> Option<&Line> {
        self.message
            .as_ref()
            .filter(|m| self.link.first_message_id.is_none_or(|first| m.id > first))
    }
}

fn who(kind: MessageKind, author: Option<&str>) -> String {
    match (kind, author) {
        (MessageKind::Customer, _) => "Клиент".to_string(),
        (MessageKind::Operator, Some(name)) => format!("Оператор {name}"),
        (MessageKind::Operator, None) => "Автоответ".to_string(),
        (_, _) => "Бот".to_string(),
    }
}

/// The facts of a delivery, read in one transaction; None when the event has no
/// conversation (a CRM takes none of those).
pub fn facts(conn: &mut DbConn, integration_id: i64, d: &Delivery) -> Result<Option<Facts>> {
    let Some(conv_id) = d.conversation_id else {
        return Ok(None);
    };
    let event = WebhookEvent::parse(&d.event)?;
    let body: Value = serde_json::from_str(&d.body).unwrap_or(Value::Null);
    let conv = conversations::by_id(conn, d.project_id, conv_id)?;
    let contact = contacts::by_id(conn, d.project_id, conv.contact_id)?;
    let channel = channels::by_id(conn, conv.channel_id)?;
    let tz = projects::by_id(conn, d.project_id)?.zone();
    let local = |t: NaiveDateTime| {
        t.and_utc()
            .with_timezone(&tz)
            .format("%d.%m.%Y %H:%M")
            .to_string()
    };
    let assignee_email = match conv.assignee_id {
        Some(uid) => Some(users::by_id(conn, uid)?.email),
        None => None,
    };
    let link = crate::store::crm_links::of(conn, integration_id, conv_id)?.unwrap_or_default();
    // Only until the first message has gone to the CRM.
    let first_message = match link.first_message_id {
        Some(_) => None,
        None => messages::thread(conn, conv_id, 0, true, 50)?
            .into_iter()
            .find(|(m, _)| m.kind == MessageKind::Customer)
            .map(|(m, _)| (m.id, m.text)),
    };
    let message = match body["data"]["message"]["id"].as_i64() {
        Some(mid)
            if matches!(
                event,
                WebhookEvent::MessageIncoming | WebhookEvent::MessageOutgoing
            ) =>
        {
            let m = messages::by_id(conn, d.project_id, mid)?;
            let author = match m.author_id {
                Some(a) => Some(users::by_id(conn, a)?.name),
                None => None,
            };
            Some(Line {
                id: m.id,
                at: local(m.created_at),
                who: who(m.kind, author.as_deref()),
                text: m.text,
            })
        }
        _ => None,
    };
    let status_to = body["data"]["to"].as_str().map(str::to_string);
    let mut f = Facts {
        event,
        conversation_id: conv_id,
        contact_id: conv.contact_id,
        number: conv.number,
        channel: channel.name,
        name: contact.name,
        phone: contact.phone,
        email: contact.email,
        assignee_email,
        first_message,
        message,
        status_to,
        transcript: Vec::new(),
        link,
        console_url: None,
    };
    if f.closes() {
        let after = f.link.transcript_until.unwrap_or(0);
        f.transcript = messages::thread(conn, conv_id, after, true, 2000)?
            .into_iter()
            .filter(|(m, _)| m.kind != MessageKind::System && !m.text.trim().is_empty())
            .map(|(m, author)| Line {
                id: m.id,
                at: local(m.created_at),
                who: who(m.kind, author.as_deref()),
                text: m.text,
            })
            .collect();
    }
    Ok(Some(f))
}

/// What a CRM does with a conversation; `handle` decides when, the same for every CRM.
pub(crate) trait Crm {
    /// Whether the first message goes with the lead itself (else it is written after it).
    const FIRST_WITH_LEAD: bool;
    /// Whether every later message is written on the lead (a timeline), not only the
    /// closing transcript.
    const EVERY_MESSAGE: bool;
    /// Makes the lead (or deal) with its contact, recording each step in `f.link` at once.
    async fn create(&self, dl: &Downloader, f: &mut Facts) -> std::result::Result<Answer, Failure>;
    /// Writes text on the lead (a timeline comment, a note).
    async fn write(
        &self,
        dl: &Downloader,
        f: &Facts,
        text: String,
    ) -> std::result::Result<Answer, Failure>;
    /// The CRM user who answers for the conversation: its operator's by e-mail, else the
    /// default.
    async fn responsible(
        &self,
        dl: &Downloader,
        f: &Facts,
    ) -> std::result::Result<Option<i64>, Failure>;
    async fn set_responsible(
        &self,
        dl: &Downloader,
        f: &Facts,
        user: i64,
    ) -> std::result::Result<Answer, Failure>;
}

/// Hands one event to a CRM: the last answer, or why not. `f.link` holds how far it got
/// whatever the outcome (the caller records it), so a retry carries on where this stopped.
pub(crate) async fn handle<C: Crm>(
    c: &C,
    dl: &Downloader,
    f: &mut Facts,
) -> std::result::Result<Option<Answer>, Failure> {
    let mut last = None;
    if f.link.entity_id.is_none() {
        last = Some(c.create(dl, f).await?);
        if C::FIRST_WITH_LEAD {
            f.link.first_message_id = f.first_message.as_ref().map(|(id, _)| *id);
        }
    }
    if f.link.first_message_id.is_none()
        && let Some((mid, _)) = f.first_message.clone()
    {
        last = Some(c.write(dl, f, f.description()).await?);
        f.link.first_message_id = Some(mid);
    }
    match f.event {
        WebhookEvent::MessageIncoming | WebhookEvent::MessageOutgoing if C::EVERY_MESSAGE => {
            if let Some(line) = f.message_to_add().cloned() {
                last = Some(
                    c.write(dl, f, format!("{}: {}", line.who, line.text))
                        .await?,
                );
            }
        }
        WebhookEvent::Assigned if f.assignee_email.is_some() => {
            if let Some(uid) = c.responsible(dl, f).await? {
                last = Some(c.set_responsible(dl, f, uid).await?);
            }
        }
        WebhookEvent::StatusChanged if f.closes() => {
            last = Some(c.write(dl, f, f.transcript_text()).await?);
            f.link.transcript_until = f.transcript_end();
        }
        _ => {}
    }
    Ok(last)
}

/// A CRM's request limit as a leaky bucket: `burst` calls at once, then `per_sec` (Bitrix24
/// allows 2 a second after a burst of 50 per portal; amoCRM 7 a second per account). Calls
/// beyond it wait here instead of being refused and retried half a minute later.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub per_sec: f64,
    pub burst: f64,
}

/// How full a bucket is and when that was measured.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    level: f64,
    at: std::time::Instant,
}

impl Bucket {
    /// Takes one call at `now`: how long it must wait first.
    fn take(&mut self, limit: Limit, now: std::time::Instant) -> std::time::Duration {
        let drained = now.saturating_duration_since(self.at).as_secs_f64() * limit.per_sec;
        self.level = (self.level - drained).max(0.0);
        self.at = now;
        let over = self.level + 1.0 - limit.burst;
        self.level += 1.0;
        if over > 0.0 {
            std::time::Duration::from_secs_f64(over / limit.per_sec)
        } else {
            std::time::Duration::ZERO
        }
    }
}

static BUCKETS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Bucket>>> =
    std::sync::LazyLock::new(Default::default);

/// Waits until a call to the CRM at `key` (its portal or account) is within its limit.
pub async fn pace(key: &str, limit: Limit) {
    let wait = {
        let mut all = BUCKETS.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        all.entry(key.to_string())
            .or_insert(Bucket {
                level: 0.0,
                at: now,
            })
            .take(limit, now)
    };
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

/// Why a call to a CRM did not do what it was for: the HTTP status, the start of the answer,
/// and what to tell the admin.
#[derive(Debug)]
pub struct Failure {
    pub status: Option<i32>,
    pub response: Option<String>,
    pub error: String,
}

impl Failure {
    pub fn new(error: impl Into<String>) -> Failure {
        Failure {
            status: None,
            response: None,
            error: error.into(),
        }
    }
}

impl From<Failure> for Outcome {
    fn from(f: Failure) -> Outcome {
        Outcome {
            ok: false,
            status: f.status,
            response: f.response,
            error: Some(f.error),
        }
    }
}

/// A CRM's answer: its HTTP status, the body as JSON (Null when empty, as amoCRM's 204) and an
/// excerpt for the log.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub excerpt: String,
}

/// The outcome of a CRM's handling of one event.
pub fn outcome(r: std::result::Result<Option<Answer>, Failure>) -> Outcome {
    match r {
        Ok(Some(a)) => a.outcome(),
        Ok(None) => Outcome::nothing_to_do(),
        Err(e) => e.into(),
    }
}

impl Answer {
    fn outcome(&self) -> Outcome {
        Outcome {
            ok: true,
            status: Some(i32::from(self.status)),
            response: Some(self.excerpt.clone()),
            error: None,
        }
    }
}

/// Sends a request built on the guarded client and reads the answer (at most 1 MB). A
/// transport error or an answer that is not JSON is a failure; the caller judges the status.
pub async fn send(req: reqwest::RequestBuilder) -> std::result::Result<Answer, Failure> {
    let resp = req
        .timeout(std::time::Duration::from_secs(20))
        .send()
        .await
        .map_err(|e| Failure::new(Downloader::failure(&e).message))?;
    let status = resp.status().as_u16();
    let bytes = crate::channels::download::read_answer(resp, ANSWER_BYTES)
        .await
        .map_err(|e| Failure {
            status: Some(i32::from(status)),
            response: None,
            error: e.message,
        })?;
    let text = String::from_utf8_lossy(&bytes);
    let excerpt = crate::domain::text::truncate_chars(text.trim(), EXCERPT_CHARS).to_string();
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) => {
                return Err(Failure {
                    status: Some(i32::from(status)),
                    response: Some(excerpt),
                    error: format!("HTTP {status}: the answer is not JSON"),
                });
            }
        }
    };
    Ok(Answer {
        status,
        body,
        excerpt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_phones_are_written_with_plus_seven() {
        for raw in [
            "8 (912) 345-67-89",
            "+7 912 345 67 89",
            "79123456789",
            "9123456789",
            "8-912-345-67-89",
        ] {
            assert_eq!(
                normalize_phone(raw).as_deref(),
                Some("+79123456789"),
                "{raw}"
            );
        }
        assert_eq!(
            normalize_phone("+375 29 123-45-67").as_deref(),
            Some("+375291234567")
        );
        assert_eq!(normalize_phone("12345"), None);
        assert_eq!(normalize_phone("звоните вечером"), None);
    }

    fn facts() -> Facts {
        Facts {
            event: WebhookEvent::ConversationCreated,
            conversation_id: ConversationId(1),
            contact_id: ContactId(1),
            number: 42,
            channel: "Telegram".into(),
            name: String::new(),
            phone: Some("+79123456789".into()),
            email: None,
            assignee_email: None,
            first_message: Some((5, "Сколько стоит?".into())),
            message: None,
            status_to: None,
            transcript: Vec::new(),
            link: Progress::default(),
            console_url: None,
        }
    }

    #[test]
    fn a_burst_goes_at_once_and_then_calls_keep_to_the_rate() {
        let limit = Limit {
            per_sec: 2.0,
            burst: 50.0,
        };
        let t0 = std::time::Instant::now();
        let mut b = Bucket { level: 0.0, at: t0 };
        let waits: Vec<f64> = (0..52).map(|_| b.take(limit, t0).as_secs_f64()).collect();
        assert!(waits[..50].iter().all(|w| *w == 0.0), "{waits:?}");
        assert!((waits[50] - 0.5).abs() < 1e-9 && (waits[51] - 1.0).abs() < 1e-9);
        // Ten quiet seconds drain twenty calls.
        let later = t0 + std::time::Duration::from_secs(10);
        let w = b.take(limit, later).as_secs_f64();
        assert!(w == 0.0, "{w}");
    }

    #[test]
    fn titles_fill_the_template_with_fallbacks() {
        let mut f = facts();
        assert_eq!(f.title(DEFAULT_TITLE), "Клиент — Telegram");
        f.name = "Анна".into();
        assert_eq!(f.title(DEFAULT_TITLE), "Анна — Telegram");
        assert_eq!(
            f.title("{number} {phone} {email|без почты} {unknown}"),
            "#42 +79123456789 без почты {unknown}"
        );
        assert_eq!(f.title("{email}"), "#42");
        assert_eq!(f.title("Заявка {name"), "Заявка {name");
    }

    #[test]
    fn a_long_transcript_keeps_its_newest_lines() {
        let mut f = facts();
        f.event = WebhookEvent::StatusChanged;
        f.status_to = Some("closed".into());
        assert!(f.closes());
        f.transcript = (1..=2000)
            .map(|i| Line {
                id: i,
                at: "01.12.2026 10:00".into(),
                who: "Клиент".into(),
                text: format!("сообщение {i}"),
            })
            .collect();
        let t = f.transcript_text();
        assert!(t.chars().count() <= TRANSCRIPT_CHARS + 200);
        assert!(t.contains("сообщение 2000"));
        assert!(!t.contains("сообщение 1\n"));
        assert_eq!(f.transcript_end(), Some(2000));
    }
}
