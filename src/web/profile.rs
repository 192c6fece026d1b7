//! Everyone's own profile: the name customers see where a channel shows the operator's name,
//! a password change (the current one, the new one twice; other sessions signed out), and
//! personal API tokens (named, shown once, listed with their last use, revoked).

use crate::domain::event::Topic;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::State;
use super::auth::Console;
use super::errors::HtmlError;
use super::settings::{SavedQuery, field};
use crate::error::Error;
use crate::i18n::Tr;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/profile", web::get().to(page))
        .route("/console/profile/name", web::post().to(save_name))
        .route("/console/profile/password", web::post().to(change_password))
        .route(
            "/console/profile/preferences",
            web::post().to(save_preferences),
        )
        .route(
            "/console/profile/messenger/code",
            web::post().to(super::profile_notify::new_code),
        )
        .route(
            "/console/profile/messenger/unlink",
            web::post().to(super::profile_notify::unlink),
        )
        .route("/console/profile/tokens", web::post().to(create_token))
        .route(
            "/console/profile/tokens/{id}/revoke",
            web::post().to(revoke_token),
        );
}

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "console/profile.html")]
pub(super) struct ProfilePage {
    tr: Tr,
    csrf: String,
    project_name: String,
    name: String,
    email: String,
    notice: String,
    name_error: String,
    password_error: String,
    tokens: Vec<TokenRow>,
    /// A token just made: shown this once.
    new_token: String,
    token_error: String,
    phone: String,
    /// "", "ru" or "en".
    language: String,
    timezone: String,
    project_timezone: String,
    sound_conversation: bool,
    sound_message: bool,
    /// Each topic, and whether it is told under the bell, by e-mail, in the messenger.
    notify: Vec<super::profile_notify::TopicRow>,
    /// Whether this server can send letters at all.
    mail_on: bool,
    /// The messenger link: where notices go now, or how to make it.
    pub(super) link: super::profile_notify::LinkView,
    prefs_error: String,
    /// The picture's address, empty without one.
    avatar: String,
    pub(super) avatar_error: String,
}

pub(super) async fn profile(state: &State, console: &Console) -> Result<ProfilePage, HtmlError> {
    let (uid, pid, tr) = (console.user.id, console.project.id, console.tr);
    let when = |t: chrono::NaiveDateTime| format!("{} UTC", t.format("%Y-%m-%d %H:%M"));
    let tokens = state
        .inbox
        .store
        .read(move |c| crate::store::users::api_tokens_of(c, uid, pid))
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            created: when(t.created_at),
            last_used: t
                .last_used_at
                .map(when)
                .unwrap_or_else(|| tr.t("never").to_string()),
        })
        .collect();
    Ok(ProfilePage {
        tokens,
        new_token: String::new(),
        token_error: String::new(),
        tr: console.tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        name: console.user.name.clone(),
        email: console.user.email.clone(),
        notice: String::new(),
        name_error: String::new(),
        password_error: String::new(),
        phone: console.user.phone.clone().unwrap_or_default(),
        language: console.user.language.clone().unwrap_or_default(),
        timezone: console.user.timezone.clone().unwrap_or_default(),
        project_timezone: console.project.timezone.clone(),
        sound_conversation: console.user.sounds.split(',').any(|s| s == "conversation"),
        sound_message: console.user.sounds.split(',').any(|s| s == "message"),
        notify: super::profile_notify::rows(&console.user),
        mail_on: state.mailer.is_some(),
        link: super::profile_notify::link_view(state, console, None).await?,
        prefs_error: String::new(),
        avatar: console
            .user
            .avatar
            .as_deref()
            .map(|k| format!("/avatars/{k}"))
            .unwrap_or_default(),
        avatar_error: String::new(),
    })
}

pub(super) fn html(
    status: actix_web::http::StatusCode,
    p: ProfilePage,
) -> Result<HttpResponse, HtmlError> {
    Ok(super::page(status).body(p.render()?))
}

async fn page(
    state: web::Data<State>,
    console: Console,
    q: web::Query<SavedQuery>,
) -> Result<HttpResponse, HtmlError> {
    let mut p = profile(&state, &console).await?;
    if q.saved.is_some() {
        p.notice = console.tr.t("saved").to_string();
    }
    html(actix_web::http::StatusCode::OK, p)
}

fn saved() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", "/console/profile?saved=1"))
        .finish()
}

/// What a refused form says; other failures are the error page's.
fn refused(e: Error) -> Result<String, HtmlError> {
    match e {
        Error::Invalid(m) | Error::NotFound(m) => Ok(m),
        other => Err(HtmlError::App(other)),
    }
}

