//! Canned replies: who may change which, filling them for a conversation, and sending one
//! (with copies of its files, counted). The console's page, its reply box and the REST API all
//! go through these.

use super::Inbox;
use super::manage::Operator;
use crate::domain::audit::Action;
use crate::domain::canned::{self as rules, Draft, Scope, Values};
use crate::domain::{Access, Can, ConversationId};
use crate::error::{Error, Result};
use crate::store::attachments::StoredFile;
use crate::store::canned::{self, Canned};
use crate::store::{audit, contacts, conversations, projects};

/// Which canned reply an operator sends.
#[derive(Clone, Debug)]
pub enum Pick {
    Id(i64),
    Shortcut(String),
}

/// The project's replies are the admins' and the settings level's; a member's own are theirs.
fn may_change(op: &Operator, access: Access, scope: Scope, owner: Option<i64>) -> Result<()> {
    match scope {
        Scope::Project if access.can(Can::Settings) => Ok(()),
        Scope::Project => Err(Error::forbidden(
            "the project's canned replies are edited by admins and the settings level",
        )),
        Scope::Personal if owner.is_some_and(|o| o != op.user_id) => {
            Err(Error::not_found("no such canned reply"))
        }
        Scope::Personal if access.can(Can::Answer) => Ok(()),
        Scope::Personal => Err(Error::forbidden(
            "own canned replies are for members who answer customers",
        )),
    }
}

/// Whether this member may change this reply: asked before a request's files are read, so a
/// refused caller's upload is never stored.
pub fn may_change_reply(op: &Operator, access: Access, c: &Canned) -> Result<()> {
    may_change(op, access, c.scope(), c.owner_id)
}

/// What one can see of another member's own reply: nothing.
fn visible(op: &Operator, c: &Canned) -> Result<()> {
    match c.owner_id {
        Some(o) if o != op.user_id => Err(Error::not_found(format!("no canned reply {}", c.id))),
        _ => Ok(()),
    }
}

impl Inbox {
    /// The project's canned replies and the operator's own, most used first.
    pub async fn canned_replies(&self, op: &Operator) -> Result<Vec<Canned>> {
        let (pid, uid) = (op.project_id, op.user_id);
        self.store
            .read(move |c| canned::visible_to(c, pid, uid))
            .await
    }

    pub async fn canned_reply(&self, op: &Operator, id: i64) -> Result<Canned> {
        let pid = op.project_id;
        let c = self.store.read(move |c| canned::by_id(c, pid, id)).await?;
        visible(op, &c)?;
        Ok(c)
    }

    /// A new canned reply with files already saved (given back to storage if it is refused).
    pub async fn create_canned(
        &self,
        op: &Operator,
        access: Access,
        scope: Scope,
        draft: Draft,
        files: Vec<StoredFile>,
    ) -> Result<Canned> {
        let r = self
            .store_canned(op, access, scope, draft, files.clone())
            .await;
        if r.is_err() {
            self.files.discard(&files).await;
        }
        r
    }

    async fn store_canned(
        &self,
        op: &Operator,
        access: Access,
        scope: Scope,
        draft: Draft,
        files: Vec<StoredFile>,
    ) -> Result<Canned> {
        may_change(op, access, scope, None)?;
        too_many(&files)?;
        let (pid, uid) = (op.project_id, op.user_id);
        let owner = (scope == Scope::Personal).then_some(uid);
        self.store
            .write(move |c| {
                let made = canned::create(c, pid, owner, &draft, &files)?;
                if scope == Scope::Project {
                    audit::record(
                        c,
                        pid,
                        Some(uid),
                        Action::SettingsChanged,
                        "canned reply",
                        &format!("/{} added", made.shortcut),
                    )?;
                }
                Ok(made)
            })
            .await
    }

    /// Changes a canned reply: `files` is its whole new list (None keeps the files it has);
    /// files it no longer holds are removed from storage once that is committed.
    pub async fn update_canned(
        &self,
        op: &Operator,
        access: Access,
        id: i64,
        draft: Draft,
        files: Option<Vec<StoredFile>>,
    ) -> Result<Canned> {
        let existing = self.canned_reply(op, id).await?;
        let added: Vec<StoredFile> = match &files {
            Some(new) => {
                let old = existing.files();
                new.iter().filter(|f| !old.contains(f)).cloned().collect()
            }
            None => Vec::new(),
        };
        let r = self.store_update(op, access, existing, draft, files).await;
        match r {
            Ok((saved, dropped)) => {
                self.files.discard(&dropped).await;
                Ok(saved)
            }
            Err(e) => {
                self.files.discard(&added).await;
                Err(e)
            }
        }
    }

