//! The contacts page (search, filters, keyset pages), a contact's card (details, tags, where
//! they write from, all their conversations, merging a duplicate into them) and a new
//! contact's form. Import and export are in `contact_files`.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;

use super::contacts::input_of;
use crate::domain::contact::ContactInput;
use crate::domain::{Can, ContactId};
use crate::error::Error;
use crate::i18n::Tr;
use crate::store::contact_list::{self, Filter};
use crate::store::contacts::{self, Contact};
use crate::store::{channels, conversations, members, tags};
use crate::web::State;
use crate::web::auth::Console;
use crate::web::errors::{HtmlError, refusal_status};
use crate::web::settings::field;
use crate::web::settings_team::all;

const PER_PAGE: i64 = 50;

pub struct RowView {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub vip: bool,
    pub organization: String,
    pub organization_id: i64,
    pub tags: Vec<(String, &'static str)>,
    pub created: String,
}

#[derive(Template)]
#[template(path = "console/contacts.html")]
struct ListPage {
    tr: Tr,
    project_name: String,
    can_answer: bool,
    admin: bool,
    rows: Vec<RowView>,
    /// (id, name) of the project's tags.
    tags: Vec<(i64, String)>,
    f_q: String,
    f_tag: i64,
    f_vip: bool,
    f_org: i64,
    /// The organisation filtered by, by name.
    org_name: String,
    /// The filter as a query string (for the next page and the export).
    qs: String,
    next: i64,
    deeper: bool,
    capped: bool,
}

/// The card's form as shown (again, with the refused input, after an error).
#[derive(Default)]
pub struct FormView {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub vip: bool,
    pub organization: String,
    pub organization_vip: bool,
    pub manager_id: i64,
    /// Ids of the tags it carries.
    pub tags: Vec<i64>,
}

#[derive(Template)]
#[template(path = "console/contact.html")]
struct CardPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    can_answer: bool,
    /// 0 for a new contact.
    id: i64,
    form: FormView,
    blacklisted: String,
    manager_name: String,
    members: Vec<(i64, String)>,
    tags: Vec<(i64, String, &'static str)>,
    /// (channel name, id there, blocked us).
    identities: Vec<(String, String, bool)>,
    /// (id, number, subject, status, channel, last message).
    conversations: Vec<(i64, i64, String, String, String, String)>,
    merge_q: String,
    /// Contacts the merge search found: (id, name, phone, email).
    candidates: Vec<(i64, String, String, String)>,
    notice: String,
    error: String,
}

fn id_param(q: &[(String, String)], name: &str) -> Result<Option<i64>, Error> {
    match field(q, name).trim() {
        "" | "0" => Ok(None),
        v => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| Error::invalid(format!("{name} must be a number"))),
    }
}

/// The list's filter from a query string (the page's and the export's).
pub(super) fn filter_of(q: &[(String, String)]) -> Result<Filter, Error> {
    let text = field(q, "q").trim();
    if text.chars().count() > 200 {
        return Err(Error::invalid("the search text is at most 200 characters"));
    }
    Ok(Filter {
        text: Some(text.to_string()).filter(|t| !t.is_empty()),
        tag: id_param(q, "tag")?,
        organization: id_param(q, "org")?,
        vip: !field(q, "vip").is_empty(),
    })
}

/// The filter as a query string.
pub(super) fn query_of(f: &Filter) -> String {
    let mut parts: Vec<(&str, String)> = Vec::new();
    if let Some(t) = &f.text {
        parts.push(("q", t.clone()));
    }
    if let Some(t) = f.tag {
        parts.push(("tag", t.to_string()));
    }
    if let Some(o) = f.organization {
        parts.push(("org", o.to_string()));
    }
    if f.vip {
        parts.push(("vip", "1".into()));
    }
    serde_urlencoded::to_string(parts).unwrap_or_default()
}

