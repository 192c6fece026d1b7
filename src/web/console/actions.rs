//! What an operator does to a conversation: reply (with files), change its fields, mark it
//! read, open a new request for the customer, send a WhatsApp template.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use chrono::{NaiveDateTime, TimeZone};
use serde::Deserialize;

use super::back_to;
use crate::domain::{Priority, Status};
use crate::error::Error;
use crate::inbox::manage::Changes;
use crate::store::conversations::{self};
use crate::web::State;
use crate::web::auth::{Console, CsrfForm};
use crate::web::errors::HtmlError;

/// Files one reply may carry.
const MAX_REPLY_FILES: usize = 10;

pub(super) async fn reply(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
    token: web::Query<CsrfForm>,
    payload: Multipart,
) -> Result<HttpResponse, HtmlError> {
    super::may_change(&state, &console, *path).await?;
    // The token rides in the form's URL so it is checked before a byte of the body is read.
    console.check_csrf(&token.csrf)?;
    let id = path.into_inner();
    let mut form = super::upload::FileForm::read(&state, payload, "file", MAX_REPLY_FILES).await?;
    let files = form.save_files(&state).await?;
    let text = form.field("text").to_string();
    let private = !form.field("private").is_empty();
    // Chosen from the `/` list: its files go with it and its use is counted.
    let canned = form.field("canned").trim().parse::<i64>().ok();
    match canned {
        Some(c) => {
            state
                .inbox
                .reply_canned(
                    &console.operator(),
                    id,
                    crate::inbox::canned::Pick::Id(c),
                    Some(text),
                    files,
                    private,
                )
                .await?
        }
        None => {
            state
                .inbox
                .reply(&console.operator(), id, text, files, private)
                .await?
        }
    };
    let back = form.field("back").to_string();
    Ok(back_to(id, &back))
}

#[derive(Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    status: Option<String>,
    assignee: Option<String>,
    team: Option<String>,
    priority: Option<String>,
    due: Option<String>,
    transfer: Option<String>,
    note: Option<String>,
}

/// `datetime-local` in the project's zone → UTC.
fn parse_local_due(s: &str, tz: &str) -> Result<Option<NaiveDateTime>, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").map_err(|_| {
        Error::invalid(format!("\"{s}\" is not a date and time (YYYY-MM-DDTHH:MM)"))
    })?;
    let zone: chrono_tz::Tz = tz
        .parse()
        .map_err(|_| Error::invalid("the project's time zone is invalid"))?;
    let local = zone
        .from_local_datetime(&naive)
        .earliest()
        .ok_or_else(|| Error::invalid(format!("{s} does not exist in {tz}")))?;
    Ok(Some(local.naive_utc()))
}

pub(super) async fn update(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
    form: crate::web::body::Form<UpdateForm>,
) -> Result<HttpResponse, HtmlError> {
    super::may_change(&state, &console, *path).await?;
    let form = form.parse()?;
    console.check_csrf(&form.csrf)?;
    let id = path.into_inner();
    let mut ch = Changes::default();
    if let Some(s) = form.status.as_deref().filter(|s| !s.is_empty()) {
        let current = {
            let pid = console.project.id;
            state
                .inbox
                .store
                .read(move |c| conversations::by_id(c, pid, id))
                .await?
        };
        let s = Status::parse(s)?;
        if current.status != s {
            ch.status = Some(s);
        }
    }
    if let Some(a) = form.assignee.as_deref() {
        ch.assignee = Some(match a.trim() {
            "" | "0" => None,
            v => Some(
                v.parse::<i64>()
                    .map_err(|_| Error::invalid("bad assignee"))?,
            ),
        });
    }
    if let Some(t) = form.team.as_deref() {
        ch.team = Some(match t.trim() {
            "" | "0" => None,
            v => Some(v.parse::<i64>().map_err(|_| Error::invalid("bad team"))?),
        });
    }
    // The transfer form: "m:ID" a member, "t:ID" a team's queue; the note goes with it.
    if let Some(to) = form
        .transfer
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let bad = || Error::invalid("choose whom to transfer the conversation to");
        let (kind, n) = to.split_once(':').ok_or_else(bad)?;
        let n: i64 = n.parse().map_err(|_| bad())?;
        match kind {
            "m" => ch.assignee = Some(Some(n)),
            "t" => {
                ch.team = Some(Some(n));
                ch.assignee = Some(None);
            }
            _ => return Err(bad().into()),
        }
        ch.note = form.note.clone();
    }
    if let Some(p) = form.priority.as_deref().filter(|s| !s.is_empty()) {
        ch.priority = Some(Priority::parse(p)?);
    }
    if let Some(d) = form.due.as_deref() {
        ch.due_at = Some(parse_local_due(d, &console.tz)?);
    }
    state.inbox.change(&console.operator(), id, ch).await?;
    Ok(back_to(id, &form.back))
}

