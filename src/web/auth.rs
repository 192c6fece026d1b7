//! Operator sign-in (argon2, HttpOnly session cookie backed by a revocable DB row), CSRF
//! tokens for every console form, and bearer tokens for the REST API.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;

use super::errors::{ApiError, HtmlError};
use super::{State, throttle};
use crate::crypto;
use crate::domain::{Access, Can};
use crate::error::Error;
use crate::i18n::{Lang, Tr};
use crate::inbox::manage::Operator;
use crate::store::members;
use crate::store::projects::Project;
use crate::store::users::{self, User};

pub const SESSION_COOKIE: &str = "perepiska_session";
const LOGIN_CSRF_COOKIE: &str = "perepiska_login_csrf";
const SESSION_DAYS: i64 = 14;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login_page))
        .service(
            web::resource("/login")
                // An e-mail and a password: nothing near the general form limit.
                .app_data(web::FormConfig::default().limit(8 * 1024))
                .route(web::post().to(login)),
        )
        .route("/logout", web::post().to(logout))
        .route("/lang/{code}", web::get().to(set_lang));
}

pub fn tr_of(req: &HttpRequest) -> Tr {
    let cookie = req.cookie("lang").map(|c| c.value().to_string());
    let al = req
        .headers()
        .get("Accept-Language")
        .and_then(|v| v.to_str().ok());
    Tr {
        lang: Lang::pick(cookie.as_deref(), al),
    }
}

/// A signed-in operator in their current project.
pub struct Console {
    pub user: User,
    pub session_id: i64,
    pub project: Project,
    pub access: Access,
    pub csrf: String,
    pub projects: Vec<(Project, Access)>,
    pub tr: Tr,
    /// The zone this member reads times in: their own, or the project's.
    pub tz: String,
}

impl Console {
    pub fn operator(&self) -> Operator {
        Operator {
            user_id: self.user.id,
            name: self.user.name.clone(),
            project_id: self.project.id,
        }
    }

    /// Refuses the request unless the member's access levels allow it (on every route).
    pub fn require(&self, what: Can) -> Result<(), HtmlError> {
        check(self.access, what).map_err(HtmlError::App)
    }

    pub fn check_csrf(&self, token: &str) -> Result<(), HtmlError> {
        if crypto::secure_eq(token, &self.csrf) {
            Ok(())
        } else {
            Err(HtmlError::Csrf)
        }
    }
}

impl FromRequest for Console {
    type Error = HtmlError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<State>>().cloned();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        let tr = tr_of(req);
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Err(HtmlError::LoginRequired);
            };
            let hash = crypto::sha256_hex(token.as_bytes());
            let found = state
                .inbox
                .store
                .read(move |conn| {
                    let Some((session, user)) = users::session(conn, &hash)? else {
                        return Ok(None);
                    };
                    let projects = members::projects_of(conn, user.id)?;
                    // The session's project, or the first one the user still belongs to.
                    let Some((project, role)) = projects
                        .iter()
                        .find(|(p, _)| p.id == session.project_id)
                        .or_else(|| projects.first())
                        .cloned()
                    else {
                        return Ok(None);
                    };
                    Ok(Some((session, user, project, role, projects)))
                })
                .await?;
            let Some((session, user, project, access, projects)) = found else {
                return Err(HtmlError::LoginRequired);
            };
            if stale(user.last_seen_at) {
                let id = user.id;
                if let Err(e) = state
                    .inbox
                    .store
                    .write(move |c| users::touch_seen(c, id))
                    .await
                {
                    tracing::warn!(error = %e, "the member's last visit was not recorded");
                }
            }
            // Their own language wins over the browser's.
            let tr = match user.language.as_deref() {
                Some(code) => Tr {
                    lang: Lang::pick(Some(code), None),
                },
                None => tr,
            };
            let tz = user
                .timezone
                .clone()
                .unwrap_or_else(|| project.timezone.clone());
            Ok(Console {
                tz,
                user,
                session_id: session.id,
                project,
                access,
                csrf: session.csrf_token,
                projects,
                tr,
            })
        })
    }
}

