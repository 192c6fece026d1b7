//! REST API for contacts: list (search, tag, organisation, VIP; keyset pages), get, create,
//! update, merge and CSV import. The same checks and writes as the contacts page
//! (`domain::contact`, `Inbox::*_contact`).

use actix_web::{HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::State;
use super::auth::ApiUser;
use super::errors::ApiError;
use super::openapi::{self as doc, ErrorBody};
use super::view::rfc3339;
use crate::domain::contact::{self, ContactInput};
use crate::domain::{Can, ContactId, ProjectId};
use crate::store::contact_list::{self, Filter, Organization};
use crate::store::contacts::{self, Contact};
use crate::store::{DbConn, channels, tags};

#[derive(Serialize, ToSchema)]
#[schema(as = Organization)]
struct OrganizationOut {
    id: i64,
    name: String,
    vip: bool,
    /// The member who manages the organisation.
    manager_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct IdentityOut {
    /// The channel's id as in channels.toml.
    channel: String,
    /// The customer's id in that channel.
    external_id: String,
    /// They blocked the business there.
    blocked: bool,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ContactCard)]
struct ContactView {
    #[schema(value_type = i64)]
    id: ContactId,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    vip: bool,
    organization: Option<OrganizationOut>,
    tags: Vec<String>,
    /// On the project's blacklist.
    blacklisted: bool,
    /// Where they write from (only when one contact is asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    identities: Option<Vec<IdentityOut>>,
    #[schema(schema_with = doc::date_time_schema)]
    created_at: String,
    #[schema(schema_with = doc::date_time_schema)]
    updated_at: String,
}

#[derive(Serialize, ToSchema)]
struct ContactPage {
    data: Vec<ContactView>,
    /// Pass as `before` for the next page; null on the last one.
    next_before: Option<i64>,
    /// A search matched more contacts than it reads: only the newest are listed.
    capped: bool,
}

fn org_out(o: &Organization) -> OrganizationOut {
    OrganizationOut {
        id: o.id,
        name: o.name.clone(),
        vip: o.vip,
        manager_id: o.manager_id,
    }
}

/// These contacts as the API shows them, decorated with a few reads for the whole page.
fn views(
    conn: &mut DbConn,
    pid: ProjectId,
    list: Vec<Contact>,
    one: bool,
) -> crate::error::Result<Vec<ContactView>> {
    let org_ids: Vec<i64> = list.iter().filter_map(|c| c.organization_id).collect();
    let orgs = contact_list::organizations(conn, &org_ids)?;
    let ids: Vec<ContactId> = list.iter().map(|c| c.id).collect();
    let mut tag_map = tags::of_contacts(conn, &ids)?;
    let chans = if one {
        channels::of_project(conn, pid)?
    } else {
        Vec::new()
    };
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        let identities = if one {
            Some(
                contacts::identities(conn, c.id)?
                    .into_iter()
                    .map(|(ch, external_id, blocked)| IdentityOut {
                        channel: chans
                            .iter()
                            .find(|x| x.id == ch)
                            .map(|x| x.key.clone())
                            .unwrap_or_default(),
                        external_id,
                        blocked,
                    })
                    .collect(),
            )
        } else {
            None
        };
        out.push(ContactView {
            id: c.id,
            organization: c.organization_id.and_then(|o| orgs.get(&o)).map(org_out),
            tags: tag_map
                .remove(&c.id)
                .unwrap_or_default()
                .into_iter()
                .map(|t| t.name)
                .collect(),
            blacklisted: c.blacklisted_at.is_some(),
            identities,
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
            name: c.name,
            phone: c.phone,
            email: c.email,
            vip: c.vip,
        });
    }
    Ok(out)
}

