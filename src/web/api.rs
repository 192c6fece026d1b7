//! REST API v1 (bearer tokens). Errors are JSON: {"error": {"code", "message"}}.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Deserializer, Serialize};

use super::State;
use super::auth::ApiUser;
use super::errors::ApiError;
use super::view::{self, rfc3339};
use crate::domain::{Priority, Status};
use crate::error::Error;
use crate::i18n::Lang;
use crate::inbox::manage::Changes;
use crate::store::conversations::{self, Conversation, Filter, Tab};
use crate::store::{DbConn, channels, contacts, messages, teams, users};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .route("/openapi.json", web::get().to(openapi))
            .route("/conversations", web::get().to(list))
            .route("/conversations/{id}", web::get().to(get_one))
            .route("/conversations/{id}", web::patch().to(patch))
            .route("/conversations/{id}/messages", web::get().to(list_messages))
            .route("/conversations/{id}/messages", web::post().to(post_message))
            .route(
                "/conversations/{id}/template",
                web::post().to(post_template),
            )
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::new(
                    actix_web::http::StatusCode::NOT_FOUND,
                    "not_found",
                    "no such API endpoint; see /api/v1/openapi.json",
                ))
            })),
    );
}

/// A bad query string names what is wrong (an unknown parameter, a bad value) in the same
/// error shape as everything else.
fn query_error(err: actix_web::error::QueryPayloadError, req: &HttpRequest) -> actix_web::Error {
    let detail = match &err {
        actix_web::error::QueryPayloadError::Deserialize(e) => {
            e.to_string().replace("unknown field", "unknown parameter")
        }
        other => other.to_string(),
    };
    // A bad value's message does not say which parameter it was: show what was sent.
    let sent: String = req.query_string().chars().take(200).collect();
    ApiError::bad_request(format!("invalid query string \"{sent}\": {detail}")).into()
}

/// Malformed JSON bodies get the same error shape as everything else.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request(format!("invalid JSON body: {err}")).into()
}

#[derive(Serialize)]
struct Named {
    id: i64,
    name: String,
}

#[derive(Serialize)]
struct ChannelOut {
    id: String,
    kind: crate::domain::ChannelKind,
    name: String,
}

#[derive(Serialize)]
struct ContactOut {
    id: i64,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    vip: bool,
}

#[derive(Serialize)]
struct ConversationOut {
    id: i64,
    number: i64,
    subject: String,
    status: crate::domain::Status,
    priority: crate::domain::Priority,
    unread: bool,
    assignee: Option<Named>,
    team: Option<Named>,
    channel: ChannelOut,
    contact: ContactOut,
    due_at: Option<String>,
    /// The customer's 1-5 rating, and what they wrote with it.
    rating: Option<i32>,
    rating_comment: Option<String>,
    created_at: String,
    updated_at: String,
    last_message_at: String,
    last_customer_at: Option<String>,
    last_operator_at: Option<String>,
}