/// Whether a recorded moment is over a minute old: "last used" and "last seen" are kept to
/// the minute, one write a minute, not one per request.
fn stale(at: Option<chrono::NaiveDateTime>) -> bool {
    at.is_none_or(|t| crate::store::now() - t > chrono::Duration::seconds(60))
}

/// The one rule for every route: what each access level may do, and what a refusal says.
pub fn check(access: Access, what: Can) -> Result<(), Error> {
    if access.can(what) {
        return Ok(());
    }
    Err(Error::forbidden(match what {
        Can::ReadDialogs => "conversations are for operators, analysts and admins",
        Can::Answer => "answering and changing conversations is for operators and admins",
        Can::Reports => "reports are for analysts and admins",
        Can::Canned => "canned replies are for operators, the settings level and admins",
        Can::Settings => "the project's settings are for admins and the settings level",
        Can::Team => "the team and access levels are managed by admins",
    }))
}

/// A REST API caller: the token's user in the token's project.
pub struct ApiUser {
    pub user: User,
    pub project_id: crate::domain::ProjectId,
    /// The token owner's access in that project, read on every request.
    pub access: Access,
}

impl ApiUser {
    pub fn require(&self, what: Can) -> Result<(), ApiError> {
        check(self.access, what).map_err(ApiError::from)
    }

    pub fn operator(&self) -> Operator {
        Operator {
            user_id: self.user.id,
            name: self.user.name.clone(),
            project_id: self.project_id,
        }
    }
}

impl FromRequest for ApiUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<State>>().cloned();
        let header = req
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::from(Error::internal("no state")))?;
            let token = header
                .as_deref()
                .and_then(|h| h.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ApiError::unauthorized("send an API token as \"Authorization: Bearer <token>\" (create one with `perepiska token create --email E`)")
                })?
                .to_string();
            let hash = crypto::sha256_hex(token.as_bytes());
            let found = state
                .inbox
                .store
                .read(move |conn| {
                    let Some((user, token)) = users::api_token(conn, &hash)? else {
                        return Ok(None);
                    };
                    // A removed or switched-off member's tokens stop working.
                    Ok(members::access_in(conn, token.project_id, user.id)?
                        .map(|a| (user, token, a)))
                })
                .await?;
            let (user, token, access) =
                found.ok_or_else(|| ApiError::unauthorized("the API token is not valid"))?;
            let project_id = token.project_id;
            if stale(token.last_used_at) {
                let id = token.id;
                if let Err(e) = state
                    .inbox
                    .store
                    .write(move |c| users::touch_api_token(c, id))
                    .await
                {
                    tracing::warn!(error = %e, "the token's last use was not recorded");
                }
            }
            Ok(ApiUser {
                user,
                project_id,
                access,
            })
        })
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    csrf: String,
    email: String,
    error: bool,
    switched_off: bool,
}

pub(super) fn cookie<'a>(state: &State, name: &'a str, value: String) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies)
        .finish()
}

fn html(body: String) -> HttpResponse {
    super::page(actix_web::http::StatusCode::OK).body(body)
}

