//! The chat widget's endpoints (called cross-origin from the business's site by
//! static/widget.js) and the /demo page that embeds it.

use std::sync::Arc;

use actix_web::Either;
use actix_web::{HttpRequest, HttpResponse, Responder, web};
use askama::Template;
use serde::Deserialize;

use super::State;
use super::errors::ApiError;
use super::view;
use crate::channels::widget::{Widget, visitor_id};
use crate::channels::widget_look::Look;
use crate::channels::{RawRequest, WebhookError};
use crate::domain::MessageKind;
use crate::domain::event::SystemEvent;
use crate::error::Error;
use crate::i18n::Lang;
use crate::inbox::ChannelEntry;
use crate::store::{attachments, contacts, conversations, messages, projects};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/demo", web::get().to(demo))
        .route("/widget/{key}/config", web::get().to(config))
        .route("/widget/{key}/messages", web::post().to(post_message))
        .route("/widget/{key}/messages", web::get().to(history))
        .route("/widget/{key}/files", web::post().to(post_file))
        .route("/widget/{key}/contact", web::post().to(post_contact))
        .route("/widget/{key}/live", web::get().to(live))
        .route("/widget/{key}/read", web::post().to(read))
        .route("/widget/{key}/attachments/{id}", web::get().to(attachment))
        .route(
            "/widget/{tail:.*}",
            web::method(actix_web::http::Method::OPTIONS).to(preflight),
        );
}

fn cors(mut resp: HttpResponse) -> HttpResponse {
    let h = resp.headers_mut();
    h.insert(
        actix_web::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        actix_web::http::header::HeaderValue::from_static("*"),
    );
    resp
}

async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Access-Control-Allow-Methods", "GET, POST, OPTIONS"))
        .insert_header(("Access-Control-Allow-Headers", "Content-Type"))
        .insert_header(("Access-Control-Max-Age", "86400"))
        .finish()
}

pub fn webhook_error(e: WebhookError) -> ApiError {
    match e {
        WebhookError::Unauthorized(m) => ApiError::unauthorized(m),
        WebhookError::Forbidden(m) => {
            ApiError::new(actix_web::http::StatusCode::FORBIDDEN, "forbidden", m)
        }
        WebhookError::BadRequest(m) => ApiError::bad_request(m),
    }
}

fn widget_channel(state: &State, key: &str) -> Result<Arc<ChannelEntry>, ApiError> {
    state
        .inbox
        .registry
        .by_key(key)
        .filter(|e| e.channel.kind == crate::domain::ChannelKind::Widget)
        .ok_or_else(|| Error::not_found(format!("no chat widget \"{key}\"")).into())
}

/// The widget's look, borrowed from its adapter (every request reads it; nothing is copied).
fn look_of(entry: &ChannelEntry) -> &Look {
    static DEFAULT: std::sync::LazyLock<Look> = std::sync::LazyLock::new(Look::default);
    entry
        .adapter
        .as_any()
        .downcast_ref::<Widget>()
        .map(|w| &w.look)
        .unwrap_or(&DEFAULT)
}

/// The address this server's own pages are served from (the /demo page, the settings preview).
pub(super) fn own_origin(state: &State, req: &HttpRequest) -> String {
    match &state.settings.public_url {
        Some(u) => reqwest::Url::parse(u)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// The widget channel, if this request may use it: a page on a site the admin did not list
/// is refused (browsers always name the page's origin on cross-site requests), and so is a
/// visitor from a blocked address.
fn admitted(state: &State, req: &HttpRequest, key: &str) -> Result<Arc<ChannelEntry>, ApiError> {
    let entry = widget_channel(state, key)?;
    let look = look_of(&entry);
    if let Some(origin) = req.headers().get("Origin").and_then(|v| v.to_str().ok())
        && !look.allows_origin(origin)
        && origin != own_origin(state, req)
    {
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "origin_not_allowed",
            format!("this chat does not run on {origin}"),
        ));
    }
    let client = super::throttle::client_of(req, &state.settings.trusted_proxies);
    if client.is_some_and(|ip| look.blocks(ip)) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "blocked",
            "this chat is not available from your address",
        ));
    }
    Ok(entry)
}

/// Counts one message against the channel's limits per address and per visitor.
pub(super) fn within_rate(
    state: &State,
    req: &HttpRequest,
    key: &str,
    visitors: &[&str],
) -> Result<(), ApiError> {
    let client = super::throttle::client_of(req, &state.settings.trusted_proxies);
    state.rates.address(key, client)?;
    for v in visitors {
        state.rates.visitor(key, v)?;
    }
    Ok(())
}