pub(super) async fn list(
    state: web::Data<State>,
    console: Console,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::ReadDialogs)?;
    let f = filter_of(&q)?;
    let before = id_param(&q, "before")?.map(ContactId);
    let (pid, tz, filter) = (console.project.id, console.tz.clone(), f.clone());
    let (found, orgs, tag_map, all_tags, org) = state
        .inbox
        .store
        .read(move |c| {
            let found = contact_list::page(c, pid, &filter, before, PER_PAGE)?;
            let org_ids: Vec<i64> = found
                .contacts
                .iter()
                .filter_map(|x| x.organization_id)
                .collect();
            let orgs = contact_list::organizations(c, &org_ids)?;
            let ids: Vec<ContactId> = found.contacts.iter().map(|x| x.id).collect();
            let tag_map = tags::of_contacts(c, &ids)?;
            let all_tags = tags::of_project(c, pid)?;
            let org = match filter.organization {
                Some(o) => contact_list::organization(c, pid, o)?,
                None => None,
            };
            Ok((found, orgs, tag_map, all_tags, org))
        })
        .await?;
    let mut tag_map = tag_map;
    let rows = found
        .contacts
        .iter()
        .map(|x| {
            let o = x.organization_id.and_then(|o| orgs.get(&o));
            RowView {
                id: x.id.0,
                name: x.name.clone(),
                phone: x.phone.clone().unwrap_or_default(),
                email: x.email.clone().unwrap_or_default(),
                vip: x.vip,
                organization: o.map(|o| o.name.clone()).unwrap_or_default(),
                organization_id: o.map(|o| o.id).unwrap_or(0),
                tags: tag_map
                    .remove(&x.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| (t.name, t.colour.as_str()))
                    .collect(),
                created: crate::web::view::local(x.created_at, &tz),
            }
        })
        .collect();
    let p = ListPage {
        tr: console.tr,
        project_name: console.project.name.clone(),
        can_answer: console.access.can(Can::Answer),
        admin: console.access.can(Can::Team),
        rows,
        tags: all_tags.into_iter().map(|t| (t.id, t.name)).collect(),
        f_q: f.text.clone().unwrap_or_default(),
        f_tag: f.tag.unwrap_or(0),
        f_vip: f.vip,
        f_org: f.organization.unwrap_or(0),
        org_name: org.map(|o| o.name).unwrap_or_default(),
        qs: query_of(&f),
        next: found.next.map(|n| n.0).unwrap_or(0),
        deeper: before.is_some(),
        capped: found.capped,
    };
    Ok(crate::web::private_page(StatusCode::OK, p.render()?))
}

fn form_of(c: &Contact, org: Option<&contact_list::Organization>, tag_ids: Vec<i64>) -> FormView {
    FormView {
        name: c.name.clone(),
        phone: c.phone.clone().unwrap_or_default(),
        email: c.email.clone().unwrap_or_default(),
        vip: c.vip,
        organization: org.map(|o| o.name.clone()).unwrap_or_default(),
        organization_vip: org.is_some_and(|o| o.vip),
        manager_id: org.and_then(|o| o.manager_id).unwrap_or(0),
        tags: tag_ids,
    }
}

fn form_again(f: &[(String, String)]) -> FormView {
    FormView {
        name: field(f, "name").to_string(),
        phone: field(f, "phone").to_string(),
        email: field(f, "email").to_string(),
        vip: !field(f, "vip").is_empty(),
        organization: field(f, "organization").to_string(),
        organization_vip: !field(f, "organization_vip").is_empty(),
        manager_id: field(f, "manager").parse().unwrap_or(0),
        tags: all(f, "tag")
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect(),
    }
}