async fn save_name(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(field(&form, "csrf"))?;
    let name = field(&form, "name").to_string();
    let (uid, n) = (console.user.id, name.clone());
    match state
        .inbox
        .store
        .write(move |c| crate::bootstrap::rename_user(c, uid, &n))
        .await
    {
        Ok(()) => Ok(saved()),
        Err(e) => {
            let mut p = profile(&state, &console).await?;
            p.name = name;
            p.name_error = refused(e)?;
            html(actix_web::http::StatusCode::BAD_REQUEST, p)
        }
    }
}

async fn change_password(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(field(&form, "csrf"))?;
    let (current, new, repeated) = (
        field(&form, "current").to_string(),
        field(&form, "new").to_string(),
        field(&form, "repeat").to_string(),
    );
    let (uid, sid) = (console.user.id, console.session_id);
    match state
        .inbox
        .store
        .write(move |c| crate::bootstrap::change_password(c, uid, &current, &new, &repeated, sid))
        .await
    {
        Ok(_) => Ok(saved()),
        Err(e) => {
            let mut p = profile(&state, &console).await?;
            p.password_error = refused(e)?;
            html(actix_web::http::StatusCode::BAD_REQUEST, p)
        }
    }
}

/// Phone, console language, time zone and sounds, checked as a whole before anything is saved.
fn preferences(
    state: &State,
    form: &[(String, String)],
) -> Result<
    (
        crate::store::users::Preferences,
        super::profile_notify::Ways,
    ),
    Error,
> {
    let phone = crate::inbox::team::valid_phone(field(form, "phone"))?;
    let language = match field(form, "language") {
        "" => None,
        l @ ("ru" | "en") => Some(l.to_string()),
        other => return Err(Error::invalid(format!("unknown language \"{other}\""))),
    };
    let timezone = match field(form, "timezone").trim() {
        "" => None,
        tz if tz.parse::<chrono_tz::Tz>().is_ok() => Some(tz.to_string()),
        tz => {
            return Err(Error::invalid(format!(
                "unknown time zone \"{tz}\"; use an IANA name such as Europe/Moscow"
            )));
        }
    };
    let sounds = ["conversation", "message"]
        .into_iter()
        .filter(|k| field(form, &format!("sound_{k}")) == "1")
        .collect::<Vec<_>>()
        .join(",");
    let ticked = |way: &str| {
        Topic::ALL
            .iter()
            .map(|t| t.as_str())
            .filter(|t| field(form, &format!("{way}_{t}")) == "1")
            .collect::<Vec<_>>()
    };
    let ways = super::profile_notify::ways(
        state,
        &ticked("notify"),
        &ticked("email"),
        &ticked("messenger"),
    )?;
    Ok((
        crate::store::users::Preferences {
            phone,
            language,
            timezone,
            sounds,
        },
        ways,
    ))
}

async fn save_preferences(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(field(&form, "csrf"))?;
    match preferences(&state, &form) {
        Ok((prefs, ways)) => {
            let uid = console.user.id;
            state
                .inbox
                .store
                .write(move |c| {
                    crate::store::users::set_preferences(c, uid, &prefs)?;
                    crate::store::users::set_notify(
                        c,
                        uid,
                        &ways.bell,
                        &ways.email,
                        &ways.messenger,
                    )
                })
                .await?;
            Ok(saved())
        }
        Err(e) => {
            let mut p = profile(&state, &console).await?;
            p.prefs_error = refused(e)?;
            p.phone = field(&form, "phone").to_string();
            p.timezone = field(&form, "timezone").to_string();
            html(actix_web::http::StatusCode::BAD_REQUEST, p)
        }
    }
}

async fn create_token(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(field(&form, "csrf"))?;
    let name = field(&form, "name").to_string();
    let (uid, pid) = (console.user.id, console.project.id);
    let made = state
        .inbox
        .store
        .write(move |c| crate::bootstrap::issue_token(c, uid, pid, &name))
        .await;
    let mut p = profile(&state, &console).await?;
    match made {
        Ok(token) => {
            p.new_token = token;
            html(actix_web::http::StatusCode::CREATED, p)
        }
        Err(e) => {
            p.token_error = refused(e)?;
            html(actix_web::http::StatusCode::BAD_REQUEST, p)
        }
    }
}

async fn revoke_token(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(field(&form, "csrf"))?;
    let (uid, id) = (console.user.id, path.into_inner());
    let gone = state
        .inbox
        .store
        .write(move |c| crate::store::users::delete_api_token(c, uid, id))
        .await?;
    if gone == 0 {
        return Err(HtmlError::App(Error::not_found("no such token of yours")));
    }
    Ok(saved())
}