async fn one(state: &State, who: &ApiUser, id: ContactId) -> Result<ContactView, ApiError> {
    let pid = who.project_id;
    let mut v = state
        .inbox
        .store
        .read(move |c| {
            let found = contacts::by_id(c, pid, id)?;
            views(c, pid, vec![found], true)
        })
        .await?;
    v.pop()
        .ok_or_else(|| ApiError::from(crate::error::Error::not_found("no such contact")))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ContactQuery {
    /// Words of the name, e-mail or organisation, or a phone however written.
    q: Option<String>,
    /// A tag's name.
    tag: Option<String>,
    organization_id: Option<i64>,
    /// true: only VIP contacts.
    vip: Option<bool>,
    /// The previous page's `next_before`.
    before: Option<i64>,
    /// 1-100, default 25.
    per_page: Option<i64>,
}

/// List contacts, newest first.
#[utoipa::path(
    params(ContactQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = ContactPage),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "The settings level: no customer data", body = ErrorBody),
    )
)]
#[get("/contacts")]
pub(super) async fn list_contacts(
    state: web::Data<State>,
    who: ApiUser,
    q: web::Query<ContactQuery>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::ReadDialogs)?;
    let q = q.into_inner();
    let per_page = q.per_page.unwrap_or(25);
    if !(1..=100).contains(&per_page) {
        return Err(ApiError::bad_request("per_page must be between 1 and 100"));
    }
    if q.q.as_deref().is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiError::bad_request("q is at most 200 characters"));
    }
    let pid = who.project_id;
    let (data, next, capped) = state
        .inbox
        .store
        .read(move |c| {
            let tag = match q.tag.as_deref() {
                Some(name) => Some(tags::named(c, pid, &[name.to_string()])?[0].id),
                None => None,
            };
            let f = Filter {
                text: q.q.filter(|t| !t.trim().is_empty()),
                tag,
                organization: q.organization_id,
                vip: q.vip.unwrap_or(false),
            };
            let page = contact_list::page(c, pid, &f, q.before.map(ContactId), per_page)?;
            Ok((views(c, pid, page.contacts, false)?, page.next, page.capped))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ContactPage {
        data,
        next_before: next.map(|n| n.0),
        capped,
    }))
}

/// One contact, with where they write from.
#[utoipa::path(
    params(("id" = i64, Path, description = "the contact's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = ContactView),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "The settings level: no customer data", body = ErrorBody),
        (status = 404, description = "No such contact in this project", body = ErrorBody),
    )
)]
#[get("/contacts/{id}")]
pub(super) async fn get_contact(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::ReadDialogs)?;
    Ok(HttpResponse::Ok().json(one(&state, &who, ContactId(*path)).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ContactBody {
    /// 1-100 characters; required to create.
    name: Option<String>,
    /// 5-15 digits with + - ( ) and spaces; "" removes it.
    phone: Option<String>,
    /// "" removes it.
    email: Option<String>,
    vip: Option<bool>,
    /// The organisation's name (created on first use); "" detaches the contact.
    organization: Option<String>,
    organization_vip: Option<bool>,
    /// A member of the project who manages the organisation; null for nobody.
    manager_id: Option<i64>,
    /// Tag names (the project's tags); replaces the contact's tags.
    tags: Option<Vec<String>>,
}

/// The body laid over what the contact has (nothing, for a new one), checked.
fn input_of(
    b: &ContactBody,
    now: Option<(&Contact, Option<&Organization>)>,
) -> crate::error::Result<ContactInput> {
    let old = now.map(|(c, _)| c);
    let org = now.and_then(|(_, o)| o);
    let name = match (&b.name, old) {
        (Some(n), _) => contact::name(n)?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(crate::error::Error::invalid("name is required")),
    };
    let keep = |new: &Option<String>,
                old: Option<String>,
                check: fn(&str) -> crate::error::Result<Option<String>>| match new {
        Some(v) => check(v),
        None => Ok(old),
    };
    Ok(ContactInput {
        name,
        phone: keep(&b.phone, old.and_then(|c| c.phone.clone()), contact::phone)?,
        email: keep(&b.email, old.and_then(|c| c.email.clone()), contact::email)?,
        vip: b.vip.unwrap_or(old.is_some_and(|c| c.vip)),
        organization: keep(
            &b.organization,
            org.map(|o| o.name.clone()),
            contact::organization,
        )?,
        organization_vip: b.organization_vip.unwrap_or(org.is_some_and(|o| o.vip)),
        manager_id: b.manager_id.or(org.and_then(|o| o.manager_id)),
    })
}

/// Adds a contact (someone who has not written yet: with a phone, they can sign in to the
/// Telegram bot by sharing it).
#[utoipa::path(
    request_body = ContactBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = ContactView),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not a level that answers customers", body = ErrorBody),
        (status = 409, description = "Another contact has this phone or e-mail", body = ErrorBody),
    )
)]
#[post("/contacts")]
pub(super) async fn create_contact(
    state: web::Data<State>,
    who: ApiUser,
    body: super::body::Json<ContactBody>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Answer)?;
    let body = body.parse()?;
    let input = input_of(&body, None)?;
    let c = state
        .inbox
        .create_contact(&who.operator(), input, body.tags.unwrap_or_default())
        .await?;
    Ok(HttpResponse::Created().json(one(&state, &who, c.id).await?))
}

