//! Contacts as the team keeps them: created and edited by hand (the contacts page, the
//! conversation's sidebar, the REST API), merged when one person wrote from two channels, and
//! imported from a CSV file. Each change is checked by `domain::contact` first and written in
//! one transaction.

use super::Inbox;
use super::manage::Operator;
use crate::domain::audit::Action;
use crate::domain::contact::{ContactInput, phone_key};
use crate::domain::contact_csv::{self, Refused, Row};
use crate::domain::{ContactId, ProjectId, TagColour};
use crate::error::{Error, Result};
use crate::store::contact_merge::{self, Merged};
use crate::store::contacts::{self, Contact};
use crate::store::{DbConn, audit, members, tags, users};

/// What an import did: rows that created a contact, rows that updated one found by e-mail or
/// phone, and rows refused with the reason.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub refused: Vec<Refused>,
}

fn check_manager(conn: &mut DbConn, pid: ProjectId, input: &ContactInput) -> Result<()> {
    if let Some(m) = input.manager_id
        && members::access_in(conn, pid, m)?.is_none()
    {
        return Err(Error::invalid(
            "the manager must be a member of this project",
        ));
    }
    Ok(())
}

/// The new value when it differs from the old one as `key` compares them.
fn changed<'a>(
    new: &'a Option<String>,
    old: Option<&Option<String>>,
    key: fn(&str) -> String,
) -> Option<&'a str> {
    new.as_deref()
        .filter(|n| old.is_none_or(|o| o.as_deref().map(key) != Some(key(n))))
}

/// Another contact of the project with this phone or e-mail: the same person should be one
/// contact, so a second one is refused with where the first is.
fn taken_by_other(
    conn: &mut DbConn,
    pid: ProjectId,
    input: &ContactInput,
    me: Option<&Contact>,
) -> Result<()> {
    let as_phone: fn(&str) -> String = |p| phone_key(p).unwrap_or_default();
    let as_is: fn(&str) -> String = |e| e.to_string();
    if let Some(p) = changed(&input.phone, me.map(|c| &c.phone), as_phone)
        && let Some(other) = contacts::by_phone(conn, pid, p)?
        && Some(other.id) != me.map(|c| c.id)
    {
        return Err(Error::Conflict(format!(
            "contact {} ({}) has the phone {p}: edit that contact, or merge the two",
            other.id, other.name
        )));
    }
    if let Some(e) = changed(&input.email, me.map(|c| &c.email), as_is)
        && let Some(other) = contacts::by_email(conn, pid, e)?
        && Some(other.id) != me.map(|c| c.id)
    {
        return Err(Error::Conflict(format!(
            "contact {} ({}) has the e-mail {e}: edit that contact, or merge the two",
            other.id, other.name
        )));
    }
    Ok(())
}

/// The tags of these names, adding those the project lacks (an import brings its own).
fn tags_adding(conn: &mut DbConn, pid: ProjectId, names: &[String]) -> Result<Vec<tags::Tag>> {
    let mut out = Vec::new();
    for n in names {
        out.push(match tags::by_name(conn, pid, n)? {
            Some(t) => t,
            None => tags::create(conn, pid, n, TagColour::Blue)?,
        });
    }
    Ok(out)
}

/// One import row: the contact it updates (found by e-mail, else phone) or a new one.
/// Returns whether it created one.
fn import_row(conn: &mut DbConn, pid: ProjectId, row: &Row) -> Result<bool> {
    let mut input = row.input.clone();
    if let Some(m) = &row.manager {
        let user = users::by_email(conn, m)?
            .ok_or_else(|| Error::invalid(format!("no member with the e-mail {m}")))?;
        input.manager_id = Some(user.id);
        check_manager(conn, pid, &input)?;
    }
    let by_email = match &input.email {
        Some(e) => contacts::by_email(conn, pid, e)?,
        None => None,
    };
    let by_phone = match &input.phone {
        Some(p) => contacts::by_phone(conn, pid, p)?,
        None => None,
    };
    let existing = match (by_email, by_phone) {
        (Some(a), Some(b)) if a.id != b.id => {
            return Err(Error::invalid(format!(
                "the e-mail is contact {}'s and the phone contact {}'s: merge them first",
                a.id, b.id
            )));
        }
        (a, b) => a.or(b),
    };
    let (id, created) = match existing {
        Some(c) => {
            let org = contacts::organization(conn, &c)?;
            let keep = ContactInput {
                name: input.name.clone(),
                phone: if row.has.phone {
                    input.phone.clone()
                } else {
                    c.phone.clone()
                },
                email: if row.has.email {
                    input.email.clone()
                } else {
                    c.email.clone()
                },
                vip: if row.has.vip { input.vip } else { c.vip },
                organization: if row.has.organization {
                    input.organization.clone()
                } else {
                    org.as_ref().map(|o| o.name.clone())
                },
                organization_vip: org.as_ref().is_some_and(|o| o.vip),
                manager_id: input.manager_id.or(org.as_ref().and_then(|o| o.manager_id)),
            };
            (contacts::update(conn, pid, c.id, &keep)?.id, false)
        }
        None => (contacts::create(conn, pid, &input)?.id, true),
    };
    if row.has.tags {
        let mut on = tags::of_contacts(conn, &[id])?
            .remove(&id)
            .unwrap_or_default();
        for t in tags_adding(conn, pid, &row.tags)? {
            if !on.iter().any(|o| o.id == t.id) {
                on.push(t);
            }
        }
        tags::set_for_contact(conn, id, &on)?;
    }
    Ok(created)
}

