//! The operator console: inbox tabs, filters, search, a conversation with its thread and
//! actions, the contact sidebar. Server-rendered; static/console.js only refreshes parts of
//! the page on live events.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{NaiveDateTime, TimeZone};
use futures_util::StreamExt;
use serde::Deserialize;

use super::State;
use super::auth::{Console, CsrfForm};
use super::errors::HtmlError;
use super::view::{self, MessageView};
use crate::domain::conversation::{ALL_PRIORITIES, ALL_STATUSES};
use crate::domain::{Priority, Status};
use crate::error::Error;
use crate::i18n::Tr;
use crate::inbox::manage::Changes;
use crate::store::attachments::{self, FileState, StoredFile};
use crate::store::conversations::{self, Filter, Row, Tab};
use crate::store::{channels, contacts, messages, notifications, teams, users};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(page))
        .route("/console/partials/list", web::get().to(list_partial))
        .route(
            "/console/partials/thread/{id}",
            web::get().to(thread_partial),
        )
        .route("/console/c/{id}/reply", web::post().to(reply))
        .route("/console/c/{id}/update", web::post().to(update))
        .route("/console/c/{id}/read", web::post().to(mark_read))
        .route("/console/c/{id}/contact", web::post().to(edit_contact))
        .route("/console/c/{id}/new", web::post().to(new_request))
        .route("/console/c/{id}/template", web::post().to(send_template))
        .route("/console/presence", web::post().to(presence))
        .route("/console/project", web::post().to(switch_project))
        .route("/console/attachments/{id}", web::get().to(attachment))
        .route("/console/notifications", web::get().to(notifications_page))
        .route("/console/partials/bell", web::get().to(bell))
        .route("/console/live", web::get().to(super::live::console));
}

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    tab: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
    c: Option<i64>,
}

const PAGE_SIZE: i64 = 50;