/// The card of a contact (id Some) or the new contact's form.
async fn card(
    state: &State,
    console: &Console,
    id: Option<ContactId>,
    merge_q: &str,
) -> Result<CardPage, HtmlError> {
    let (pid, tz, tr) = (console.project.id, console.tz.clone(), console.tr);
    let merge_q = merge_q.trim().chars().take(200).collect::<String>();
    let mq = merge_q.clone();
    state
        .inbox
        .store
        .read(move |c| {
            let all_tags = tags::of_project(c, pid)?;
            let members: Vec<(i64, String)> = members::members(c, pid)?
                .into_iter()
                .map(|u| (u.id, u.name))
                .collect();
            let mut p = CardPage {
                tr,
                csrf: String::new(),
                project_name: String::new(),
                can_answer: false,
                id: 0,
                form: FormView::default(),
                blacklisted: String::new(),
                manager_name: String::new(),
                members,
                tags: all_tags
                    .into_iter()
                    .map(|t| (t.id, t.name, t.colour.as_str()))
                    .collect(),
                identities: Vec::new(),
                conversations: Vec::new(),
                merge_q: mq.clone(),
                candidates: Vec::new(),
                notice: String::new(),
                error: String::new(),
            };
            let Some(id) = id else {
                return Ok(p);
            };
            let contact = contacts::by_id(c, pid, id)?;
            let org = contacts::organization(c, &contact)?;
            let on: Vec<i64> = tags::of_contacts(c, &[id])?
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .map(|t| t.id)
                .collect();
            p.id = id.0;
            p.form = form_of(&contact, org.as_ref(), on);
            p.manager_name = org.and_then(|o| o.manager_name).unwrap_or_default();
            p.blacklisted = match contact.blacklisted_at {
                Some(_) => contact
                    .blacklist_reason
                    .clone()
                    .unwrap_or_else(|| "—".into()),
                None => String::new(),
            };
            let chans = channels::of_project(c, pid)?;
            let channel_name = |ch: crate::domain::ChannelId| {
                chans
                    .iter()
                    .find(|x| x.id == ch)
                    .map(|x| x.name.clone())
                    .unwrap_or_default()
            };
            // A widget visitor's id is a hash of their browser's token: nothing to read.
            let widget = |ch: crate::domain::ChannelId| {
                chans
                    .iter()
                    .any(|x| x.id == ch && x.kind == crate::domain::ChannelKind::Widget)
            };
            p.identities = contacts::identities(c, id)?
                .into_iter()
                .map(|(ch, ext, blocked)| {
                    let shown = if widget(ch) { String::new() } else { ext };
                    (channel_name(ch), shown, blocked)
                })
                .collect();
            p.conversations = conversations::of_contact(c, pid, id)?
                .into_iter()
                .map(|v| {
                    (
                        v.id.0,
                        v.number,
                        v.subject,
                        tr.status(v.status).to_string(),
                        channel_name(v.channel_id),
                        crate::web::view::local(v.last_message_at, &tz),
                    )
                })
                .collect();
            if !mq.is_empty() {
                let f = Filter {
                    text: Some(mq.clone()),
                    ..Filter::default()
                };
                p.candidates = contact_list::page(c, pid, &f, None, 11)?
                    .contacts
                    .into_iter()
                    .filter(|o| o.id != id)
                    .take(10)
                    .map(|o| {
                        (
                            o.id.0,
                            o.name,
                            o.phone.unwrap_or_default(),
                            o.email.unwrap_or_default(),
                        )
                    })
                    .collect();
            }
            Ok(p)
        })
        .await
        .map(|mut p| {
            p.csrf = console.csrf.clone();
            p.project_name = console.project.name.clone();
            p.can_answer = console.access.can(Can::Answer);
            p
        })
        .map_err(HtmlError::from)
}

fn notice(tr: Tr, done: &str) -> String {
    match done {
        "saved" => tr.t("contact_saved").to_string(),
        "merged" => tr.t("contact_merged").to_string(),
        _ => String::new(),
    }
}

pub(super) async fn show(
    state: web::Data<State>,
    console: Console,
    path: web::Path<ContactId>,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::ReadDialogs)?;
    let mut p = card(&state, &console, Some(*path), field(&q, "merge_q")).await?;
    p.notice = notice(console.tr, field(&q, "done"));
    Ok(crate::web::private_page(StatusCode::OK, p.render()?))
}

