//! What an operator does to a conversation: reply (with files), change its fields, mark it
//! read, open a new request for the customer, send a WhatsApp template.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use chrono::{NaiveDateTime, TimeZone};
use futures_util::StreamExt;
use serde::Deserialize;

use super::back_to;
use crate::domain::{Priority, Status};
use crate::error::Error;
use crate::inbox::manage::Changes;
use crate::store::attachments::StoredFile;
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
    mut payload: Multipart,
) -> Result<HttpResponse, HtmlError> {
    super::may_change(&state, &console, *path).await?;
    // The token rides in the form's URL so it is checked before a byte of the body is read.
    console.check_csrf(&token.csrf)?;
    let id = path.into_inner();
    let mut text = String::new();
    let mut back = String::new();
    let mut private = false;
    let mut uploads: Vec<(String, Option<String>, Vec<u8>)> = Vec::new();
    let max = state.inbox.files.max_bytes as usize;
    // Everything together: the files, the text and the rest of the form.
    let mut total = 0usize;
    let budget = max * MAX_REPLY_FILES + 1024 * 1024;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| Error::invalid(format!("bad form: {e}")))?;
        let name = field.name().unwrap_or("").to_string();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename().map(str::to_string));
        let content_type = field.content_type().map(|m| m.to_string());
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| Error::invalid(format!("bad form: {e}")))?;
            total += chunk.len();
            if total > budget {
                return Err(Error::invalid("the form is too large").into());
            }
            if data.len() + chunk.len() > max + 1 {
                return Err(Error::invalid(format!(
                    "the file is larger than the limit of {} MB",
                    max / 1024 / 1024
                ))
                .into());
            }
            data.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "file" => {
                if let Some(f) = file_name.filter(|f| !f.is_empty())
                    && !data.is_empty()
                {
                    if uploads.len() == MAX_REPLY_FILES {
                        return Err(Error::invalid(format!(
                            "at most {MAX_REPLY_FILES} files in one message"
                        ))
                        .into());
                    }
                    uploads.push((f, content_type, data));
                }
            }
            "text" => text = String::from_utf8_lossy(&data).into_owned(),
            "back" => back = String::from_utf8_lossy(&data).into_owned(),
            "private" => private = !data.is_empty(),
            _ => {}
        }
    }
    let mut files: Vec<StoredFile> = Vec::new();
    for (name, ct, data) in uploads {
        match state.inbox.files.save(data, &name, ct.as_deref()).await {
            Ok(f) => files.push(f),
            Err(e) => {
                state.inbox.files.discard(&files).await;
                return Err(e.into());
            }
        }
    }
    state
        .inbox
        .reply(&console.operator(), id, text, files, private)
        .await?;
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
    if let Some(p) = form.priority.as_deref().filter(|s| !s.is_empty()) {
        ch.priority = Some(Priority::parse(p)?);
    }
    if let Some(d) = form.due.as_deref() {
        ch.due_at = Some(parse_local_due(d, &console.tz)?);
    }
    state.inbox.change(&console.operator(), id, ch).await?;
    Ok(back_to(id, &form.back))
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