    async fn store_update(
        &self,
        op: &Operator,
        access: Access,
        existing: Canned,
        draft: Draft,
        files: Option<Vec<StoredFile>>,
    ) -> Result<(Canned, Vec<StoredFile>)> {
        may_change(op, access, existing.scope(), existing.owner_id)?;
        let old = existing.files();
        let files = files.unwrap_or_else(|| old.clone());
        too_many(&files)?;
        let dropped: Vec<StoredFile> = old.into_iter().filter(|f| !files.contains(f)).collect();
        let (pid, uid) = (op.project_id, op.user_id);
        let saved = self
            .store
            .write(move |c| {
                let saved = canned::update(c, &existing, &draft, &files)?;
                if existing.scope() == Scope::Project {
                    audit::record(
                        c,
                        pid,
                        Some(uid),
                        Action::SettingsChanged,
                        "canned reply",
                        &format!("/{} changed", saved.shortcut),
                    )?;
                }
                Ok(saved)
            })
            .await?;
        Ok((saved, dropped))
    }

    pub async fn delete_canned(&self, op: &Operator, access: Access, id: i64) -> Result<()> {
        let existing = self.canned_reply(op, id).await?;
        may_change(op, access, existing.scope(), existing.owner_id)?;
        let files = existing.files();
        let (pid, uid) = (op.project_id, op.user_id);
        self.store
            .write(move |c| {
                canned::delete(c, existing.id)?;
                if existing.scope() == Scope::Project {
                    audit::record(
                        c,
                        pid,
                        Some(uid),
                        Action::SettingsChanged,
                        "canned reply",
                        &format!("/{} deleted", existing.shortcut),
                    )?;
                }
                Ok(())
            })
            .await?;
        self.files.discard(&files).await;
        Ok(())
    }

    /// The operator's canned replies with their variables filled for this conversation.
    pub async fn canned_filled(
        &self,
        op: &Operator,
        conversation_id: ConversationId,
    ) -> Result<Vec<(Canned, String)>> {
        let (pid, uid, me) = (op.project_id, op.user_id, op.name.clone());
        self.store
            .read(move |c| {
                let all = canned::visible_to(c, pid, uid)?;
                let fill = filler(c, pid, conversation_id, &me)?;
                Ok(all
                    .into_iter()
                    .map(|r| {
                        let text = fill(&r.text);
                        (r, text)
                    })
                    .collect())
            })
            .await
    }

    /// Sends a canned reply: `text` as the operator edited it (None: the reply's own text
    /// with its variables filled), with copies of its files after any of the operator's own,
    /// and counts the use.
    pub async fn reply_canned(
        &self,
        op: &Operator,
        conversation_id: ConversationId,
        pick: Pick,
        text: Option<String>,
        mut files: Vec<StoredFile>,
        private: bool,
    ) -> Result<i64> {
        // The operator's own files and the copies made so far go back to storage on a refusal.
        let (id, filled) = match self
            .pick_canned(op, conversation_id, pick, &mut files)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                self.files.discard(&files).await;
                return Err(e);
            }
        };
        let mid = self
            .reply(op, conversation_id, text.unwrap_or(filled), files, private)
            .await?;
        if let Err(e) = self.store.write(move |c| canned::used(c, id)).await {
            // The message is sent; only the statistic is short of one.
            tracing::warn!(error = %e, canned = id, "canned reply's use not counted");
        }
        Ok(mid)
    }

    /// The chosen reply's id and text filled for the conversation; copies of its files are
    /// added to `files`.
    async fn pick_canned(
        &self,
        op: &Operator,
        conversation_id: ConversationId,
        pick: Pick,
        files: &mut Vec<StoredFile>,
    ) -> Result<(i64, String)> {
        let (pid, uid, me) = (op.project_id, op.user_id, op.name.clone());
        let (canned, filled) = self
            .store
            .read(move |c| {
                let found = match &pick {
                    Pick::Id(id) => Some(canned::by_id(c, pid, *id)?),
                    Pick::Shortcut(s) => canned::by_shortcut(c, pid, uid, &rules::shortcut(s)?)?,
                };
                let Some(found) = found else {
                    return Ok(None);
                };
                let filled = filler(c, pid, conversation_id, &me)?(&found.text);
                Ok(Some((found, filled)))
            })
            .await?
            .ok_or_else(|| Error::not_found("no canned reply with that shortcut"))?;
        visible(op, &canned)?;
        for f in canned.files() {
            files.push(self.files.copy(&f).await?);
        }
        Ok((canned.id, filled))
    }
}

fn too_many(files: &[StoredFile]) -> Result<()> {
    if files.len() > rules::MAX_FILES {
        return Err(Error::invalid(format!(
            "a canned reply holds at most {} files",
            rules::MAX_FILES
        )));
    }
    Ok(())
}

/// Fills variables for one conversation, as seen by this operator.
fn filler(
    c: &mut crate::store::DbConn,
    pid: crate::domain::ProjectId,
    conversation_id: ConversationId,
    operator: &str,
) -> Result<impl Fn(&str) -> String + use<>> {
    let conv = conversations::by_id(c, pid, conversation_id)?;
    let contact = contacts::by_id(c, pid, conv.contact_id)?;
    let project = projects::by_id(c, pid)?;
    let operator = operator.to_string();
    Ok(move |text: &str| {
        rules::fill(
            text,
            &Values {
                name: &contact.name,
                number: conv.number,
                operator: &operator,
                project: &project.name,
            },
        )
    })
}
