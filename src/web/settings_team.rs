//! Settings → Team (admins): the members with their access, teams, online state and last
//! visit; adding a member with an invitation link; a member's page to change access and
//! teams, switch them off (their console, sessions and tokens stop at once), hand over their
//! conversations, give them a password-reset link, or remove them from the project.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::State;
use super::auth::Console;
use super::errors::HtmlError;
use super::settings::field;
use crate::domain::{ALL_ROLES, Access, Can, Role};
use crate::error::Error;
use crate::i18n::Tr;
use crate::inbox::team::{self, MemberChange, NewMember};
use crate::store::access_links::{self, Purpose};
use crate::store::members::{self, Member};
use crate::store::{conversations, teams};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/settings/team", web::get().to(list))
        .route("/console/settings/team", web::post().to(add))
        .route("/console/settings/team/{id}", web::get().to(show))
        .route("/console/settings/team/{id}", web::post().to(save))
        .route(
            "/console/settings/team/{id}/active",
            web::post().to(set_active),
        )
        .route(
            "/console/settings/team/{id}/hand-over",
            web::post().to(hand_over),
        )
        .route(
            "/console/settings/team/{id}/reset-link",
            web::post().to(reset_link),
        )
        .route(
            "/console/settings/team/{id}/invite",
            web::post().to(reinvite),
        )
        .route("/console/settings/team/{id}/remove", web::post().to(remove));
}

type Pairs = web::Form<Vec<(String, String)>>;

/// Every value a form sent under one name (checkbox groups).
pub(super) fn all<'a>(form: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn ids(form: &[(String, String)], name: &str) -> Result<Vec<i64>, Error> {
    all(form, name)
        .into_iter()
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse()
                .map_err(|_| Error::invalid(format!("\"{v}\" is not a team")))
        })
        .collect()
}

pub struct RoleChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub on: bool,
}

pub struct TeamChoice {
    pub id: i64,
    pub name: String,
    pub on: bool,
}

pub(super) fn role_label(tr: Tr, r: Role) -> &'static str {
    tr.t(match r {
        Role::Admin => "role_admin",
        Role::Settings => "role_settings",
        Role::Analytics => "role_analytics",
        Role::Operator => "role_operator",
    })
}

fn role_choices(tr: Tr, access: Access) -> Vec<RoleChoice> {
    ALL_ROLES
        .iter()
        .map(|r| RoleChoice {
            key: r.as_str(),
            label: role_label(tr, *r),
            hint: tr.t(match r {
                Role::Admin => "role_admin_hint",
                Role::Settings => "role_settings_hint",
                Role::Analytics => "role_analytics_hint",
                Role::Operator => "role_operator_hint",
            }),
            on: access.has(*r),
        })
        .collect()
}

fn team_choices(all: &[teams::Team], on: &[i64]) -> Vec<TeamChoice> {
    all.iter()
        .map(|t| TeamChoice {
            id: t.id,
            name: t.name.clone(),
            on: on.contains(&t.id),
        })
        .collect()
}

pub struct MemberRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub access: String,
    pub teams: String,
    pub online: bool,
    pub last_seen: String,
    pub active: bool,
    pub invited: bool,
}

/// What the add form was filled with (kept when it is refused).
#[derive(Default)]
pub struct Draft {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
}

#[derive(Template)]
#[template(path = "console/team.html")]
struct TeamPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    admin: bool,
    q: String,
    rows: Vec<MemberRow>,
    roles: Vec<RoleChoice>,
    teams: Vec<TeamChoice>,
    draft: Draft,
    error: String,
    notice: String,
    /// The invitation just made: shown to the admin to pass on.
    invite_url: String,
    invite_until: String,
    /// Whether the invitation also went by e-mail.
    letter: String,
}

fn row(tr: Tr, tz: &str, all_teams: &[teams::Team], m: &Member) -> MemberRow {
    MemberRow {
        id: m.user.id,
        name: m.user.name.clone(),
        email: m.user.email.clone(),
        access: m
            .access
            .roles()
            .iter()
            .map(|r| role_label(tr, *r))
            .collect::<Vec<_>>()
            .join(", "),
        teams: all_teams
            .iter()
            .filter(|t| m.teams.contains(&t.id))
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        online: m.active && m.user.online,
        last_seen: m
            .user
            .last_seen_at
            .map(|t| super::view::local(t, tz))
            .unwrap_or_else(|| tr.t("never").to_string()),
        active: m.active,
        invited: team::invited(&m.user),
    }
}