impl ListQuery {
    fn filter(&self, project_id: i64, user_id: i64) -> Result<Filter, Error> {
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(Status::parse(s)?),
            None => None,
        };
        let channel_id = match self.channel.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(
                s.parse::<i64>()
                    .map_err(|_| Error::invalid("bad channel filter"))?,
            ),
            None => None,
        };
        let page = self.page.unwrap_or(1).max(1);
        Ok(Filter {
            project_id,
            tab: Tab::parse(self.tab.as_deref().unwrap_or("all")),
            user_id,
            channel_id,
            status,
            assignee: None,
            q: self.q.clone(),
            offset: (page - 1) * PAGE_SIZE,
            limit: PAGE_SIZE,
        })
    }

    /// The list part of the URL, to keep filters across links and form posts.
    fn qs(&self) -> String {
        let mut parts = Vec::new();
        let mut add = |k: &str, v: &Option<String>| {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        };
        add("tab", &self.tab);
        add("channel", &self.channel);
        add("status", &self.status);
        add("q", &self.q);
        parts.join("&")
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub struct RowView {
    pub id: i64,
    pub number: i64,
    pub subject: String,
    pub contact_name: String,
    pub channel_name: String,
    pub status: String,
    pub status_label: String,
    pub assignee: String,
    pub preview: String,
    pub unread: bool,
    pub time: String,
    pub priority: String,
}

fn row_view(r: Row, tr: &Tr, tz: &str) -> RowView {
    RowView {
        id: r.conversation.id,
        number: r.conversation.number,
        subject: r.conversation.subject.clone(),
        contact_name: r.contact_name,
        channel_name: r.channel_name,
        status_label: tr.status(r.conversation.status).to_string(),
        status: r.conversation.status.to_string(),
        assignee: r.assignee_name.unwrap_or_default(),
        preview: r.preview,
        unread: r.conversation.unread,
        time: view::local(r.conversation.last_message_at, tz),
        priority: r.conversation.priority.to_string(),
    }
}

pub struct ConvView {
    pub id: i64,
    pub number: i64,
    pub subject: String,
    pub status: String,
    pub status_label: String,
    pub priority: String,
    pub assignee_id: i64,
    pub team_id: i64,
    pub due_local: String,
    pub channel_name: String,
    pub channel_kind: String,
    pub created: String,
    pub messages: Vec<MessageView>,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub contact_vip: bool,
    pub organization: String,
    pub organization_vip: bool,
    pub manager: String,
    pub manager_id: i64,
    pub others: Vec<(i64, i64, String, String)>,
    pub is_final: bool,
    pub rating: String,
}

#[derive(Template)]
#[template(path = "console/inbox.html")]
struct InboxPage {
    tr: Tr,
    csrf: String,
    me_name: String,
    me_online: bool,
    can_settings: bool,
    project_name: String,
    project_id: i64,
    projects: Vec<(i64, String)>,
    tab: String,
    counts: [i64; 4],
    channels: Vec<(i64, String)>,
    statuses: Vec<(String, String)>,
    priorities: Vec<String>,
    members: Vec<(i64, String)>,
    teams: Vec<(i64, String)>,
    f_channel: String,
    f_status: String,
    f_q: String,
    qs: String,
    rows: Vec<RowView>,
    selected: Option<ConvView>,
    selected_id: i64,
    page: i64,
    has_more: bool,
    unseen: i64,
}

#[derive(Template)]
#[template(path = "console/list.html")]
struct ListPartial {
    tr: Tr,
    qs: String,
    rows: Vec<RowView>,
    selected_id: i64,
    counts: [i64; 4],
}

#[derive(Template)]
#[template(path = "console/thread.html")]
struct ThreadPartial {
    tr: Tr,
    c: ConvView,
}

fn html(body: String) -> HttpResponse {
    super::page(actix_web::http::StatusCode::OK)
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

struct Loaded {
    rows: Vec<Row>,
    counts: [i64; 4],
    total: i64,
    channels: Vec<(i64, String)>,
    members: Vec<(i64, String)>,
    teams: Vec<(i64, String)>,
    selected: Option<ConvView>,
    unseen: i64,
}

fn load_conv(
    conn: &mut crate::store::DbConn,
    project_id: i64,
    id: i64,
    tr: Tr,
    tz: &str,
) -> Result<ConvView, Error> {
    let c = conversations::by_id(conn, project_id, id)?;
    let contact = contacts::by_id(conn, project_id, c.contact_id)?;
    let org = contacts::organization(conn, &contact)?;
    let rows = messages::thread(conn, c.id, 0, false, 2000)?;
    let msgs = view::messages(conn, rows, tr.lang, tz)?;
    let channel = channels::by_id(conn, c.channel_id)?;
    let others = conversations::of_contact(conn, project_id, contact.id)?
        .into_iter()
        .filter(|o| o.id != c.id)
        .map(|o| (o.id, o.number, o.subject, tr.status(o.status).to_string()))
        .collect();
    let due_local = match (c.due_at, tz.parse::<chrono_tz::Tz>()) {
        (Some(d), Ok(z)) => z.from_utc_datetime(&d).format("%Y-%m-%dT%H:%M").to_string(),
        _ => String::new(),
    };
    let status = c.status;
    Ok(ConvView {
        id: c.id,
        number: c.number,
        subject: c.subject,
        status_label: tr.status(c.status).to_string(),
        status: c.status.to_string(),
        priority: c.priority.to_string(),
        assignee_id: c.assignee_id.unwrap_or(0),
        team_id: c.team_id.unwrap_or(0),
        due_local,
        channel_kind: channel.kind.to_string(),
        channel_name: channel.name,
        created: view::local(c.created_at, tz),
        messages: msgs,
        contact_name: contact.name,
        contact_phone: contact.phone.unwrap_or_default(),
        contact_email: contact.email.unwrap_or_default(),
        contact_vip: contact.vip,
        organization: org.as_ref().map(|o| o.name.clone()).unwrap_or_default(),
        organization_vip: org.as_ref().is_some_and(|o| o.vip),
        manager_id: org.as_ref().and_then(|o| o.manager_id).unwrap_or(0),
        manager: org.and_then(|o| o.manager_name).unwrap_or_default(),
        others,
        is_final: status.is_final(),
        rating: c
            .rating
            .map(|r| "★".repeat(r.clamp(0, 5) as usize))
            .unwrap_or_default(),
    })
}

async fn load(
    state: &State,
    console: &Console,
    q: &ListQuery,
    with_selected: bool,
) -> Result<Loaded, HtmlError> {
    let filter = q.filter(console.project.id, console.user.id)?;
    let project_id = console.project.id;
    let user_id = console.user.id;
    let selected = if with_selected { q.c } else { None };
    let tr = console.tr;
    let tz = console.project.timezone.clone();
    let loaded = state
        .inbox
        .store
        .read(move |conn| {
            let rows = conversations::list(conn, &filter)?;
            let total = conversations::count(conn, &filter)?;
            let mut counts = [0i64; 4];
            for (i, tab) in [Tab::Mine, Tab::Unassigned, Tab::All, Tab::Closed]
                .into_iter()
                .enumerate()
            {
                let f = Filter {
                    tab,
                    channel_id: None,
                    status: None,
                    q: None,
                    ..filter.clone()
                };
                counts[i] = conversations::count(conn, &f)?;
            }
            let channels = channels::of_project(conn, project_id)?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect();
            let members = users::members(conn, project_id)?
                .into_iter()
                .map(|u| (u.id, u.name))
                .collect();
            let teams = teams::of_project(conn, project_id)?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect();
            let selected = match selected {
                Some(id) => Some(load_conv(conn, project_id, id, tr, &tz)?),
                None => None,
            };
            Ok(Loaded {
                rows,
                counts,
                total,
                channels,
                members,
                teams,
                selected,
                unseen: notifications::unseen(conn, project_id, user_id)?,
            })
        })
        .await?;
    Ok(loaded)
}

async fn page(
    state: web::Data<State>,
    console: Console,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, HtmlError> {
    let q = q.into_inner();
    // Reading a page changes nothing (a link from another site must not mark a conversation
    // read or tell a visitor someone is reading); the page posts /read once it is shown.
    let loaded = load(&state, &console, &q, true).await?;
    let tr = console.tr;
    let tz = console.project.timezone.clone();
    let page_no = q.page.unwrap_or(1).max(1);
    let page = InboxPage {
        tr,
        csrf: console.csrf.clone(),
        me_name: console.user.name.clone(),
        me_online: console.user.online,
        can_settings: matches!(
            console.role,
            crate::domain::Role::Admin | crate::domain::Role::Settings
        ),
        project_name: console.project.name.clone(),
        project_id: console.project.id,
        projects: console
            .projects
            .iter()
            .map(|(p, _)| (p.id, p.name.clone()))
            .collect(),
        tab: Tab::parse(q.tab.as_deref().unwrap_or("all"))
            .as_str()
            .to_string(),
        counts: loaded.counts,
        channels: loaded.channels,
        statuses: ALL_STATUSES
            .iter()
            .map(|s| (s.as_str().to_string(), tr.status(*s).to_string()))
            .collect(),
        priorities: ALL_PRIORITIES
            .iter()
            .map(|p| p.as_str().to_string())
            .collect(),
        members: loaded.members,
        teams: loaded.teams,
        f_channel: q.channel.clone().unwrap_or_default(),
        f_status: q.status.clone().unwrap_or_default(),
        f_q: q.q.clone().unwrap_or_default(),
        qs: q.qs(),
        has_more: loaded.total > page_no * PAGE_SIZE,
        page: page_no,
        rows: loaded
            .rows
            .into_iter()
            .map(|r| row_view(r, &tr, &tz))
            .collect(),
        selected_id: loaded.selected.as_ref().map(|c| c.id).unwrap_or(0),
        selected: loaded.selected,
        unseen: loaded.unseen,
    };
    Ok(html(page.render()?))
}

async fn list_partial(
    state: web::Data<State>,
    console: Console,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, HtmlError> {
    let q = q.into_inner();
    let loaded = load(&state, &console, &q, false).await?;
    let tz = console.project.timezone.clone();
    let tr = console.tr;
    let p = ListPartial {
        tr,
        qs: q.qs(),
        selected_id: q.c.unwrap_or(0),
        counts: loaded.counts,
        rows: loaded
            .rows
            .into_iter()
            .map(|r| row_view(r, &tr, &tz))
            .collect(),
    };
    Ok(html(p.render()?))
}

async fn thread_partial(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
) -> Result<HttpResponse, HtmlError> {
    let id = path.into_inner();
    let (project_id, tr, tz) = (
        console.project.id,
        console.tr,
        console.project.timezone.clone(),
    );
    let c = state
        .inbox
        .store
        .read(move |conn| load_conv(conn, project_id, id, tr, &tz))
        .await?;
    Ok(html(ThreadPartial { tr, c }.render()?))
}

fn back_to(id: i64, back: &str) -> HttpResponse {
    // Only our own query string: never an open redirect.
    let qs: String = back
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "=&%-_.~+".contains(*c))
        .collect();
    let loc = if qs.is_empty() {
        format!("/console?c={id}")
    } else {
        format!("/console?{qs}&c={id}")
    };
    HttpResponse::SeeOther()
        .insert_header(("Location", loc))
        .finish()
}

/// Files one reply may carry.
const MAX_REPLY_FILES: usize = 10;

async fn reply(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    token: web::Query<CsrfForm>,
    mut payload: Multipart,
) -> Result<HttpResponse, HtmlError> {
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

async fn update(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: web::Form<UpdateForm>,
) -> Result<HttpResponse, HtmlError> {
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
        ch.due_at = Some(parse_local_due(d, &console.project.timezone)?);
    }
    state.inbox.change(&console.operator(), id, ch).await?;
    Ok(back_to(id, &form.back))
}

async fn mark_read(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(&form.csrf)?;
    state
        .inbox
        .mark_read(console.project.id, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub struct PresenceForm {
    #[serde(default)]
    csrf: String,
    online: String,
}

async fn presence(
    state: web::Data<State>,
    console: Console,
    form: web::Form<PresenceForm>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(&form.csrf)?;
    let online = form.online == "1";
    let uid = console.user.id;
    state
        .inbox
        .store
        .write(move |c| users::set_online(c, uid, online))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/console"))
        .finish())
}

#[derive(Deserialize)]
pub struct ProjectForm {
    #[serde(default)]
    csrf: String,
    project_id: i64,
}

async fn switch_project(
    state: web::Data<State>,
    console: Console,
    form: web::Form<ProjectForm>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(&form.csrf)?;
    if !console
        .projects
        .iter()
        .any(|(p, _)| p.id == form.project_id)
    {
        return Err(Error::forbidden("you are not a member of that project").into());
    }
    let (sid, pid) = (console.session_id, form.project_id);
    state
        .inbox
        .store
        .write(move |c| users::set_session_project(c, sid, pid))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/console"))
        .finish())
}

async fn attachment(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
) -> Result<HttpResponse, HtmlError> {
    let (pid, id) = (console.project.id, path.into_inner());
    let a = state
        .inbox
        .store
        .read(move |c| attachments::by_id(c, pid, id))
        .await?;
    Ok(serve_file(&state, &a).await?)
}

/// Sends a stored attachment. Only known-safe types are shown inline; everything else is a
/// download, so an uploaded HTML file can never run in our origin.
pub async fn serve_file(state: &State, a: &attachments::Attachment) -> Result<HttpResponse, Error> {
    match a.state() {
        attachments::FileState::Ready => {}
        attachments::FileState::Pending => {
            return Err(Error::not_found(
                "the file is still being fetched from the platform",
            ));
        }
        attachments::FileState::Failed => {
            return Err(Error::not_found(format!(
                "the file could not be fetched from the platform: {}",
                a.error.as_deref().unwrap_or("unknown reason")
            )));
        }
    }
    let path = state.inbox.files.path(&a.storage_key)?;
    let bytes = tokio::fs::read(&path).await?;
    let inline = crate::files::INLINE_TYPES.contains(&a.content_type.as_str());
    let disposition = format!(
        "{}; filename=\"{}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        a.file_name
            .replace(|c: char| !c.is_ascii() || c == '"' || c == '\\', "_"),
        urlencode(&a.file_name)
    );
    Ok(HttpResponse::Ok()
        .content_type(if inline {
            a.content_type.as_str()
        } else {
            "application/octet-stream"
        })
        .insert_header(("Content-Disposition", disposition))
        .insert_header(("Content-Security-Policy", "sandbox"))
        // Not kept by the browser: after sign-out a customer's file must not be readable from
        // the cache.
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes))
}

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    vip: Option<String>,
    #[serde(default)]
    organization: String,
    organization_vip: Option<String>,
    #[serde(default)]
    manager: String,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Validates the contact form; every message names the field.
fn contact_edit(f: &ContactForm) -> Result<contacts::ContactEdit, Error> {
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name must be 1-100 characters"));
    }
    let email = match opt(&f.email) {
        Some(e) => Some(users::normalize_email(&e)?),
        None => None,
    };
    let phone = opt(&f.phone);
    if let Some(p) = &phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if !(5..=15).contains(&digits)
            || !p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
        {
            return Err(Error::invalid(format!(
                "phone \"{p}\" must be 5-15 digits, optionally with + - ( ) and spaces"
            )));
        }
    }
    let organization = opt(&f.organization);
    if organization
        .as_ref()
        .is_some_and(|o| o.chars().count() > 200)
    {
        return Err(Error::invalid(
            "organization must be at most 200 characters",
        ));
    }
    let manager_id = match f.manager.trim() {
        "" | "0" => None,
        m => Some(
            m.parse::<i64>()
                .map_err(|_| Error::invalid("bad manager"))?,
        ),
    };
    Ok(contacts::ContactEdit {
        name: name.to_string(),
        phone,
        email,
        vip: f.vip.is_some(),
        organization,
        organization_vip: f.organization_vip.is_some(),
        manager_id,
    })
}