async fn login_page(req: HttpRequest, state: web::Data<State>) -> Result<HttpResponse, HtmlError> {
    let csrf = crypto::random_hex(16)?;
    let page = LoginPage {
        tr: tr_of(&req),
        csrf: csrf.clone(),
        email: String::new(),
        error: false,
        switched_off: false,
    };
    let mut resp = html(page.render()?);
    resp.add_cookie(&cookie(&state, LOGIN_CSRF_COOKIE, csrf))
        .map_err(|e| Error::internal(e.to_string()))?;
    Ok(resp)
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login(
    req: HttpRequest,
    state: web::Data<State>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, HtmlError> {
    let expected = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if expected.is_empty() || !crypto::secure_eq(&form.csrf, &expected) {
        return Err(HtmlError::Csrf);
    }
    let form = form.into_inner();
    // Nothing longer than an address can be is kept, echoed or hashed.
    let email: String = form.email.trim().to_lowercase().chars().take(254).collect();
    let password = form.password;
    let client = throttle::client_of(&req, &state.settings.trusted_proxies);
    let keys = throttle::Keys::new(&email, client);
    let refused =
        |status: actix_web::http::StatusCode, wait: u64| -> Result<HttpResponse, HtmlError> {
            let page = LoginPage {
                tr: tr_of(&req),
                csrf: expected.clone(),
                email: email.clone(),
                error: true,
                switched_off: false,
            };
            Ok(super::page(status)
                .insert_header(("Retry-After", wait.to_string()))
                .body(page.render()?))
        };
    if let Some(wait) = state.logins.attempt(&state.inbox.store, &keys).await? {
        return refused(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            wait.as_secs(),
        );
    }
    let Some(mut slot) = state.logins.check_slot().await else {
        return refused(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, 2);
    };
    let user = state
        .inbox
        .store
        .read({
            let email = email.clone();
            move |conn| users::by_email(conn, &email)
        })
        .await?;
    // Verify even for unknown emails so timing does not reveal which emails exist.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000".into());
    let ok = tokio::task::spawn_blocking(move || slot.verify(&password, &hash))
        .await
        .map_err(Error::from)?;
    let Some(user) = user.filter(|_| ok) else {
        return refused(actix_web::http::StatusCode::UNAUTHORIZED, 0).map(|mut r| {
            r.headers_mut().remove("Retry-After");
            r
        });
    };
    state.logins.succeeded(&state.inbox.store, &keys).await?;
    let user_id = user.id;
    // A session cookie brought to the sign-in is never reused: the new session gets a new id.
    if let Some(old) = req.cookie(SESSION_COOKIE) {
        let hash = crypto::sha256_hex(old.value().as_bytes());
        state
            .inbox
            .store
            .write(move |conn| users::delete_session(conn, &hash))
            .await?;
    }
    let Some(project) = state
        .inbox
        .store
        .read(move |conn| members::projects_of(conn, user_id))
        .await?
        .into_iter()
        .next()
        .map(|(p, _)| p.id)
    else {
        // Right password, but every project switched them off.
        let page = LoginPage {
            tr: tr_of(&req),
            csrf: expected.clone(),
            email: email.clone(),
            error: false,
            switched_off: true,
        };
        return Ok(super::page(actix_web::http::StatusCode::FORBIDDEN).body(page.render()?));
    };
    let c = start_session(&state, user_id, project).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/console"))
        .cookie(c)
        .finish())
}

/// A new session for a user in a project, as the cookie that carries it.
pub(super) async fn start_session(
    state: &State,
    user_id: i64,
    project_id: crate::domain::ProjectId,
) -> Result<Cookie<'static>, Error> {
    let token = crypto::random_hex(32)?;
    let csrf = crypto::random_hex(16)?;
    let hash = crypto::sha256_hex(token.as_bytes());
    state
        .inbox
        .store
        .write(move |conn| {
            users::create_session(
                conn,
                &hash,
                user_id,
                project_id,
                &csrf,
                chrono::Duration::days(SESSION_DAYS),
            )
        })
        .await?;
    let mut c = cookie(state, SESSION_COOKIE, token);
    c.set_max_age(actix_web::cookie::time::Duration::days(SESSION_DAYS));
    Ok(c)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

async fn logout(
    req: HttpRequest,
    state: web::Data<State>,
    console: Console,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(&form.csrf)?;
    if let Some(token) = req.cookie(SESSION_COOKIE) {
        let hash = crypto::sha256_hex(token.value().as_bytes());
        state
            .inbox
            .store
            .write(move |conn| users::delete_session(conn, &hash))
            .await?;
    }
    let mut gone = cookie(&state, SESSION_COOKIE, String::new());
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/login"))
        .cookie(gone)
        .finish())
}

async fn set_lang(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let code = if path.as_str() == "en" { "en" } else { "ru" };
    let back = req
        .headers()
        .get("Referer")
        .and_then(|v| v.to_str().ok())
        .filter(|r| r.contains("/console") || r.contains("/login"))
        .map(|r| {
            // Only a path on this server: never redirect elsewhere.
            r.find("/console")
                .or_else(|| r.find("/login"))
                .map(|i| r[i..].to_string())
                .unwrap_or_else(|| "/console".into())
        })
        .unwrap_or_else(|| "/console".into());
    HttpResponse::SeeOther()
        .insert_header(("Location", back))
        .cookie(
            Cookie::build("lang", code)
                .path("/")
                .max_age(actix_web::cookie::time::Duration::days(365))
                .finish(),
        )
        .finish()
}