/// Whether a member matches the search: any word of it in the name or the e-mail.
fn matches(m: &Member, q: &str) -> bool {
    let q = q.trim().to_lowercase();
    q.is_empty()
        || q.split_whitespace().all(|w| {
            m.user.name.to_lowercase().contains(w) || m.user.email.to_lowercase().contains(w)
        })
}

async fn team_page(state: &State, console: &Console, q: &str) -> Result<TeamPage, HtmlError> {
    let pid = console.project.id;
    let (everyone, all_teams) = state
        .inbox
        .store
        .read(move |c| Ok((members::everyone(c, pid)?, teams::of_project(c, pid)?)))
        .await?;
    let tr = console.tr;
    let tz = console.tz.clone();
    Ok(TeamPage {
        tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        admin: true,
        q: q.to_string(),
        rows: everyone
            .iter()
            .filter(|m| matches(m, q))
            .map(|m| row(tr, &tz, &all_teams, m))
            .collect(),
        roles: role_choices(tr, Access::of(&[Role::Operator])),
        teams: team_choices(&all_teams, &[]),
        draft: Draft::default(),
        error: String::new(),
        notice: String::new(),
        invite_url: String::new(),
        invite_until: String::new(),
        letter: String::new(),
    })
}

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    super::page(status).body(body)
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn list(
    state: web::Data<State>,
    console: Console,
    q: web::Query<SearchQuery>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    let q: String = q.q.clone().unwrap_or_default().chars().take(100).collect();
    let page = team_page(&state, &console, &q).await?;
    Ok(html(actix_web::http::StatusCode::OK, page.render()?))
}

/// A letter with a link (an invitation or a password reset), when SMTP is configured: None
/// without a mail server, Some(Err) with what it said when the letter did not go.
pub(super) async fn send_link(
    state: &State,
    tr: Tr,
    purpose: Purpose,
    project: &str,
    user: &crate::store::users::User,
    url: &str,
    until: &str,
) -> Option<Result<(), Error>> {
    let mailer = state.mailer.as_ref()?;
    let (subject, body) = match purpose {
        Purpose::Invite => ("letter_invite_subject", "letter_invite_body"),
        Purpose::Reset => ("letter_reset_subject", "letter_reset_body"),
    };
    let fill = |t: &str| {
        t.replace("{project}", project)
            .replace("{name}", &user.name)
            .replace("{url}", url)
            .replace("{until}", until)
    };
    let sent = mailer
        .send(&user.email, &fill(tr.t(subject)), &fill(tr.t(body)))
        .await;
    if let Err(e) = &sent {
        tracing::warn!(error = %e, "a letter with a link was not sent");
    }
    Some(sent)
}

/// The link a new member opens, on this server's public address.
pub(super) fn link_url(state: &State, req: &HttpRequest, path: &str, token: &str) -> String {
    format!("{}/{path}/{token}", super::widget::own_origin(state, req))
}