async fn config(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ch = admitted(&state, &req, &path)?;
    let pid = ch.channel.project_id;
    let project = state
        .inbox
        .store
        .read(move |c| projects::by_id(c, pid))
        .await?;
    let rules = &ch.rules;
    let look = look_of(&ch);
    let online = if look.offline_form {
        state
            .inbox
            .store
            .read(move |c| crate::store::members::anyone_online(c, pid))
            .await?
    } else {
        true
    };
    Ok(cors(HttpResponse::Ok().json(serde_json::json!({
        "channel": ch.channel.key,
        "name": ch.channel.name,
        "company": project.name,
        "max_file_bytes": state.inbox.files.max_bytes,
        "greeting": rules.greeting,
        "greeting_contact_form": rules.contact_request_with("greeting"),
        "title": look.title.clone().unwrap_or(project.name),
        "color": look.color,
        "side": look.side,
        "launcher_text": look.launcher_text,
        "language": look.language,
        "auto_open_after": look.auto_open_after,
        "auto_open_on_mobile": look.auto_open_on_mobile,
        // Without an operator online, a visitor who has not written yet gets the offline form.
        "offline_form": look.offline_form && !online,
    }))))
}

#[derive(Deserialize)]
struct ContactForm {
    visitor: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

/// The visitor's answer to the contact request: checked against what the channel asks for,
/// then saved on their contact (created if they have not written yet).
async fn post_contact(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<String>,
    body: web::Json<ContactForm>,
) -> Result<HttpResponse, ApiError> {
    use crate::automation::rules::Ask;
    let ch = admitted(&state, &req, &path)?;
    let ext = visitor_id(&body.visitor).map_err(webhook_error)?;
    let Some(request) = ch.rules.contact_request.clone() else {
        return Err(ApiError::bad_request(
            "this chat asks for no contact details",
        ));
    };
    let field =
        |label: &str, value: &str, ask: Ask, max: usize| -> Result<Option<String>, ApiError> {
            let v = value.trim();
            match ask {
                Ask::Hidden => Ok(None),
                Ask::Required if v.is_empty() => {
                    Err(ApiError::bad_request(format!("{label} is required")))
                }
                _ if v.is_empty() => Ok(None),
                _ if v.chars().count() > max => {
                    Err(ApiError::bad_request(format!("{label} is too long")))
                }
                _ => Ok(Some(v.to_string())),
            }
        };
    let name = field("name", &body.name, request.name, 100)?;
    let phone = field("phone", &body.phone, request.phone, 32)?;
    if let Some(p) = &phone
        && p.chars().filter(char::is_ascii_digit).count() < 5
    {
        return Err(ApiError::bad_request(format!(
            "\"{p}\" is not a phone number"
        )));
    }
    let email = field("email", &body.email, request.email, 254)?;
    if let Some(e) = &email
        && crate::store::users::normalize_email(e).is_err()
    {
        return Err(ApiError::bad_request(format!(
            "\"{e}\" is not an email address"
        )));
    }
    if name.is_none() && phone.is_none() && email.is_none() {
        return Err(ApiError::bad_request("fill in at least one field"));
    }
    let hint = crate::store::contacts::ContactHint {
        name,
        phone: phone.map(|p| crate::channels::common::normalize_phone(&p)),
        email,
        language: None,
    };
    let (pid, cid) = (ch.channel.project_id, ch.channel.id);
    let conv = state
        .inbox
        .store
        .write(move |c| {
            let (contact, _) = contacts::find_or_create(c, pid, cid, &ext, &hint)?;
            contacts::set_given(c, contact.id, &hint)?;
            let open = conversations::latest_open_for(c, contact.id, cid)?;
            if let Some(conv) = &open {
                let given: Vec<&str> = [&hint.name, &hint.phone, &hint.email]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                messages::system(c, pid, conv.id, &format!("📇 {}", given.join(", ")))?;
            }
            Ok(open)
        })
        .await?;
    if let Some(c) = &conv {
        state.inbox.announce(c);
    }
    Ok(cors(
        HttpResponse::Ok().json(serde_json::json!({ "ok": true })),
    ))
}

async fn post_message(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let ch = admitted(&state, &req, &path)?;
    let raw = RawRequest {
        method: "POST".into(),
        query: req.query_string().to_string(),
        headers: Vec::new(),
        body: body.to_vec(),
        path_secret: None,
    };
    let offline = offline_request(&body)?;
    let parsed = ch.adapter.parse(&raw).map_err(|e| {
        state.inbox.metrics.webhook_error("widget");
        webhook_error(e)
    })?;
    let visitors: Vec<&str> = parsed
        .inbound
        .iter()
        .map(|i| i.external_user_id.as_str())
        .collect();
    within_rate(&state, &req, &path, &visitors)?;
    let resp = receive_one(&state, &ch, parsed.inbound).await?;
    if offline
        && !resp.duplicate
        && let Some(id) = resp.conversation_id
    {
        let pid = ch.channel.project_id;
        let conv = state
            .inbox
            .store
            .write(move |c| {
                let conv = conversations::by_id(c, pid, id)?;
                crate::thread::record(c, &conv, &SystemEvent::LeftOffline)?;
                Ok(conv)
            })
            .await?;
        state.inbox.announce(&conv);
    }
    Ok(cors(HttpResponse::Ok().json(resp)))
}

/// The offline form's message ("offline": true) must say who to answer and how: a name, and a
/// phone or an e-mail, besides the message itself.
fn offline_request(body: &[u8]) -> Result<bool, ApiError> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if v["offline"] != serde_json::json!(true) {
        return Ok(false);
    }
    let filled = |k: &str| v[k].as_str().is_some_and(|s| !s.trim().is_empty());
    if !filled("name") {
        return Err(ApiError::bad_request("name is required"));
    }
    if !filled("phone") && !filled("email") {
        return Err(ApiError::bad_request("a phone or an e-mail is required"));
    }
    if !filled("text") {
        return Err(ApiError::bad_request("the message is empty"));
    }
    Ok(true)
}

