//! The inbox page: tabs, filters, search, the list and the open conversation.

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::TimeZone;
use serde::Deserialize;

use super::html;
use crate::domain::conversation::{ALL_PRIORITIES, ALL_STATUSES};
use crate::domain::{Can, Status};
use crate::error::Error;
use crate::i18n::Tr;
use crate::store::attachments::FileState;
use crate::store::conversations::{self, Filter, Row, Tab};
use crate::store::{channels, contacts, members, messages, notifications, teams};
use crate::web::State;
use crate::web::auth::Console;
use crate::web::errors::HtmlError;
use crate::web::view::{self, MessageView};

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
    /// A tag's id.
    #[serde(default)]
    tag: Option<String>,
    /// Where the page starts (the previous page's last row).
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    c: Option<i64>,
}

const PAGE_SIZE: i64 = 50;
/// Counters stop here and show "999+": counting further would read the whole index.
const COUNT_CAP: i64 = 1000;

/// A tab counter as shown: exact below the cap.
fn counter_label(n: i64) -> String {
    if n >= COUNT_CAP {
        format!("{}+", COUNT_CAP - 1)
    } else {
        n.to_string()
    }
}

impl ListQuery {
    fn filter(&self, project_id: crate::domain::ProjectId, user_id: i64) -> Result<Filter, Error> {
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
        let tag = match self.tag.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(
                s.parse::<i64>()
                    .map_err(|_| Error::invalid("bad tag filter"))?,
            ),
            None => None,
        };
        let after = match self.cursor.as_deref().filter(|s| !s.is_empty()) {
            Some(c) => Some(conversations::Cursor::parse(c)?),
            None => None,
        };
        Ok(Filter {
            project_id,
            tab: Tab::parse(self.tab.as_deref().unwrap_or("all")),
            user_id,
            channel_id: channel_id.map(crate::domain::ChannelId),
            status,
            assignee: None,
            q: self.q.clone(),
            tag,
            after,
            offset: 0,
            limit: PAGE_SIZE,
        })
    }

    /// The list part of the URL, to keep filters across links and form posts.
    fn qs(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("tab", &self.tab),
            ("channel", &self.channel),
            ("status", &self.status),
            ("q", &self.q),
            ("tag", &self.tag),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (k, v)))
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
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
    /// (name, colour)
    pub tags: Vec<(String, &'static str)>,
}

fn row_view(r: Row, tr: &Tr, tz: &str) -> RowView {
    RowView {
        tags: r
            .tags
            .iter()
            .map(|t| (t.name.clone(), t.colour.as_str()))
            .collect(),
        id: r.conversation.id.0,
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
    pub contact_id: i64,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub contact_vip: bool,
    /// Why the contact is on the blacklist; empty when they are not.
    pub blacklist_reason: String,
    pub organization: String,
    pub organization_vip: bool,
    pub manager: String,
    pub manager_id: i64,
    pub others: Vec<(i64, i64, String, String)>,
    /// Leads and deals the project's CRMs made of it: (what, address).
    pub crm: Vec<(String, String)>,
    pub is_final: bool,
    pub rating: String,
    /// (name, colour) of its tags.
    pub tags: Vec<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "console/inbox.html")]