/// The operator is typing an answer: the customer sees it (the widget, Telegram, VK).
pub(super) async fn typing(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
    form: crate::web::body::Form<CsrfForm>,
) -> Result<HttpResponse, HtmlError> {
    super::may_change(&state, &console, *path).await?;
    let form = form.parse()?;
    console.check_csrf(&form.csrf)?;
    state
        .inbox
        .typing(console.project.id, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub(super) async fn mark_read(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
    form: crate::web::body::Form<CsrfForm>,
) -> Result<HttpResponse, HtmlError> {
    super::may_change(&state, &console, *path).await?;
    let form = form.parse()?;
    console.check_csrf(&form.csrf)?;
    state
        .inbox
        .mark_read(console.project.id, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub struct NewRequestForm {
    #[serde(default)]
    csrf: String,
    subject: String,
    #[serde(default)]
    text: String,
}

/// An operator opens a new request for this conversation's customer.
pub(super) async fn new_request(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
    form: crate::web::body::Form<NewRequestForm>,
) -> Result<HttpResponse, HtmlError> {
    super::may_change(&state, &console, *path).await?;
    let form = form.parse()?;
    console.check_csrf(&form.csrf)?;
    let id = state
        .inbox
        .open_for_customer(
            &console.operator(),
            path.into_inner(),
            form.subject,
            form.text,
        )
        .await?;
    Ok(back_to(id, ""))
}

#[derive(Deserialize)]
pub struct TemplateForm {
    #[serde(default)]
    csrf: String,
    name: String,
    language: String,
    /// One parameter per line.
    #[serde(default)]
    parameters: String,
}

pub(super) async fn send_template(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
    form: crate::web::body::Form<TemplateForm>,
) -> Result<HttpResponse, HtmlError> {
    super::may_change(&state, &console, *path).await?;
    let form = form.parse()?;
    console.check_csrf(&form.csrf)?;
    let id = path.into_inner();
    let template = crate::channels::Template {
        name: form.name.trim().to_string(),
        language: form.language.trim().to_string(),
        parameters: form
            .parameters
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    };
    state
        .inbox
        .send_template(&console.operator(), id, template)
        .await?;
    Ok(back_to(id, ""))
}

#[derive(Deserialize)]
pub struct TagForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    /// A tag's name to put on, or
    add: Option<String>,
    /// one to take off.
    remove: Option<String>,
}

/// Puts one tag on the conversation or takes one off (the sidebar's tag box).
pub(super) async fn tags(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
    form: web::Form<TagForm>,
) -> Result<HttpResponse, HtmlError> {
    super::may_change(&state, &console, *path).await?;
    console.check_csrf(&form.csrf)?;
    let id = path.into_inner();
    let now_on = state
        .inbox
        .store
        .read(move |c| crate::store::tags::of_conversations(c, &[id]))
        .await?
        .remove(&id)
        .unwrap_or_default();
    let key = |n: &str| crate::domain::tag::key(n.trim());
    let mut names: Vec<String> = now_on.into_iter().map(|t| t.name).collect();
    if let Some(off) = form.remove.as_deref() {
        names.retain(|n| key(n) != key(off));
    }
    if let Some(on) = form.add.as_deref().filter(|a| !a.trim().is_empty())
        && !names.iter().any(|n| key(n) == key(on))
    {
        names.push(on.trim().to_string());
    }
    let ch = Changes {
        tags: Some(names),
        ..Changes::default()
    };
    state.inbox.change(&console.operator(), id, ch).await?;
    Ok(back_to(id, &form.back))
}
