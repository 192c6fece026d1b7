//! The canned replies page (the project's and one's own: list, add, change with files,
//! delete) and the reply box's `/` list, filled for the open conversation.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Serialize;

use super::upload::FileForm;
use crate::domain::Can;
use crate::domain::canned::{self as rules, Draft, Scope};
use crate::error::Error;
use crate::i18n::Tr;
use crate::store::canned::Canned;
use crate::web::State;
use crate::web::auth::{Console, CsrfForm};
use crate::web::errors::{HtmlError, refusal_status};
use crate::web::settings::field;

pub struct Row {
    pub id: i64,
    pub shortcut: String,
    pub title: String,
    pub text: String,
    pub files: Vec<String>,
    pub used: i64,
    pub editable: bool,
}

pub struct Group {
    pub id: &'static str,
    pub title: &'static str,
    pub rows: Vec<Row>,
}

/// The add/change form as shown (again, with the refused input, after an error).
#[derive(Default)]
pub struct FormView {
    pub id: i64,
    pub action: String,
    pub scope: &'static str,
    pub title: String,
    pub shortcut: String,
    pub text: String,
    /// (storage key, file name) of the files it holds.
    pub files: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/canned.html")]
struct ListPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    admin: bool,
    can_settings: bool,
    can_answer: bool,
    groups: Vec<Group>,
    form: FormView,
    notice: String,
    error: String,
}

#[derive(Template)]
#[template(path = "console/canned_edit.html")]
struct EditPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    can_settings: bool,
    can_answer: bool,
    form: FormView,
    error: String,
}

fn scope_word(s: Scope) -> &'static str {
    match s {
        Scope::Project => "project",
        Scope::Personal => "personal",
    }
}

fn new_form(console: &Console) -> FormView {
    FormView {
        action: "/console/canned".into(),
        // Those who keep the project's replies mostly add to them.
        scope: if console.access.can(Can::Settings) {
            "project"
        } else {
            "personal"
        },
        ..FormView::default()
    }
}

fn edit_form(c: &Canned) -> FormView {
    FormView {
        id: c.id,
        action: format!("/console/canned/{}", c.id),
        scope: scope_word(c.scope()),
        title: c.title.clone(),
        shortcut: c.shortcut.clone(),
        text: c.text.clone(),
        files: c
            .files()
            .into_iter()
            .map(|f| (f.storage_key, f.file_name))
            .collect(),
    }
}

async fn list_page(state: &State, console: &Console) -> Result<ListPage, HtmlError> {
    let all = state.inbox.canned_replies(&console.operator()).await?;
    let settings = console.access.can(Can::Settings);
    let row = |c: &Canned| Row {
        id: c.id,
        shortcut: c.shortcut.clone(),
        title: c.title.clone(),
        text: c.text.clone(),
        files: c.files().into_iter().map(|f| f.file_name).collect(),
        used: c.used,
        editable: c.scope() == Scope::Personal || settings,
    };
    let (project, mine): (Vec<&Canned>, Vec<&Canned>) =
        all.iter().partition(|c| c.scope() == Scope::Project);
    let mut groups = vec![Group {
        id: "project-replies",
        title: "canned_project_group",
        rows: project.into_iter().map(row).collect(),
    }];
    if console.access.can(Can::Answer) {
        groups.push(Group {
            id: "my-replies",
            title: "canned_mine_group",
            rows: mine.into_iter().map(row).collect(),
        });
    }
    Ok(ListPage {
        tr: console.tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        admin: console.access.can(Can::Team),
        can_settings: settings,
        can_answer: console.access.can(Can::Answer),
        groups,
        form: new_form(console),
        notice: String::new(),
        error: String::new(),
    })
}

pub(super) async fn list(
    state: web::Data<State>,
    console: Console,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Canned)?;
    let mut p = list_page(&state, &console).await?;
    p.notice = match field(&q, "done") {
        "saved" => console.tr.t("canned_saved").to_string(),
        "deleted" => console.tr.t("canned_deleted").to_string(),
        _ => String::new(),
    };
    Ok(crate::web::private_page(
        actix_web::http::StatusCode::OK,
        p.render()?,
    ))
}

fn saved(done: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("/console/canned?done={done}")))
        .finish()
}