fn conversation_out(conn: &mut DbConn, c: Conversation) -> Result<ConversationOut, Error> {
    let contact = contacts::by_id(conn, c.project_id, c.contact_id)?;
    let channel = channels::by_id(conn, c.channel_id)?;
    let assignee = match c.assignee_id {
        Some(a) => Some(Named {
            id: a,
            name: users::by_id(conn, a)?.name,
        }),
        None => None,
    };
    let team = match c.team_id {
        Some(t) => Some(Named {
            id: t,
            name: teams::by_id(conn, c.project_id, t)?.name,
        }),
        None => None,
    };
    Ok(ConversationOut {
        team,
        id: c.id,
        number: c.number,
        subject: c.subject,
        status: c.status,
        priority: c.priority,
        unread: c.unread,
        assignee,
        channel: ChannelOut {
            id: channel.key,
            kind: channel.kind,
            name: channel.name,
        },
        contact: ContactOut {
            id: contact.id,
            name: contact.name,
            email: contact.email,
            phone: contact.phone,
            vip: contact.vip,
        },
        due_at: c.due_at.map(rfc3339),
        rating: c.rating,
        rating_comment: c.rating_comment,
        created_at: rfc3339(c.created_at),
        updated_at: rfc3339(c.updated_at),
        last_message_at: rfc3339(c.last_message_at),
        last_customer_at: c.last_customer_at.map(rfc3339),
        last_operator_at: c.last_operator_at.map(rfc3339),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    /// A user id, or "none" for unassigned.
    assignee: Option<String>,
    /// A channel id as in channels.toml.
    channel: Option<String>,
    q: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn list(
    state: web::Data<State>,
    who: ApiUser,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let status = q.status.as_deref().map(Status::parse).transpose()?;
    let assignee = match q.assignee.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some(v) => Some(Some(v.parse::<i64>().map_err(|_| {
            ApiError::bad_request("assignee must be a user id or \"none\"")
        })?)),
    };
    let per_page = q.per_page.unwrap_or(25);
    if !(1..=100).contains(&per_page) {
        return Err(ApiError::bad_request("per_page must be between 1 and 100"));
    }
    let page = q.page.unwrap_or(1);
    if page < 1 {
        return Err(ApiError::bad_request("page starts at 1"));
    }
    let channel_key = q.channel.clone();
    let project_id = who.project_id;
    let user_id = who.user.id;
    let text = q.q.clone();
    let out = state
        .inbox
        .store
        .read(move |conn| {
            let channel_id = match channel_key {
                Some(k) => Some(
                    channels::by_key(conn, &k)?
                        .filter(|c| c.project_id == project_id)
                        .ok_or_else(|| Error::invalid(format!("no channel \"{k}\" in this project")))?
                        .id,
                ),
                None => None,
            };
            let filter = Filter {
                project_id,
                tab: Tab::Any,
                user_id,
                channel_id,
                status,
                assignee,
                q: text,
                offset: (page - 1) * per_page,
                limit: per_page,
            };
            let total = conversations::count(conn, &filter)?;
            let rows = conversations::list(conn, &filter)?;
            let data = rows
                .into_iter()
                .map(|r| conversation_out(conn, r.conversation))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(serde_json::json!({ "data": data, "page": page, "per_page": per_page, "total": total }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn get_one(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (pid, id) = (who.project_id, path.into_inner());
    let out = state
        .inbox
        .store
        .read(move |conn| {
            let c = conversations::by_id(conn, pid, id)?;
            conversation_out(conn, c)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagesQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn list_messages(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
    q: web::Query<MessagesQuery>,
) -> Result<HttpResponse, ApiError> {
    let (pid, id) = (who.project_id, path.into_inner());
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 500"));
    }
    let out = state
        .inbox
        .store
        .read(move |conn| {
            let c = conversations::by_id(conn, pid, id)?;
            let rows = messages::thread(conn, c.id, after, false, limit)?;
            view::messages(conn, rows, Lang::En, "UTC")
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "data": out })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMessage {
    text: String,
    #[serde(default)]
    private: bool,
}

async fn post_message(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
    body: web::Json<NewMessage>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let body = body.into_inner();
    let mid = state
        .inbox
        .reply(&who.operator(), id, body.text, Vec::new(), body.private)
        .await?;
    let pid = who.project_id;
    let out = state
        .inbox
        .store
        .read(move |conn| {
            let m = messages::by_id(conn, pid, mid)?;
            let author = match m.author_id {
                Some(a) => Some(users::by_id(conn, a)?.name),
                None => None,
            };
            let mut v = view::messages(conn, vec![(m, author)], Lang::En, "UTC")?;
            v.pop().ok_or_else(|| Error::internal("message vanished"))
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// Tells "absent" (None) from "null" (Some(None)) in a PATCH body.
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    status: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    assignee_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    team_id: Option<Option<i64>>,
    priority: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    due_at: Option<Option<String>>,
}

fn parse_due(s: &str) -> Result<NaiveDateTime, Error> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|d| d.naive_utc())
        .map_err(|_| {
            Error::invalid(format!(
                "due_at \"{s}\" is not an RFC 3339 time such as 2026-12-01T15:00:00+03:00"
            ))
        })
}

async fn patch(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
    body: web::Json<Patch>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let p = body.into_inner();
    let changes = Changes {
        status: p.status.as_deref().map(Status::parse).transpose()?,
        assignee: p.assignee_id,
        team: p.team_id,
        priority: p.priority.as_deref().map(Priority::parse).transpose()?,
        due_at: match p.due_at {
            None => None,
            Some(None) => Some(None),
            Some(Some(s)) => Some(Some(parse_due(&s)?)),
        },
    };
    let conv = state.inbox.change(&who.operator(), id, changes).await?;
    let out = state
        .inbox
        .store
        .read(move |conn| conversation_out(conn, conv))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(include_str!("openapi.json"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
    name: String,
    language: String,
    #[serde(default)]
    parameters: Vec<String>,
}

/// An approved WhatsApp template, for customers whose 24-hour window has closed.
async fn post_template(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
    body: web::Json<TemplateBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let template = crate::channels::Template {
        name: b.name,
        language: b.language,
        parameters: b.parameters,
    };
    let mid = state
        .inbox
        .send_template(&who.operator(), path.into_inner(), template)
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "id": mid })))
}