struct InboxPage {
    tr: Tr,
    csrf: String,
    me_name: String,
    /// For "assign to me" (the `a` key).
    me_id: i64,
    me_online: bool,
    can_settings: bool,
    can_reports: bool,
    /// Analysts read conversations; the reply and change forms are not theirs.
    can_answer: bool,
    /// The server's owner may start another project from the switcher.
    owner: bool,
    /// Events that make a sound (the profile's choice).
    sounds: String,
    project_name: String,
    project_id: i64,
    projects: Vec<(i64, String)>,
    tab: String,
    counts: [i64; 5],
    count_labels: [String; 5],
    channels: Vec<(i64, String)>,
    statuses: Vec<(String, String)>,
    priorities: Vec<String>,
    members: Vec<(i64, String)>,
    teams: Vec<(i64, String)>,
    /// The project's tags: (id, name, colour).
    tags: Vec<(i64, String, &'static str)>,
    f_tag: String,
    f_channel: String,
    f_status: String,
    f_q: String,
    qs: String,
    rows: Vec<RowView>,
    selected: Option<ConvView>,
    selected_id: i64,
    /// The next page's cursor ("" on the last page).
    next_cursor: String,
    /// This page is not the first (offer a way back to the newest).
    deeper: bool,
    unseen: i64,
}

#[derive(Template)]
#[template(path = "console/list.html")]
struct ListPartial {
    tr: Tr,
    qs: String,
    rows: Vec<RowView>,
    selected_id: i64,
    counts: [i64; 5],
    count_labels: [String; 5],
    /// The rows' menu (blacklisting) is for those who answer.
    can_answer: bool,
    csrf: String,
}

#[derive(Template)]
#[template(path = "console/thread.html")]
struct ThreadPartial {
    tr: Tr,
    c: ConvView,
}

struct Loaded {
    rows: Vec<Row>,
    counts: [i64; 5],
    next: Option<conversations::Cursor>,
    channels: Vec<(i64, String)>,
    members: Vec<(i64, String)>,
    teams: Vec<(i64, String)>,
    tags: Vec<(i64, String, &'static str)>,
    selected: Option<ConvView>,
    unseen: i64,
}

fn load_conv(
    conn: &mut crate::store::DbConn,
    project_id: crate::domain::ProjectId,
    id: crate::domain::ConversationId,
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
        .map(|o| (o.id.0, o.number, o.subject, tr.status(o.status).to_string()))
        .collect();
    let crm = crm_links(conn, project_id, c.id, tr)?;
    let due_local = match (c.due_at, tz.parse::<chrono_tz::Tz>()) {
        (Some(d), Ok(z)) => z.from_utc_datetime(&d).format("%Y-%m-%dT%H:%M").to_string(),
        _ => String::new(),
    };
    let status = c.status;
    let tags = crate::store::tags::of_conversations(conn, &[c.id])?
        .remove(&c.id)
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.name, t.colour.as_str()))
        .collect();
    Ok(ConvView {
        tags,
        id: c.id.0,
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
        contact_id: contact.id.0,
        contact_name: contact.name,
        contact_phone: contact.phone.unwrap_or_default(),
        contact_email: contact.email.unwrap_or_default(),
        contact_vip: contact.vip,
        blacklist_reason: match contact.blacklisted_at {
            Some(_) => contact
                .blacklist_reason
                .clone()
                .unwrap_or_else(|| "—".into()),
            None => String::new(),
        },
        organization: org.as_ref().map(|o| o.name.clone()).unwrap_or_default(),
        organization_vip: org.as_ref().is_some_and(|o| o.vip),
        manager_id: org.as_ref().and_then(|o| o.manager_id).unwrap_or(0),
        manager: org.and_then(|o| o.manager_name).unwrap_or_default(),
        others,
        crm,
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
    let tz = console.tz.clone();
    let loaded = state
        .inbox
        .store
        .read(move |conn| {
            let page = conversations::page(conn, &filter, None)?;
            let mut counts = [0i64; 5];
            for (i, tab) in [
                Tab::Mine,
                Tab::Unassigned,
                Tab::All,
                Tab::Closed,
                Tab::Teams,
            ]
            .into_iter()
            .enumerate()
            {
                let f = Filter {
                    tab,
                    channel_id: None,
                    status: None,
                    q: None,
                    tag: None,
                    after: None,
                    ..filter.clone()
                };
                counts[i] = conversations::count(conn, &f, COUNT_CAP)?;
            }
            let channels = channels::of_project(conn, project_id)?
                .into_iter()
                .map(|c| (c.id.0, c.name))
                .collect();
            let members = members::members(conn, project_id)?
                .into_iter()
                .map(|u| (u.id, u.name))
                .collect();
            let teams = teams::of_project(conn, project_id)?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect();
            let tags = crate::store::tags::of_project(conn, project_id)?
                .into_iter()
                .map(|t| (t.id, t.name, t.colour.as_str()))
                .collect();
            let selected = match selected {
                Some(id) => Some(load_conv(
                    conn,
                    project_id,
                    crate::domain::ConversationId(id),
                    tr,
                    &tz,
                )?),
                None => None,
            };
            Ok(Loaded {
                rows: page.rows,
                counts,
                next: page.next,
                channels,
                members,
                teams,
                tags,
                selected,
                unseen: notifications::unseen(conn, project_id, user_id)?,
            })
        })
        .await?;
    Ok(loaded)
}

pub(super) async fn page(
    state: web::Data<State>,
    console: Console,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, HtmlError> {
    // The settings level works in the settings: its people land there, not on a 403.
    if !console.access.can(Can::ReadDialogs) && console.access.can(Can::Settings) {
        return Ok(HttpResponse::SeeOther()
            .insert_header(("Location", "/console/settings"))
            .finish());
    }
    console.require(Can::ReadDialogs)?;
    let q = q.into_inner();
    // Reading a page changes nothing (a link from another site must not mark a conversation
    // read or tell a visitor someone is reading); the page posts /read once it is shown.
    let loaded = load(&state, &console, &q, true).await?;
    let tr = console.tr;
    let tz = console.tz.clone();
    let page = InboxPage {
        tr,
        csrf: console.csrf.clone(),
        me_name: console.user.name.clone(),
        me_id: console.user.id,
        me_online: console.user.online,
        can_settings: console.access.can(Can::Settings),
        can_reports: console.access.can(Can::Reports),
        can_answer: console.access.can(Can::Answer),
        owner: console.user.owner,
        sounds: console.user.sounds.clone(),
        project_name: console.project.name.clone(),
        project_id: console.project.id.0,
        projects: console
            .projects
            .iter()
            .map(|(p, _)| (p.id.0, p.name.clone()))
            .collect(),
        tab: Tab::parse(q.tab.as_deref().unwrap_or("all"))
            .as_str()
            .to_string(),
        count_labels: loaded.counts.map(counter_label),
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
        f_tag: q.tag.clone().unwrap_or_default(),
        tags: loaded.tags,
        f_channel: q.channel.clone().unwrap_or_default(),
        f_status: q.status.clone().unwrap_or_default(),
        f_q: q.q.clone().unwrap_or_default(),
        qs: q.qs(),
        next_cursor: loaded.next.map(|c| c.encode()).unwrap_or_default(),
        deeper: q.cursor.as_deref().is_some_and(|c| !c.is_empty()),
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

pub(super) async fn list_partial(
    state: web::Data<State>,
    console: Console,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, HtmlError> {
    console.require(crate::domain::Can::ReadDialogs)?;
    let q = q.into_inner();
    let loaded = load(&state, &console, &q, false).await?;
    let tz = console.tz.clone();
    let tr = console.tr;
    let p = ListPartial {
        can_answer: console.access.can(Can::Answer),
        csrf: console.csrf.clone(),
        tr,
        qs: q.qs(),
        selected_id: q.c.unwrap_or(0),
        count_labels: loaded.counts.map(counter_label),
        counts: loaded.counts,
        rows: loaded
            .rows
            .into_iter()
            .map(|r| row_view(r, &tr, &tz))
            .collect(),
    };
    Ok(html(p.render()?))
}

/// The leads and deals the project's CRMs made of a conversation: (what, address).
fn crm_links(
    conn: &mut crate::store::DbConn,
    project_id: crate::domain::ProjectId,
    id: crate::domain::ConversationId,
    tr: Tr,
) -> Result<Vec<(String, String)>, Error> {
    Ok(
        crate::store::crm_links::of_conversation(conn, project_id, id)?
            .into_iter()
            .map(|l| {
                let what = tr.t(if l.entity == "deal" {
                    "crm_deal"
                } else {
                    "crm_lead"
                });
                (format!("{}: {what} #{}", l.integration, l.entity_id), l.url)
            })
            .collect(),
    )
}

#[derive(Template)]
#[template(path = "console/crm_links.html")]
struct CrmPartial {
    tr: Tr,
    crm: Vec<(String, String)>,
}

/// The sidebar's CRM links, refreshed when a CRM has made the lead.
pub(super) async fn crm_partial(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
) -> Result<HttpResponse, HtmlError> {
    console.require(crate::domain::Can::ReadDialogs)?;
    let id = path.into_inner();
    let (project_id, tr) = (console.project.id, console.tr);
    let crm = state
        .inbox
        .store
        .read(move |conn| {
            conversations::by_id(conn, project_id, id)?;
            crm_links(conn, project_id, id, tr)
        })
        .await?;
    Ok(html(CrmPartial { tr, crm }.render()?))
}

pub(super) async fn thread_partial(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
) -> Result<HttpResponse, HtmlError> {
    console.require(crate::domain::Can::ReadDialogs)?;
    let id = path.into_inner();
    let (project_id, tr, tz) = (console.project.id, console.tr, console.tz.clone());
    let c = state
        .inbox
        .store
        .read(move |conn| load_conv(conn, project_id, id, tr, &tz))
        .await?;
    Ok(html(ThreadPartial { tr, c }.render()?))
}