impl Inbox {
    pub async fn create_contact(
        &self,
        op: &Operator,
        input: ContactInput,
        tag_names: Vec<String>,
    ) -> Result<Contact> {
        let pid = op.project_id;
        self.store
            .write(move |c| {
                check_manager(c, pid, &input)?;
                taken_by_other(c, pid, &input, None)?;
                let wanted = tags::named(c, pid, &tag_names)?;
                let created = contacts::create(c, pid, &input)?;
                tags::set_for_contact(c, created.id, &wanted)?;
                Ok(created)
            })
            .await
    }

    /// Replaces the contact's details; `tag_names` None leaves its tags as they are.
    pub async fn update_contact(
        &self,
        op: &Operator,
        id: ContactId,
        input: ContactInput,
        tag_names: Option<Vec<String>>,
    ) -> Result<Contact> {
        let pid = op.project_id;
        let op_name = op.name.clone();
        self.store
            .write(move |c| {
                let before = contacts::by_id(c, pid, id)?;
                check_manager(c, pid, &input)?;
                taken_by_other(c, pid, &input, Some(&before))?;
                if let Some(names) = &tag_names {
                    let wanted = tags::named(c, pid, names)?;
                    tags::set_for_contact(c, id, &wanted)?;
                }
                let after = contacts::update(c, pid, id, &input)?;
                crate::integrations::emit(
                    c,
                    crate::integrations::Happened {
                        project_id: pid,
                        event: crate::domain::WebhookEvent::ContactUpdated,
                        conversation: None,
                        contact: Some(id),
                        data: serde_json::json!({ "by": op_name }),
                        at: crate::store::now(),
                    },
                )?;
                Ok(after)
            })
            .await
            .inspect(|_| self.webhooks_wake.notify_one())
    }

    /// Makes `remove` part of `keep`: one person, one history.
    pub async fn merge_contacts(
        &self,
        op: &Operator,
        keep: ContactId,
        remove: ContactId,
    ) -> Result<Merged> {
        let (pid, uid, by) = (op.project_id, op.user_id, op.name.clone());
        self.store
            .write(move |c| {
                let m = contact_merge::merge(c, pid, keep, remove)?;
                // Where operators read the person's conversations, the thread says so.
                let ev = crate::domain::event::SystemEvent::ContactsMerged {
                    other: m.removed.name.clone(),
                    by,
                };
                for conv in crate::store::conversations::of_contact(c, pid, keep)? {
                    crate::thread::record(c, &conv, &ev)?;
                }
                audit::record(
                    c,
                    pid,
                    Some(uid),
                    Action::ContactsMerged,
                    &m.kept.name,
                    &format!(
                        "contact {} ({}) merged into {}: {} conversations, {} channel identities",
                        m.removed.id, m.removed.name, m.kept.id, m.conversations, m.identities
                    ),
                )?;
                Ok(m)
            })
            .await
    }

    /// Imports a CSV file: every row that passes the checks, in one transaction (a failure
    /// midway leaves nothing imported); the rest are reported with the reason.
    pub async fn import_contacts(&self, op: &Operator, file: Vec<u8>) -> Result<ImportReport> {
        let (rows, mut refused) = contact_csv::read(&file)?;
        let unread = refused.len();
        let (pid, uid) = (op.project_id, op.user_id);
        let mut report = self
            .store
            .write(move |c| {
                let mut report = ImportReport::default();
                for row in &rows {
                    // A savepoint per row: a row refused here (an unknown manager, a phone and
                    // an e-mail of two different contacts) leaves nothing of itself behind.
                    match crate::store::savepoint(c, |c| import_row(c, pid, row)) {
                        Ok(true) => report.created += 1,
                        Ok(false) => report.updated += 1,
                        Err(Error::Invalid(reason)) => report.refused.push(Refused {
                            line: row.line,
                            reason,
                        }),
                        Err(e) => return Err(e),
                    }
                }
                audit::record(
                    c,
                    pid,
                    Some(uid),
                    Action::ContactsImported,
                    "CSV",
                    &format!(
                        "{} created, {} updated, {} refused",
                        report.created,
                        report.updated,
                        report.refused.len() + unread
                    ),
                )?;
                Ok(report)
            })
            .await?;
        refused.append(&mut report.refused);
        refused.sort_by_key(|r| r.line);
        report.refused = refused;
        Ok(report)
    }
}
