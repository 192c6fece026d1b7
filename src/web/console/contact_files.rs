//! Contacts in and out as CSV (admins only: a whole customer base leaves or arrives). The
//! import shows a report of every refused row; the export streams the filtered list a
//! thousand contacts at a time, so a million contacts never sit in memory.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use futures_util::StreamExt;

use super::contact_pages::filter_of;
use super::upload::FileForm;
use crate::domain::contact_csv::{self, Out, Refused};
use crate::domain::{Can, ContactId, ProjectId};
use crate::error::{Error, Result};
use crate::i18n::Tr;
use crate::store::contact_list::{self, Filter};
use crate::store::{DbConn, tags};
use crate::web::State;
use crate::web::auth::{Console, CsrfForm};
use crate::web::errors::{HtmlError, refusal_status};

const EXPORT_PAGE: i64 = 1000;

#[derive(Template)]
#[template(path = "console/contacts_import.html")]
struct ImportPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    header: String,
    done: bool,
    created: usize,
    updated: usize,
    refused: Vec<Refused>,
    error: String,
}

fn import_page(console: &Console) -> ImportPage {
    ImportPage {
        tr: console.tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        header: contact_csv::HEADER.join(","),
        done: false,
        created: 0,
        updated: 0,
        refused: Vec::new(),
        error: String::new(),
    }
}

pub(super) async fn import_form(console: Console) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    Ok(crate::web::private_page(
        StatusCode::OK,
        import_page(&console).render()?,
    ))
}

pub(super) async fn import(
    state: web::Data<State>,
    console: Console,
    token: web::Query<CsrfForm>,
    payload: Multipart,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    console.check_csrf(&token.csrf)?;
    let mut p = import_page(&console);
    let done = async {
        let mut form = FileForm::read(&state, payload, "file", 1).await?;
        let file = form
            .take_file()
            .ok_or_else(|| Error::invalid("choose a CSV file"))?;
        state.inbox.import_contacts(&console.operator(), file).await
    }
    .await;
    match done {
        Ok(report) => {
            p.done = true;
            p.created = report.created;
            p.updated = report.updated;
            p.refused = report.refused;
            Ok(crate::web::private_page(StatusCode::OK, p.render()?))
        }
        Err(e) if e.is_caller_error() => {
            p.error = e.to_string();
            Ok(crate::web::private_page(refusal_status(&e), p.render()?))
        }
        Err(e) => Err(e.into()),
    }
}

/// One page of the export: its CSV lines and where the next starts.
fn export_page(
    conn: &mut DbConn,
    pid: ProjectId,
    f: &Filter,
    before: Option<ContactId>,
    header: bool,
) -> Result<(Vec<u8>, Option<ContactId>)> {
    let found = contact_list::page(conn, pid, f, before, EXPORT_PAGE)?;
    let org_ids: Vec<i64> = found
        .contacts
        .iter()
        .filter_map(|c| c.organization_id)
        .collect();
    let orgs = contact_list::organizations(conn, &org_ids)?;
    let ids: Vec<ContactId> = found.contacts.iter().map(|c| c.id).collect();
    let tag_map = tags::of_contacts(conn, &ids)?;
    let rows: Vec<Out> = found
        .contacts
        .iter()
        .map(|c| {
            let org = c.organization_id.and_then(|o| orgs.get(&o));
            Out {
                name: &c.name,
                phone: c.phone.as_deref(),
                email: c.email.as_deref(),
                organization: org.map(|o| o.name.as_str()),
                vip: c.vip,
                tags: tag_map
                    .get(&c.id)
                    .map(|t| t.iter().map(|t| t.name.as_str()).collect())
                    .unwrap_or_default(),
                manager: org.and_then(|o| o.manager_email.as_deref()),
            }
        })
        .collect();
    Ok((contact_csv::write(&rows, header)?, found.next))
}

pub(super) async fn export(
    state: web::Data<State>,
    console: Console,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    let f = filter_of(&q)?;
    let pid = console.project.id;
    // The first page is read before answering, so a failure is an error page, not a cut file.
    let first = {
        let f = f.clone();
        state
            .inbox
            .store
            .read(move |c| export_page(c, pid, &f, None, true))
            .await?
    };
    let store = state.inbox.store.clone();
    let (mut bytes, next) = first;
    // A byte-order mark: without it Excel reads UTF-8 as the local code page.
    bytes.splice(0..0, [0xEF, 0xBB, 0xBF]);
    let rest = futures_util::stream::unfold(next, move |before| {
        let (store, f) = (store.clone(), f.clone());
        async move {
            let before = before?;
            match store
                .read(move |c| export_page(c, pid, &f, Some(before), false))
                .await
            {
                Ok((bytes, next)) => Some((Ok(web::Bytes::from(bytes)), next)),
                Err(e) => {
                    tracing::error!("contacts export stopped: {e}");
                    Some((Err(actix_web::error::ErrorInternalServerError(e)), None))
                }
            }
        }
    });
    let body =
        futures_util::stream::once(
            async move { Ok::<_, actix_web::Error>(web::Bytes::from(bytes)) },
        )
        .chain(rest);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"contacts.csv\"",
        ))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}