async fn edit_contact(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: web::Form<ContactForm>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(&form.csrf)?;
    let edit = contact_edit(&form)?;
    let (pid, conv_id) = (console.project.id, path.into_inner());
    state
        .inbox
        .store
        .write(move |c| {
            let conv = conversations::by_id(c, pid, conv_id)?;
            if let Some(m) = edit.manager_id
                && users::role_in(c, pid, m)?.is_none()
            {
                return Err(Error::invalid(
                    "the manager must be a member of this project",
                ));
            }
            contacts::update(c, pid, conv.contact_id, &edit)
        })
        .await?;
    Ok(back_to(conv_id, &form.back))
}

#[derive(Template)]
#[template(path = "console/notifications.html")]
struct NotificationsPage {
    tr: Tr,
    items: Vec<(Option<i64>, String, String, bool)>,
}

/// The operator's notifications, newest first; opening the page marks them seen.
async fn notifications_page(
    state: web::Data<State>,
    console: Console,
) -> Result<HttpResponse, HtmlError> {
    let (pid, uid, tr, tz) = (
        console.project.id,
        console.user.id,
        console.tr,
        console.project.timezone.clone(),
    );
    let items = state
        .inbox
        .store
        .write(move |c| {
            let list = notifications::latest(c, pid, uid, 200)?;
            notifications::mark_seen(c, pid, uid)?;
            Ok(list
                .into_iter()
                .map(|n| {
                    (
                        n.conversation_id,
                        crate::i18n::events::stored_notice(&n.text, tr.lang),
                        view::local(n.created_at, &tz),
                        !n.seen,
                    )
                })
                .collect())
        })
        .await?;
    Ok(html(NotificationsPage { tr, items }.render()?))
}

/// The unseen count, for the bell's live refresh.
async fn bell(state: web::Data<State>, console: Console) -> Result<HttpResponse, HtmlError> {
    let (pid, uid) = (console.project.id, console.user.id);
    let n = state
        .inbox
        .store
        .read(move |c| notifications::unseen(c, pid, uid))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(n.to_string()))
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
async fn new_request(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: web::Form<NewRequestForm>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(&form.csrf)?;
    let form = form.into_inner();
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

async fn send_template(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: web::Form<TemplateForm>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(&form.csrf)?;
    let id = path.into_inner();
    let form = form.into_inner();
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