/// Changes a contact: only the fields sent.
#[utoipa::path(
    params(("id" = i64, Path, description = "the contact's id")),
    request_body = ContactBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = ContactView),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not a level that answers customers", body = ErrorBody),
        (status = 404, description = "No such contact in this project", body = ErrorBody),
        (status = 409, description = "Another contact has this phone or e-mail", body = ErrorBody),
    )
)]
#[patch("/contacts/{id}")]
pub(super) async fn change_contact(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
    body: super::body::Json<ContactBody>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Answer)?;
    let (pid, id) = (who.project_id, ContactId(*path));
    let (now, org) = state
        .inbox
        .store
        .read(move |c| {
            let now = contacts::by_id(c, pid, id)?;
            let org = contacts::organization(c, &now)?;
            Ok((now, org))
        })
        .await?;
    let body = body.parse()?;
    let input = input_of(&body, Some((&now, org.as_ref())))?;
    state
        .inbox
        .update_contact(&who.operator(), id, input, body.tags)
        .await?;
    Ok(HttpResponse::Ok().json(one(&state, &who, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    /// The duplicate: its conversations, channels and tags move to this contact, and it is
    /// deleted.
    from: i64,
}

/// Merges another contact (the same person on another channel) into this one.
#[utoipa::path(
    params(("id" = i64, Path, description = "the contact kept")),
    request_body = MergeBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Merged: the kept contact", body = ContactView),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not a level that answers customers", body = ErrorBody),
        (status = 404, description = "Either contact is not in this project", body = ErrorBody),
    )
)]
#[post("/contacts/{id}/merge")]
pub(super) async fn merge_contacts(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
    body: super::body::Json<MergeBody>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Answer)?;
    let keep = ContactId(*path);
    one(&state, &who, keep).await?;
    let body = body.parse()?;
    state
        .inbox
        .merge_contacts(&who.operator(), keep, ContactId(body.from))
        .await?;
    Ok(HttpResponse::Ok().json(one(&state, &who, keep).await?))
}

#[derive(Serialize, ToSchema)]
struct RefusedRow {
    /// The file's line (the header is line 1).
    line: usize,
    reason: String,
}

#[derive(Serialize, ToSchema)]
struct ImportOut {
    created: usize,
    updated: usize,
    refused: Vec<RefusedRow>,
}

/// Imports contacts from a CSV file sent as the body (`text/csv`): a header line naming the
/// columns (name, phone, email, organization, vip, tags, manager; or their Russian names),
/// comma or semicolon separated, UTF-8 or Windows-1251. A row whose e-mail or phone belongs
/// to a contact updates it. Every row that passes is imported in one transaction; the rest
/// are listed with the reason.
#[utoipa::path(
    request_body(content = String, content_type = "text/csv"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Imported: what was created, updated and refused", body = ImportOut),
        (status = 400, description = "Not a contacts file: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
#[post("/contacts/import")]
pub(super) async fn import_contacts(
    state: web::Data<State>,
    who: ApiUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Team)?;
    let report = state
        .inbox
        .import_contacts(&who.operator(), body.to_vec())
        .await?;
    Ok(HttpResponse::Ok().json(ImportOut {
        created: report.created,
        updated: report.updated,
        refused: report
            .refused
            .into_iter()
            .map(|r| RefusedRow {
                line: r.line,
                reason: r.reason,
            })
            .collect(),
    }))
}