pub(super) async fn new_form(
    state: web::Data<State>,
    console: Console,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Answer)?;
    let p = card(&state, &console, None, "").await?;
    Ok(crate::web::private_page(StatusCode::OK, p.render()?))
}

fn to_card(id: ContactId, done: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("/console/contacts/{id}?done={done}")))
        .finish()
}

/// The tags the form ticked, by name (as the inbox takes them).
async fn ticked(
    state: &State,
    console: &Console,
    f: &[(String, String)],
) -> Result<Vec<String>, Error> {
    let ids: Vec<i64> = all(f, "tag")
        .iter()
        .map(|t| t.parse::<i64>())
        .collect::<Result<_, _>>()
        .map_err(|_| Error::invalid("bad tag"))?;
    let pid = console.project.id;
    let project_tags = state
        .inbox
        .store
        .read(move |c| tags::of_project(c, pid))
        .await?;
    ids.iter()
        .map(|id| {
            project_tags
                .iter()
                .find(|t| t.id == *id)
                .map(|t| t.name.clone())
                .ok_or_else(|| Error::invalid(format!("no tag {id} in this project")))
        })
        .collect()
}

/// Saves the new contact's or the card's form; shows it again with the reason when refused.
async fn save(
    state: &State,
    console: &Console,
    id: Option<ContactId>,
    f: Vec<(String, String)>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Answer)?;
    console.check_csrf(field(&f, "csrf"))?;
    let done: Result<Contact, Error> = async {
        let input: ContactInput = input_of(&f)?;
        let names = ticked(state, console, &f).await?;
        match id {
            Some(id) => {
                state
                    .inbox
                    .update_contact(&console.operator(), id, input, Some(names))
                    .await
            }
            None => {
                state
                    .inbox
                    .create_contact(&console.operator(), input, names)
                    .await
            }
        }
    }
    .await;
    match done {
        Ok(c) => Ok(to_card(c.id, "saved")),
        Err(e) if e.is_caller_error() => {
            let mut p = card(state, console, id, "").await?;
            p.form = form_again(&f);
            p.error = e.to_string();
            Ok(crate::web::private_page(refusal_status(&e), p.render()?))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn create(
    state: web::Data<State>,
    console: Console,
    form: crate::web::body::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Answer)?;
    save(&state, &console, None, form.parse()?).await
}

pub(super) async fn update(
    state: web::Data<State>,
    console: Console,
    path: web::Path<ContactId>,
    form: crate::web::body::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Answer)?;
    exists(&state, &console, *path).await?;
    save(&state, &console, Some(*path), form.parse()?).await
}

/// Another project's contact is not found, whatever the form holds.
async fn exists(state: &State, console: &Console, id: ContactId) -> Result<(), HtmlError> {
    let pid = console.project.id;
    state
        .inbox
        .store
        .read(move |c| contacts::by_id(c, pid, id))
        .await?;
    Ok(())
}

/// Merges the contact `other` into this one.
pub(super) async fn merge(
    state: web::Data<State>,
    console: Console,
    path: web::Path<ContactId>,
    form: crate::web::body::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Answer)?;
    exists(&state, &console, *path).await?;
    let f = form.parse()?;
    console.check_csrf(field(&f, "csrf"))?;
    let other = id_param(&f, "other")?
        .ok_or_else(|| Error::invalid("choose the contact to merge into this one"))?;
    let keep = path.into_inner();
    match state
        .inbox
        .merge_contacts(&console.operator(), keep, ContactId(other))
        .await
    {
        Ok(_) => Ok(to_card(keep, "merged")),
        Err(e) if e.is_caller_error() => {
            let mut p = card(&state, &console, Some(keep), "").await?;
            p.error = e.to_string();
            Ok(crate::web::private_page(refusal_status(&e), p.render()?))
        }
        Err(e) => Err(e.into()),
    }
}
