//! The project's blacklist: blocking a contact (with a reason) and taking them off it. The
//! sidebar, Settings → Blacklist and the REST API all go through these; what a blacklisted
//! contact writes is withheld in `receive`.

use super::Inbox;
use super::manage::Operator;
use crate::domain::ContactId;
use crate::domain::audit::Action;
use crate::error::{Error, Result};
use crate::store::audit;
use crate::store::contacts::{self, Contact};

/// Why a contact is blacklisted, as the team will read it later.
pub fn valid_reason(reason: &str) -> Result<String> {
    let r = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    if r.is_empty() || r.chars().count() > 500 {
        return Err(Error::invalid(
            "say why the contact is blacklisted (1-500 characters)",
        ));
    }
    Ok(r)
}

impl Inbox {
    pub async fn blacklist(
        &self,
        op: &Operator,
        contact: ContactId,
        reason: &str,
    ) -> Result<Contact> {
        let reason = valid_reason(reason)?;
        let (pid, uid) = (op.project_id, op.user_id);
        self.store
            .write(move |c| {
                let existing = contacts::by_id(c, pid, contact)?;
                if existing.blacklisted_at.is_some() {
                    return Err(Error::Conflict(format!(
                        "{} is already on the blacklist",
                        existing.name
                    )));
                }
                let listed = contacts::set_blacklisted(c, pid, contact, Some((uid, &reason)))?;
                audit::record(
                    c,
                    pid,
                    Some(uid),
                    Action::Blacklisted,
                    &listed.name,
                    &reason,
                )?;
                Ok(listed)
            })
            .await
    }

    pub async fn unblacklist(&self, op: &Operator, contact: ContactId) -> Result<Contact> {
        let (pid, uid) = (op.project_id, op.user_id);
        self.store
            .write(move |c| {
                let existing = contacts::by_id(c, pid, contact)?;
                if existing.blacklisted_at.is_none() {
                    return Err(Error::not_found(format!(
                        "{} is not on the blacklist",
                        existing.name
                    )));
                }
                audit::record(c, pid, Some(uid), Action::Unblacklisted, &existing.name, "")?;
                contacts::set_blacklisted(c, pid, contact, None)
            })
            .await
    }
}
