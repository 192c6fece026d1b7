//! The pages behind invitation and password-reset links: the holder chooses a password (typed
//! twice) and is signed in. A link works once and only until it expires; the token in the
//! address is the secret, so these forms need no other.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::State;
use super::auth::{self, tr_of};
use super::errors::HtmlError;
use super::settings::field;
use crate::error::Error;
use crate::i18n::{Lang, Tr};
use crate::inbox::team;
use crate::store::access_links::Purpose;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/invite/{token}")
            .app_data(web::FormConfig::default().limit(8 * 1024))
            .route(web::get().to(invite_page))
            .route(web::post().to(accept_invite)),
    )
    .service(
        web::resource("/reset/{token}")
            .app_data(web::FormConfig::default().limit(8 * 1024))
            .route(web::get().to(reset_page))
            .route(web::post().to(accept_reset)),
    )
    .service(
        web::resource("/password/forgot")
            .app_data(web::FormConfig::default().limit(8 * 1024))
            .route(web::get().to(forgot_page))
            .route(web::post().to(forgot)),
    );
}

#[derive(Template)]
#[template(path = "accept.html")]
struct AcceptPage {
    tr: Tr,
    invite: bool,
    name: String,
    email: String,
    action: String,
    error: String,
}

fn path_of(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Invite => "invite",
        Purpose::Reset => "reset",
    }
}

/// Link tokens are 48 hex digits; anything else is not looked up at all.
fn well_formed(token: &str) -> bool {
    token.len() == 48 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The form that asks the link's holder for a password, with a refusal when there is one.
async fn form_page(
    req: &HttpRequest,
    state: &State,
    token: &str,
    purpose: Purpose,
    error: Option<Error>,
) -> Result<HttpResponse, HtmlError> {
    if !well_formed(token) {
        return Err(team::link_gone(purpose).into());
    }
    let t = token.to_string();
    let user = state
        .inbox
        .store
        .read(move |c| team::link_holder(c, &t, purpose))
        .await?;
    let status = match error {
        Some(_) => actix_web::http::StatusCode::BAD_REQUEST,
        None => actix_web::http::StatusCode::OK,
    };
    let page = AcceptPage {
        tr: tr_of(req),
        invite: purpose == Purpose::Invite,
        name: user.name,
        email: user.email,
        action: format!("/{}/{token}", path_of(purpose)),
        error: error.map(|e| e.to_string()).unwrap_or_default(),
    };
    Ok(super::page(status)
        // The address holds the secret: it must not leak to other sites as a referrer.
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(page.render()?))
}

async fn page(
    req: HttpRequest,
    state: web::Data<State>,
    token: String,
    purpose: Purpose,
) -> Result<HttpResponse, HtmlError> {
    form_page(&req, &state, &token, purpose, None).await
}

async fn accept(
    req: HttpRequest,
    state: web::Data<State>,
    token: String,
    purpose: Purpose,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    if !well_formed(&token) {
        return Err(team::link_gone(purpose).into());
    }
    let (password, repeated) = (field(&form, "password"), field(&form, "repeat"));
    let problem = crate::bootstrap::check_password(password)
        .err()
        .or_else(|| (password != repeated).then(|| Error::invalid("the two passwords differ")));
    if problem.is_some() {
        return form_page(&req, &state, &token, purpose, problem).await;
    }
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || crate::crypto::hash_password(&password))
        .await
        .map_err(Error::from)??;
    let (user, project) = state
        .inbox
        .store
        .write(move |c| team::accept(c, &token, purpose, &hash))
        .await?;
    if purpose == Purpose::Reset {
        // Signed out everywhere: their open consoles hear it now.
        state.inbox.access_changed(user.id);
    }
    let cookie = auth::start_session(&state, user.id, project).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/console"))
        .cookie(cookie)
        .finish())
}

async fn invite_page(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<String>,
) -> Result<HttpResponse, HtmlError> {
    page(req, state, path.into_inner(), Purpose::Invite).await
}

async fn reset_page(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<String>,
) -> Result<HttpResponse, HtmlError> {
    page(req, state, path.into_inner(), Purpose::Reset).await
}

async fn accept_invite(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    accept(req, state, path.into_inner(), Purpose::Invite, form).await
}

async fn accept_reset(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    accept(req, state, path.into_inner(), Purpose::Reset, form).await
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    tr: Tr,
    /// Letters can be sent: the page asks for the address.
    mail: bool,
    sent: bool,
}

/// With a mail server, the address to send a reset link to; without one, whom to ask.
async fn forgot_page(req: HttpRequest, state: web::Data<State>) -> Result<HttpResponse, HtmlError> {
    let page = ForgotPage {
        tr: tr_of(&req),
        mail: state.mailer.is_some(),
        sent: false,
    };
    Ok(super::page(actix_web::http::StatusCode::OK).body(page.render()?))
}

/// Sends a reset link to a member who can sign in somewhere. The answer is the same whether
/// or not the address is known, so it tells a stranger nothing.
async fn forgot(
    req: HttpRequest,
    state: web::Data<State>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    let tr = tr_of(&req);
    if state.mailer.is_none() {
        return forgot_page(req, state).await;
    }
    let email: String = field(&form, "email")
        .trim()
        .to_lowercase()
        .chars()
        .take(254)
        .collect();
    let client = super::throttle::client_of(&req, &state.settings.trusted_proxies);
    // Counted like sign-in attempts: nobody floods an address with letters.
    let keys = super::throttle::Keys::new(&email, client);
    if let Some(wait) = state.logins.attempt(&state.inbox.store, &keys).await? {
        return Ok(super::page(actix_web::http::StatusCode::TOO_MANY_REQUESTS)
            .insert_header(("Retry-After", wait.as_secs().to_string()))
            .body(
                ForgotPage {
                    tr,
                    mail: true,
                    sent: true,
                }
                .render()?,
            ));
    }
    let e2 = email.clone();
    let found = state
        .inbox
        .store
        .write(move |c| {
            let Some(user) = crate::store::users::by_email(c, &e2)? else {
                return Ok(None);
            };
            let Some((project, _)) = crate::store::members::projects_of(c, user.id)?
                .into_iter()
                .next()
            else {
                return Ok(None);
            };
            let (token, until) = team::reset_link(c, project.id, user.id, user.id)?;
            Ok(Some((user, project, token, until)))
        })
        .await?;
    if let Some((user, project, token, until)) = found {
        let url = super::settings_team::link_url(&state, &req, "reset", &token);
        let lang = user.language.as_deref().map(|l| Lang::pick(Some(l), None));
        let letter_tr = lang.map(|lang| Tr { lang }).unwrap_or(tr);
        let until = super::view::local(until, &project.timezone);
        super::settings_team::send_link(
            &state,
            letter_tr,
            Purpose::Reset,
            &project.name,
            &user,
            &url,
            &until,
        )
        .await;
    }
    let page = ForgotPage {
        tr,
        mail: true,
        sent: true,
    };
    Ok(super::page(actix_web::http::StatusCode::OK).body(page.render()?))
}
