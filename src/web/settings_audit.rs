//! Settings → Audit log (admins): who changed which setting, channel, member or access, and
//! when, newest first, a page at a time.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::State;
use super::auth::Console;
use super::errors::HtmlError;
use crate::domain::Can;
use crate::domain::audit::Action;
use crate::i18n::Tr;
use crate::store::audit;

const PAGE: i64 = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/settings/audit", web::get().to(page));
}

pub struct Row {
    pub at: String,
    pub by: String,
    pub action: &'static str,
    pub subject: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    tr: Tr,
    project_name: String,
    admin: bool,
    rows: Vec<Row>,
    /// The id to page back from; 0 when this is the oldest page.
    older: i64,
}

fn label(tr: Tr, a: Action) -> &'static str {
    tr.t(match a {
        Action::MemberInvited => "audit_member_invited",
        Action::MemberAccess => "audit_member_access",
        Action::MemberSwitchedOff => "audit_member_switched_off",
        Action::MemberSwitchedOn => "audit_member_switched_on",
        Action::MemberRemoved => "audit_member_removed",
        Action::HandedOver => "audit_handed_over",
        Action::LinkMade => "audit_link_made",
        Action::TeamCreated => "audit_team_created",
        Action::TeamChanged => "audit_team_changed",
        Action::TeamDeleted => "audit_team_deleted",
        Action::ChannelConnected => "audit_channel_connected",
        Action::ChannelChanged => "audit_channel_changed",
        Action::ChannelDisconnected => "audit_channel_disconnected",
        Action::SettingsChanged => "audit_settings_changed",
        Action::Blacklisted => "audit_blacklisted",
        Action::Unblacklisted => "audit_unblacklisted",
        Action::ContactsMerged => "audit_contacts_merged",
        Action::ContactsImported => "audit_contacts_imported",
    })
}

#[derive(serde::Deserialize)]
struct Before {
    before: Option<i64>,
}

async fn page(
    state: web::Data<State>,
    console: Console,
    q: web::Query<Before>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    let (pid, before) = (console.project.id, q.before);
    let entries = state
        .inbox
        .store
        .read(move |c| audit::recent(c, pid, before, PAGE))
        .await?;
    let tr = console.tr;
    let older = if entries.len() as i64 == PAGE {
        entries.last().map(|e| e.id).unwrap_or(0)
    } else {
        0
    };
    let page = AuditPage {
        tr,
        project_name: console.project.name.clone(),
        admin: true,
        rows: entries
            .into_iter()
            .map(|e| Row {
                at: super::view::local(e.at, &console.tz),
                by: e.by.unwrap_or_else(|| "—".into()),
                action: label(tr, e.action),
                subject: e.subject,
                detail: e.detail,
            })
            .collect(),
        older,
    };
    Ok(super::page(actix_web::http::StatusCode::OK).body(page.render()?))
}