/// The form's text fields as a draft, or the refusal.
fn draft_of(form: &FileForm) -> Result<Draft, Error> {
    Draft::parse(
        form.field("shortcut"),
        form.field("title"),
        form.field("text"),
    )
}

pub(super) async fn create(
    state: web::Data<State>,
    console: Console,
    token: web::Query<CsrfForm>,
    payload: Multipart,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Canned)?;
    console.check_csrf(&token.csrf)?;
    let mut form = FileForm::read(&state, payload, "file", rules::MAX_FILES).await?;
    let scope = match form.field("scope") {
        "project" => Scope::Project,
        _ => Scope::Personal,
    };
    let done = match draft_of(&form) {
        Ok(draft) => {
            let files = form.save_files(&state).await?;
            state
                .inbox
                .create_canned(&console.operator(), console.access, scope, draft, files)
                .await
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(saved("saved")),
        Err(e) if e.is_caller_error() => {
            let mut p = list_page(&state, &console).await?;
            p.error = e.to_string();
            p.form.scope = scope_word(scope);
            p.form.title = form.field("title").to_string();
            p.form.shortcut = form.field("shortcut").to_string();
            p.form.text = form.field("text").to_string();
            Ok(crate::web::private_page(refusal_status(&e), p.render()?))
        }
        Err(e) => Err(e.into()),
    }
}

fn edit_page(console: &Console, c: &Canned) -> EditPage {
    EditPage {
        tr: console.tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        can_settings: console.access.can(Can::Settings),
        can_answer: console.access.can(Can::Answer),
        form: edit_form(c),
        error: String::new(),
    }
}

/// The change form; a project reply for members who may only read it is not theirs to open.
async fn editable(state: &State, console: &Console, id: i64) -> Result<Canned, HtmlError> {
    let c = state.inbox.canned_reply(&console.operator(), id).await?;
    if c.scope() == Scope::Project {
        console.require(Can::Settings)?;
    }
    Ok(c)
}

pub(super) async fn show(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Canned)?;
    let c = editable(&state, &console, path.into_inner()).await?;
    let p = edit_page(&console, &c);
    Ok(crate::web::private_page(
        actix_web::http::StatusCode::OK,
        p.render()?,
    ))
}

pub(super) async fn update(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    token: web::Query<CsrfForm>,
    payload: Multipart,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Canned)?;
    console.check_csrf(&token.csrf)?;
    let existing = editable(&state, &console, path.into_inner()).await?;
    let mut form = FileForm::read(&state, payload, "file", rules::MAX_FILES).await?;
    let done = match draft_of(&form) {
        Ok(draft) => {
            let removed = form.all("remove_file");
            let mut files: Vec<_> = existing
                .files()
                .into_iter()
                .filter(|f| !removed.contains(&f.storage_key.as_str()))
                .collect();
            files.extend(form.save_files(&state).await?);
            state
                .inbox
                .update_canned(
                    &console.operator(),
                    console.access,
                    existing.id,
                    draft,
                    Some(files),
                )
                .await
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(saved("saved")),
        Err(e) if e.is_caller_error() => {
            let mut p = edit_page(&console, &existing);
            p.error = e.to_string();
            p.form.title = form.field("title").to_string();
            p.form.shortcut = form.field("shortcut").to_string();
            p.form.text = form.field("text").to_string();
            Ok(crate::web::private_page(refusal_status(&e), p.render()?))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn delete(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Canned)?;
    console.check_csrf(field(&form, "csrf"))?;
    state
        .inbox
        .delete_canned(&console.operator(), console.access, path.into_inner())
        .await?;
    Ok(saved("deleted"))
}

#[derive(Serialize)]
struct Choice {
    id: i64,
    shortcut: String,
    title: String,
    /// Filled for the conversation it is asked for.
    text: String,
    files: Vec<String>,
}

/// The reply box's `/` list for one conversation, as JSON.
pub(super) async fn choices(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
) -> Result<HttpResponse, HtmlError> {
    super::may_change(&state, &console, *path).await?;
    let all = state
        .inbox
        .canned_filled(&console.operator(), path.into_inner())
        .await?;
    let out: Vec<Choice> = all
        .into_iter()
        .map(|(c, text)| Choice {
            id: c.id,
            files: c.files().into_iter().map(|f| f.file_name).collect(),
            shortcut: c.shortcut,
            title: c.title,
            text,
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(out))
}