async fn add(
    req: HttpRequest,
    state: web::Data<State>,
    console: Console,
    form: Pairs,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    console.check_csrf(field(&form, "csrf"))?;
    let draft = Draft {
        email: field(&form, "email").trim().to_string(),
        first_name: field(&form, "first_name").trim().to_string(),
        last_name: field(&form, "last_name").trim().to_string(),
        phone: field(&form, "phone").trim().to_string(),
    };
    let chosen = all(&form, "role");
    let access = Access::from_names(&chosen);
    let team_ids = ids(&form, "team");
    let new = match (access, team_ids) {
        (Ok(access), Ok(teams)) => Ok(NewMember {
            email: draft.email.clone(),
            name: format!("{} {}", draft.first_name, draft.last_name),
            phone: Some(draft.phone.clone()),
            access,
            teams,
        }),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let pid = console.project.id;
    let done = match new {
        Ok(new) => {
            state
                .inbox
                .store
                .write(move |c| team::invite(c, pid, console.user.id, &new))
                .await
        }
        Err(e) => Err(e),
    };
    let mut page = team_page(&state, &console, "").await?;
    match done {
        Ok(invited) => {
            page.notice = format!(
                "{}: {}",
                console.tr.t("member_added"),
                invited.member.user.email
            );
            match (&invited.token, invited.expires_at) {
                (Some(token), Some(until)) => {
                    page.invite_url = link_url(&state, &req, "invite", token);
                    page.invite_until = super::view::local(until, &console.tz);
                    let letter = send_link(
                        &state,
                        console.tr,
                        Purpose::Invite,
                        &console.project.name,
                        &invited.member.user,
                        &page.invite_url,
                        &page.invite_until,
                    )
                    .await;
                    page.letter = match letter {
                        Some(Ok(())) => format!(
                            "{} {}",
                            console.tr.t("invite_sent"),
                            invited.member.user.email
                        ),
                        Some(Err(e)) => format!("{} {e}", console.tr.t("invite_not_sent")),
                        None => String::new(),
                    };
                }
                _ => {
                    page.notice =
                        format!("{} {}", page.notice, console.tr.t("already_has_password"));
                }
            }
            Ok(html(actix_web::http::StatusCode::OK, page.render()?))
        }
        Err(e) if e.is_caller_error() => {
            page.error = e.to_string();
            page.roles = role_choices(console.tr, Access::from_names(&chosen).unwrap_or_default());
            let on = ids(&form, "team").unwrap_or_default();
            page.teams
                .iter_mut()
                .for_each(|t| t.on = on.contains(&t.id));
            page.draft = draft;
            Ok(html(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                page.render()?,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

pub struct Peer {
    pub id: i64,
    pub name: String,
}

#[derive(Template)]
#[template(path = "console/member.html")]
struct MemberPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    admin: bool,
    id: i64,
    name: String,
    email: String,
    phone: String,
    active: bool,
    online: bool,
    last_seen: String,
    invited_until: String,
    roles: Vec<RoleChoice>,
    teams: Vec<TeamChoice>,
    active_conversations: usize,
    peers: Vec<Peer>,
    notice: String,
    error: String,
    /// A link just made (invitation or reset), shown this once.
    link: String,
    link_until: String,
}

async fn member_page(state: &State, console: &Console, id: i64) -> Result<MemberPage, HtmlError> {
    let pid = console.project.id;
    let (everyone, all_teams, open, invite) = state
        .inbox
        .store
        .read(move |c| {
            Ok((
                members::everyone(c, pid)?,
                teams::of_project(c, pid)?,
                conversations::active_of_assignee(c, pid, id)?.len(),
                access_links::pending_invite(c, id)?,
            ))
        })
        .await?;
    let m = everyone
        .iter()
        .find(|m| m.user.id == id)
        .ok_or_else(|| Error::not_found("no such member in this project"))?;
    let tr = console.tr;
    let tz = &console.tz;
    Ok(MemberPage {
        tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        admin: true,
        id,
        name: m.user.name.clone(),
        email: m.user.email.clone(),
        phone: m.user.phone.clone().unwrap_or_default(),
        active: m.active,
        online: m.active && m.user.online,
        last_seen: row(tr, tz, &all_teams, m).last_seen,
        invited_until: invite
            .filter(|_| team::invited(&m.user))
            .map(|t| super::view::local(t, tz))
            .unwrap_or_default(),
        roles: role_choices(tr, m.access),
        teams: team_choices(&all_teams, &m.teams),
        active_conversations: open,
        peers: everyone
            .iter()
            .filter(|p| {
                p.user.id != id
                    && p.active
                    && (p.access.has(Role::Operator) || p.access.has(Role::Admin))
            })
            .map(|p| Peer {
                id: p.user.id,
                name: p.user.name.clone(),
            })
            .collect(),
        notice: String::new(),
        error: String::new(),
        link: String::new(),
        link_until: String::new(),
    })
}

async fn show(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    let page = member_page(&state, &console, path.into_inner()).await?;
    Ok(html(actix_web::http::StatusCode::OK, page.render()?))
}

/// Renders the member's page after an action: its notice, or the refusal in place.
async fn after(
    state: &State,
    console: &Console,
    id: i64,
    done: Result<String, Error>,
) -> Result<HttpResponse, HtmlError> {
    let mut page = member_page(state, console, id).await?;
    let status = match done {
        Ok(notice) => {
            page.notice = notice;
            actix_web::http::StatusCode::OK
        }
        Err(e) if e.is_caller_error() => {
            page.error = e.to_string();
            super::errors::refusal_status(&e)
        }
        Err(e) => return Err(e.into()),
    };
    Ok(html(status, page.render()?))
}

/// One change to a member in one transaction; their open streams hear of it at once.
async fn apply(state: &State, console: &Console, id: i64, ch: MemberChange) -> Result<(), Error> {
    let (pid, by) = (console.project.id, console.user.id);
    state
        .inbox
        .store
        .write(move |c| team::change(c, pid, by, id, &ch))
        .await?;
    state.inbox.access_changed(id);
    Ok(())
}

async fn save(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: Pairs,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    console.check_csrf(field(&form, "csrf"))?;
    let id = path.into_inner();
    let change = match (Access::from_names(&all(&form, "role")), ids(&form, "team")) {
        (Ok(access), Ok(teams)) => Ok(MemberChange {
            access: Some(access),
            teams: Some(teams),
            ..MemberChange::default()
        }),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let done = match change {
        Ok(ch) => apply(&state, &console, id, ch)
            .await
            .map(|_| console.tr.t("saved").to_string()),
        Err(e) => Err(e),
    };
    after(&state, &console, id, done).await
}

async fn set_active(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: Pairs,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    console.check_csrf(field(&form, "csrf"))?;
    let id = path.into_inner();
    let active = field(&form, "active") == "1";
    let done = apply(
        &state,
        &console,
        id,
        MemberChange {
            active: Some(active),
            ..MemberChange::default()
        },
    )
    .await;
    let mut page = match done {
        Ok(()) => member_page(&state, &console, id).await?,
        Err(e) => return after(&state, &console, id, Err(e)).await,
    };
    page.notice = console.tr.t("saved").to_string();
    // Switched off with work still on them: the page says where to hand it.
    if !active && page.active_conversations > 0 {
        page.notice = format!(
            "{} {}: {} — {}",
            page.notice,
            console.tr.t("active_conversations"),
            page.active_conversations,
            console.tr.t("hand_them_over")
        );
    }
    Ok(html(actix_web::http::StatusCode::OK, page.render()?))
}

async fn hand_over(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: Pairs,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    console.check_csrf(field(&form, "csrf"))?;
    let id = path.into_inner();
    let to = match field(&form, "to") {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid(format!("\"{v}\" is not a member"))),
    };
    let done = match to {
        Ok(to) => state
            .inbox
            .hand_over(&console.operator(), id, to)
            .await
            .map(|n| format!("{} {n}", console.tr.t("handed_over"))),
        Err(e) => Err(e),
    };
    after(&state, &console, id, done).await
}

async fn reset_link(
    req: HttpRequest,
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: Pairs,
) -> Result<HttpResponse, HtmlError> {
    new_link(
        &req,
        &state,
        &console,
        path.into_inner(),
        &form,
        Purpose::Reset,
    )
    .await
}

async fn reinvite(
    req: HttpRequest,
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: Pairs,
) -> Result<HttpResponse, HtmlError> {
    new_link(
        &req,
        &state,
        &console,
        path.into_inner(),
        &form,
        Purpose::Invite,
    )
    .await
}

/// A fresh invitation or password-reset link for a member, shown on their page.
async fn new_link(
    req: &HttpRequest,
    state: &State,
    console: &Console,
    id: i64,
    form: &[(String, String)],
    purpose: Purpose,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    console.check_csrf(field(form, "csrf"))?;
    let (pid, by) = (console.project.id, console.user.id);
    let made = state
        .inbox
        .store
        .write(move |c| match purpose {
            Purpose::Reset => team::reset_link(c, pid, by, id),
            Purpose::Invite => team::reinvite(c, pid, by, id),
        })
        .await;
    let path = match purpose {
        Purpose::Reset => "reset",
        Purpose::Invite => "invite",
    };
    link_made(req, state, console, id, made, path).await
}

async fn link_made(
    req: &HttpRequest,
    state: &State,
    console: &Console,
    id: i64,
    made: Result<(String, chrono::NaiveDateTime), Error>,
    path: &str,
) -> Result<HttpResponse, HtmlError> {
    match made {
        Ok((token, until)) => {
            let mut page = member_page(state, console, id).await?;
            page.link = link_url(state, req, path, &token);
            page.link_until = super::view::local(until, &console.tz);
            Ok(html(actix_web::http::StatusCode::OK, page.render()?))
        }
        Err(e) => after(state, console, id, Err(e)).await,
    }
}

async fn remove(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: Pairs,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    console.check_csrf(field(&form, "csrf"))?;
    let (pid, id) = (console.project.id, path.into_inner());
    if field(&form, "confirm") != "yes" {
        return after(
            &state,
            &console,
            id,
            Err(Error::invalid(console.tr.t("remove_confirm"))),
        )
        .await;
    }
    let done = state
        .inbox
        .store
        .write(move |c| team::remove(c, pid, console.user.id, id))
        .await;
    match done {
        Ok(()) => {
            state.inbox.access_changed(id);
            let mut page = team_page(&state, &console, "").await?;
            page.notice = console.tr.t("member_removed").to_string();
            Ok(html(actix_web::http::StatusCode::OK, page.render()?))
        }
        Err(e) => after(&state, &console, id, Err(e)).await,
    }
}