/// Commits the visitor's message and says where it went (only after the commit).
async fn receive_one(
    state: &State,
    ch: &Arc<ChannelEntry>,
    inbound: Vec<crate::channels::Inbound>,
) -> Result<crate::domain::Received, ApiError> {
    state
        .inbox
        .receive(ch, inbound)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::from(Error::internal("nothing received")))
}

#[derive(Deserialize)]
struct FileQuery {
    visitor: String,
    client_id: String,
    name: String,
}

async fn post_file(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<String>,
    q: web::Query<FileQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let ch = admitted(&state, &req, &path)?;
    // Check everything before writing anything to disk.
    visitor_id(&q.visitor).map_err(webhook_error)?;
    crate::channels::widget::check_client_id(&q.client_id).map_err(webhook_error)?;
    within_rate(&state, &req, &path, &[&q.visitor])?;
    let declared = req
        .headers()
        .get("Content-Type")
        .and_then(|v| v.to_str().ok());
    let file = state
        .inbox
        .files
        .save(body.to_vec(), &q.name, declared)
        .await?;
    let inbound = Widget::file_inbound(&q.visitor, &q.client_id, file).map_err(webhook_error)?;
    let r = receive_one(&state, &ch, vec![inbound]).await?;
    Ok(cors(HttpResponse::Ok().json(r)))
}

#[derive(Deserialize)]
struct VisitorQuery {
    visitor: String,
    #[serde(default)]
    after: i64,
}

/// The visitor's contact id, or None before their first message.
async fn visitor_contact(
    state: &State,
    ch: &ChannelEntry,
    token: &str,
) -> Result<Option<crate::domain::ContactId>, ApiError> {
    let ext = visitor_id(token).map_err(webhook_error)?;
    let cid = ch.channel.id;
    Ok(state
        .inbox
        .store
        .read(move |c| contacts::by_identity(c, cid, &ext))
        .await?)
}

async fn history(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<String>,
    q: web::Query<VisitorQuery>,
) -> Result<HttpResponse, ApiError> {
    let ch = admitted(&state, &req, &path)?;
    let Some(contact_id) = visitor_contact(&state, &ch, &q.visitor).await? else {
        return Ok(cors(
            HttpResponse::Ok().json(serde_json::json!({ "messages": [] })),
        ));
    };
    let (channel_id, after, pid) = (ch.channel.id, q.after, ch.channel.project_id);
    let msgs = state
        .inbox
        .store
        .read(move |c| {
            let p = projects::by_id(c, pid)?;
            let rows = messages::public_for_contact(c, contact_id, channel_id, after, 500)?;
            view::messages(c, rows, Lang::Ru, &p.timezone)
        })
        .await?;
    // Automatic messages that carry the contact request say so.
    let rules = ch.rules.clone();
    let msgs: Vec<serde_json::Value> = msgs
        .into_iter()
        .map(|m| {
            let mut v = serde_json::to_value(&m).unwrap_or_default();
            if m.kind == "operator" {
                for (which, timed) in [
                    ("unread_message", &rules.unread_message),
                    ("unanswered_message", &rules.unanswered_message),
                ] {
                    if timed.as_ref().is_some_and(|t| t.text == m.text)
                        && let Some(form) = rules.contact_request_with(which)
                    {
                        v["contact_form"] = serde_json::json!(form);
                    }
                }
            }
            v
        })
        .collect();
    Ok(cors(
        HttpResponse::Ok().json(serde_json::json!({ "messages": msgs })),
    ))
}

