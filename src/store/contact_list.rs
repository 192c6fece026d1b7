//! The contacts page and `GET /api/v1/contacts`: a project's contacts newest first, a page at
//! a time. Pages are keyset pages (`before` the last id shown), so the thousandth page costs
//! what the first does at a million contacts; each filter has an index that yields its
//! contacts newest first.

use std::collections::HashMap;

use diesel::prelude::*;

use super::DbConn;
use super::contacts::Contact;
use super::schema::{contact_tags, contacts, organizations, users};
use crate::domain::{ContactId, ProjectId};
use crate::error::Result;

/// Organisations a search text is compared with, at most (read by the project's index and
/// compared here, case-insensitively in every alphabet).
const ORGANIZATIONS_READ: i64 = 20_000;
/// Organisations whose contacts a search lists.
const ORGANIZATIONS_MATCHED: usize = 50;

#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Name, e-mail, phone or organisation.
    pub text: Option<String>,
    pub tag: Option<i64>,
    pub organization: Option<i64>,
    pub vip: bool,
}

#[derive(Clone, Debug)]
pub struct Page {
    pub contacts: Vec<Contact>,
    /// Where the next page starts (`before`), if there is one.
    pub next: Option<ContactId>,
    /// The text matched more contacts than a search reads: only the newest are listed.
    pub capped: bool,
}

#[derive(Clone, Debug, Queryable)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub vip: bool,
    pub manager_id: Option<i64>,
    pub manager_name: Option<String>,
    pub manager_email: Option<String>,
}

/// Organisations of the project whose name contains `text` (any case).
fn organizations_named(conn: &mut DbConn, project_id: ProjectId, text: &str) -> Result<Vec<i64>> {
    let wanted = text.trim().to_lowercase();
    if wanted.chars().count() < 2 {
        return Ok(Vec::new());
    }
    let all: Vec<(i64, String)> = organizations::table
        .filter(organizations::project_id.eq(project_id))
        .order(organizations::name.asc())
        .select((organizations::id, organizations::name))
        .limit(ORGANIZATIONS_READ)
        .load(conn)?;
    Ok(all
        .into_iter()
        .filter(|(_, n)| n.to_lowercase().contains(&wanted))
        .map(|(id, _)| id)
        .take(ORGANIZATIONS_MATCHED)
        .collect())
}

/// The contacts a search text found: by name, e-mail or phone, and by organisation.
#[derive(Clone, Debug, Default)]
pub(super) struct Found {
    pub contacts: Vec<i64>,
    pub organizations: Vec<i64>,
}

/// The page's query: the project's contacts that pass `f` (its text already looked up as
/// `found`), newest first, older than `before`.
pub(super) fn page_query(
    project_id: ProjectId,
    f: &Filter,
    found: Option<Found>,
    before: Option<ContactId>,
    limit: i64,
) -> contacts::BoxedQuery<'static, super::MultiBackend> {
    let mut q = contacts::table
        .order(contacts::id.desc())
        .limit(limit)
        .into_boxed();
    // An organisation belongs to one project (`page` checks it is this one): filtering by it
    // alone lets SQLite's planner take its index rather than the project's.
    q = match f.organization {
        Some(o) => q.filter(contacts::organization_id.eq(o)),
        None => q.filter(contacts::project_id.eq(project_id)),
    };
    if let Some(found) = found {
        q = if found.organizations.is_empty() {
            q.filter(contacts::id.eq_any(found.contacts))
        } else {
            q.filter(
                contacts::id
                    .eq_any(found.contacts)
                    .or(contacts::organization_id.eq_any(found.organizations)),
            )
        };
    }
    if let Some(t) = f.tag {
        q = q.filter(
            contacts::id.eq_any(
                contact_tags::table
                    .filter(contact_tags::tag_id.eq(t))
                    .select(contact_tags::contact_id),
            ),
        );
    }
    if f.vip {
        q = q.filter(contacts::vip.eq(true));
    }
    if let Some(b) = before {
        q = q.filter(contacts::id.lt(b));
    }
    q
}

/// One page of the project's contacts that pass `f`, newest first, older than `before`.
pub fn page(
    conn: &mut DbConn,
    project_id: ProjectId,
    f: &Filter,
    before: Option<ContactId>,
    limit: i64,
) -> Result<Page> {
    if let Some(o) = f.organization
        && organization(conn, project_id, o)?.is_none()
    {
        return Ok(Page {
            contacts: Vec::new(),
            next: None,
            capped: false,
        });
    }
    let mut capped = false;
    let found = match f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => {
            let (contacts, reached) = super::search::contacts(conn, project_id, text)?;
            capped = reached;
            Some(Found {
                contacts,
                organizations: organizations_named(conn, project_id, text)?,
            })
        }
        None => None,
    };
    let mut rows: Vec<Contact> = page_query(project_id, f, found, before, limit + 1)
        .select(Contact::as_select())
        .load(conn)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|c| c.id)
    } else {
        None
    };
    Ok(Page {
        contacts: rows,
        next,
        capped,
    })
}

/// These organisations with their managers, by id.
pub fn organizations(conn: &mut DbConn, ids: &[i64]) -> Result<HashMap<i64, Organization>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Organization> = organizations::table
        .left_join(users::table.on(organizations::manager_id.eq(users::id.nullable())))
        .filter(organizations::id.eq_any(ids))
        .select((
            organizations::id,
            organizations::name,
            organizations::vip,
            organizations::manager_id,
            users::name.nullable(),
            users::email.nullable(),
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|o| (o.id, o)).collect())
}

/// The project's organisation with this id, if it has one.
pub fn organization(
    conn: &mut DbConn,
    project_id: ProjectId,
    id: i64,
) -> Result<Option<Organization>> {
    let found: Option<i64> = organizations::table
        .filter(organizations::project_id.eq(project_id))
        .filter(organizations::id.eq(id))
        .select(organizations::id)
        .first(conn)
        .optional()?;
    Ok(match found {
        Some(id) => organizations(conn, &[id])?.remove(&id),
        None => None,
    })
}
