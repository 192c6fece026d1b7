//! The project's tags: added, renamed, recoloured and deleted from Settings → Tags and the REST
//! API (both check the settings level first). Putting tags on a conversation is a change like
//! any other (`manage::Changes::tags`).

use super::Inbox;
use super::manage::Operator;
use crate::domain::TagColour;
use crate::domain::audit::Action;
use crate::error::Result;
use crate::store::audit;
use crate::store::tags::{self, Tag};

impl Inbox {
    pub async fn create_tag(&self, op: &Operator, name: &str, colour: TagColour) -> Result<Tag> {
        let name = crate::domain::tag::name(name)?;
        let (pid, uid) = (op.project_id, op.user_id);
        self.store
            .write(move |c| {
                let t = tags::create(c, pid, &name, colour)?;
                audit::record(
                    c,
                    pid,
                    Some(uid),
                    Action::SettingsChanged,
                    "tag",
                    &format!("{} added", t.name),
                )?;
                Ok(t)
            })
            .await
    }

    pub async fn update_tag(
        &self,
        op: &Operator,
        id: i64,
        name: &str,
        colour: TagColour,
    ) -> Result<Tag> {
        let name = crate::domain::tag::name(name)?;
        let (pid, uid) = (op.project_id, op.user_id);
        self.store
            .write(move |c| {
                let old = tags::by_id(c, pid, id)?;
                let t = tags::update(c, &old, &name, colour)?;
                let what = if old.name == t.name {
                    format!("{} changed", t.name)
                } else {
                    format!("{} → {}", old.name, t.name)
                };
                audit::record(c, pid, Some(uid), Action::SettingsChanged, "tag", &what)?;
                Ok(t)
            })
            .await
    }

    pub async fn delete_tag(&self, op: &Operator, id: i64) -> Result<Tag> {
        let (pid, uid) = (op.project_id, op.user_id);
        self.store
            .write(move |c| {
                let t = tags::by_id(c, pid, id)?;
                tags::delete(c, t.id)?;
                audit::record(
                    c,
                    pid,
                    Some(uid),
                    Action::SettingsChanged,
                    "tag",
                    &format!("{} deleted", t.name),
                )?;
                Ok(t)
            })
            .await
    }
}