async fn live(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<String>,
    q: web::Query<VisitorQuery>,
) -> Result<impl Responder, ApiError> {
    let ch = admitted(&state, &req, &path)?;
    // A visitor who has not written yet has nothing to follow (widget.js connects after the
    // first message): 204 tells EventSource not to retry.
    let Some(contact_id) = visitor_contact(&state, &ch, &q.visitor).await? else {
        return Ok(Either::Left(cors(HttpResponse::NoContent().finish())));
    };
    let Some(admitted) = state.visitor_streams.admit(contact_id) else {
        return Err(ApiError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!(
                "at most {} live streams per visitor (and {} in all) are open",
                super::live::PER_VISITOR,
                super::live::ALL_VISITORS
            ),
        ));
    };
    Ok(Either::Right(
        super::live::visitor(&state, ch.channel.project_id, contact_id, admitted)
            .customize()
            .insert_header(("Access-Control-Allow-Origin", "*")),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadBody {
    visitor: String,
    /// The newest message id the visitor has on screen.
    up_to: i64,
}

/// The visitor has the chat open and sees the answers up to `up_to`: operators see them as
/// read.
async fn read(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<String>,
    body: super::body::Json<ReadBody>,
) -> Result<HttpResponse, ApiError> {
    let ch = admitted(&state, &req, &path)?;
    let body = body.parse()?;
    let Some(contact_id) = visitor_contact(&state, &ch, &body.visitor).await? else {
        return Err(Error::not_found("this visitor has written nothing here").into());
    };
    state
        .inbox
        .visitor_read(ch.channel.project_id, contact_id, ch.channel.id, body.up_to)
        .await?;
    Ok(cors(HttpResponse::NoContent().finish()))
}

async fn attachment(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<(String, i64)>,
    q: web::Query<VisitorQuery>,
) -> Result<HttpResponse, ApiError> {
    let (key, id) = path.into_inner();
    let ch = admitted(&state, &req, &key)?;
    let contact_id = visitor_contact(&state, &ch, &q.visitor)
        .await?
        .ok_or_else(|| ApiError::from(Error::not_found("attachment not found")))?;
    let pid = ch.channel.project_id;
    let a = state
        .inbox
        .store
        .read(move |c| {
            let a = attachments::by_id(c, pid, id)?;
            let m = messages::by_id(c, pid, a.message_id)?;
            let conv = conversations::by_id(c, pid, m.conversation_id)?;
            // Notes' files and other visitors' files are not theirs to read.
            if conv.contact_id != contact_id
                || !(m.kind == MessageKind::Customer || m.kind == MessageKind::Operator)
            {
                return Err(Error::not_found("attachment not found"));
            }
            Ok(a)
        })
        .await?;
    Ok(cors(super::console::serve_file(&state, &a).await?))
}

#[derive(Template)]
#[template(path = "demo.html")]
struct DemoPage {
    channel: String,
    company: String,
    origin: String,
}

#[derive(Deserialize)]
struct DemoQuery {
    channel: Option<String>,
}

async fn demo(
    req: HttpRequest,
    state: web::Data<State>,
    q: web::Query<DemoQuery>,
) -> Result<HttpResponse, ApiError> {
    let entry = match &q.channel {
        Some(k) => widget_channel(&state, k)?,
        None => {
            let first = state.inbox.store.read(projects::ensure_default).await?;
            state
                .inbox
                .registry
                .of_project(first.id)
                .into_iter()
                .find(|e| e.channel.kind == crate::domain::ChannelKind::Widget)
                .ok_or_else(|| ApiError::from(Error::not_found("no chat widget is configured")))?
        }
    };
    let pid = entry.channel.project_id;
    let project = state
        .inbox
        .store
        .read(move |c| projects::by_id(c, pid))
        .await?;
    let info = req.connection_info();
    let origin = match &state.settings.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => format!("{}://{}", info.scheme(), info.host()),
    };
    let page = DemoPage {
        channel: entry.channel.key.clone(),
        company: project.name,
        origin,
    };
    let body = page
        .render()
        .map_err(|e| ApiError::from(Error::internal(e.to_string())))?;
    // The widget's settings page shows /demo in a frame as the live preview.
    Ok(super::page(actix_web::http::StatusCode::OK)
        .insert_header((
            "Content-Security-Policy",
            super::CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'"),
        ))
        .insert_header(("X-Frame-Options", "SAMEORIGIN"))
        .body(body))
}
