//! REST API v1 (bearer tokens). Errors are JSON: {"error": {"code", "message"}}.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::State;
use super::auth::ApiUser;
use super::errors::ApiError;
use super::openapi::{self as doc, ErrorBody};
use super::view::{self, MessageView, rfc3339};
use crate::domain::{Priority, Status};
use crate::error::Error;
use crate::i18n::Lang;
use crate::inbox::manage::Changes;
use crate::store::conversations::{self, Conversation, Filter, Tab};
use crate::store::{DbConn, channels, contacts, messages, teams, users};

/// The API's routes; each one's annotation goes into the OpenAPI document as it is registered.
pub fn scope() -> utoipa_actix_web::scope::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    utoipa_actix_web::scope(doc::BASE)
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .route("/openapi.json", web::get().to(doc::serve))
        .service(list)
        .service(get_one)
        .service(patch_one)
        .service(list_messages)
        .service(post_message)
        .service(post_template)
        .service(super::api_channels::list_channels)
        .service(super::api_channels::verify_channel)
        .service(super::api_channels::create_channel)
        .service(super::api_channels::get_channel)
        .service(super::api_channels::change_channel)
        .service(super::api_channels::put_distribution)
        .service(super::api_channels::delete_channel)
        .service(super::api_users::list_users)
        .service(super::api_users::create_user)
        .service(super::api_users::get_user)
        .service(super::api_users::change_user)
        .service(super::api_users::delete_user)
        .service(super::api_users::list_teams)
        .service(super::api_users::create_team)
        .service(super::api_users::change_team)
        .service(super::api_users::delete_team)
        .service(super::api_blacklist::list_blacklist)
        .service(super::api_blacklist::add_to_blacklist)
        .service(super::api_blacklist::remove_from_blacklist)
        .service(super::api_blacklist::withheld_messages)
        .service(super::api_canned::list_canned)
        .service(super::api_canned::create_canned)
        .service(super::api_canned::get_canned)
        .service(super::api_canned::change_canned)
        .service(super::api_canned::delete_canned)
        .service(super::api_canned::add_canned_files)
        .service(super::api_canned::remove_canned_file)
        .service(super::api_tags::list_tags)
        .service(super::api_tags::create_tag)
        .service(super::api_tags::change_tag)
        .service(super::api_tags::delete_tag)
        .service(super::api_contacts::list_contacts)
        .service(super::api_contacts::create_contact)
        .service(super::api_contacts::import_contacts)
        .service(super::api_contacts::get_contact)
        .service(super::api_contacts::change_contact)
        .service(super::api_contacts::merge_contacts)
        .service(super::api_me::get_notifications)
        .service(super::api_me::put_notifications)
        .service(super::api_reports::report_summary)
        .service(super::api_reports::report_timeseries)
        .service(super::api_reports::report_operators)
        .service(super::api_reports::get_report_settings)
        .service(super::api_reports::put_report_settings)
        .service(super::api_integrations::list_integrations)
        .service(super::api_integrations::create_integration)
        .service(super::api_integrations::get_integration)
        .service(super::api_integrations::change_integration)
        .service(super::api_integrations::delete_integration)
        .service(super::api_integrations::pause_integration)
        .service(super::api_integrations::resume_integration)
        .service(super::api_integrations::integration_deliveries)
        .service(super::api_integrations::retry_integration_delivery)
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::new(
                actix_web::http::StatusCode::NOT_FOUND,
                "not_found",
                "no such API endpoint; see /api/v1/openapi.json",
            ))
        }))
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

#[derive(Serialize, ToSchema)]
struct Named {
    id: i64,
    name: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Channel)]
struct ChannelOut {
    /// The channel's id as in channels.toml.
    id: String,
    #[schema(schema_with = doc::channel_kind_schema)]
    kind: crate::domain::ChannelKind,
    name: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Contact)]
struct ContactOut {
    #[schema(value_type = i64)]
    id: crate::domain::ContactId,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    vip: bool,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Conversation)]
struct ConversationOut {
    #[schema(value_type = i64)]
    id: crate::domain::ConversationId,
    /// The #N customers see.
    number: i64,
    subject: String,
    #[schema(schema_with = doc::status_schema)]
    status: crate::domain::Status,
    #[schema(schema_with = doc::priority_schema)]
    priority: crate::domain::Priority,
    unread: bool,
    assignee: Option<Named>,
    team: Option<Named>,
    channel: ChannelOut,
    contact: ContactOut,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    due_at: Option<String>,
    /// The customer's 1-5 rating, and what they wrote with it.
    #[schema(minimum = 1, maximum = 5)]
    rating: Option<i32>,
    rating_comment: Option<String>,
    #[schema(schema_with = doc::date_time_schema)]
    created_at: String,
    #[schema(schema_with = doc::date_time_schema)]
    updated_at: String,
    #[schema(schema_with = doc::date_time_schema)]
    last_message_at: String,
    #[schema(format = DateTime)]
    last_customer_at: Option<String>,
    #[schema(format = DateTime)]
    last_operator_at: Option<String>,
    /// Its tags' names, by name.
    tags: Vec<String>,
    /// What the project's CRMs made of it (leads, deals), with links; only on
    /// GET /conversations/{id}.
    #[serde(skip_serializing_if = "Option::is_none")]
    crm: Option<Vec<CrmLink>>,
}

/// A lead or a deal a CRM integration made of a conversation.
#[derive(Serialize, ToSchema)]
struct CrmLink {
    /// The integration's name.
    integration: String,
    /// bitrix24 or amocrm.
    kind: String,
    /// lead or deal.
    entity: String,
    entity_id: i64,
    /// Where a person opens it in the CRM.
    url: String,
}

#[derive(Serialize, ToSchema)]
struct ConversationPage {
    data: Vec<ConversationOut>,
    /// The page asked for (1 when reading by cursor).
    page: i64,
    per_page: i64,
    /// How many conversations match, counted up to 10,000 (then `total_exact` is false).
    total: i64,
    total_exact: bool,
    /// Pass as `cursor` for the next page; absent on the last one.
    next_cursor: Option<String>,
}

/// Totals are counted this far and no further.
const TOTAL_CAP: i64 = 10_000;
/// `page` reads by offset, which grows with the depth: beyond this many rows use `cursor`.
const MAX_OFFSET: i64 = 10_000;

#[derive(Serialize, ToSchema)]
struct MessageList {
    data: Vec<MessageView>,
}

#[derive(Serialize, ToSchema)]
struct CreatedId {
    /// The new message's id.
    id: i64,
}

fn conversation_out(conn: &mut DbConn, c: Conversation) -> Result<ConversationOut, Error> {
    let rows = conversations::decorate(conn, vec![c])?;
    conversations_out(conn, rows)?
        .pop()
        .ok_or_else(|| Error::internal("the conversation vanished"))
}

/// A page of rows as the API shows them: the contacts, the project's channels and teams are
/// read once for the page (a query per row made the list cost ~150 round trips).
fn conversations_out(
    conn: &mut DbConn,
    rows: Vec<conversations::Row>,
) -> Result<Vec<ConversationOut>, Error> {
    let Some(project_id) = rows.first().map(|r| r.conversation.project_id) else {
        return Ok(Vec::new());
    };
    let contact_ids: Vec<crate::domain::ContactId> =
        rows.iter().map(|r| r.conversation.contact_id).collect();
    let found = contacts::by_ids(conn, project_id, &contact_ids)?;
    let chans = channels::of_project(conn, project_id)?;
    let project_teams = teams::of_project(conn, project_id)?;
    rows.into_iter()
        .map(|r| {
            let c = r.conversation;
            let contact = found
                .iter()
                .find(|k| k.id == c.contact_id)
                .ok_or_else(|| Error::internal(format!("contact {} not found", c.contact_id)))?;
            let channel = chans
                .iter()
                .find(|ch| ch.id == c.channel_id)
                .ok_or_else(|| Error::internal(format!("channel {} not found", c.channel_id)))?;
            let assignee = c.assignee_id.map(|a| Named {
                id: a,
                name: r.assignee_name.clone().unwrap_or_default(),
            });
            let team = c.team_id.map(|t| Named {
                id: t,
                name: project_teams
                    .iter()
                    .find(|x| x.id == t)
                    .map(|x| x.name.clone())
                    .unwrap_or_default(),
            });
            Ok(ConversationOut {
                crm: None,
                tags: r.tags.into_iter().map(|t| t.name).collect(),
                team,
                id: c.id,
                number: c.number,
                subject: c.subject,
                status: c.status,
                priority: c.priority,
                unread: c.unread,
                assignee,
                channel: ChannelOut {
                    id: channel.key.clone(),
                    kind: channel.kind,
                    name: channel.name.clone(),
                },
                contact: ContactOut {
                    id: contact.id,
                    name: contact.name.clone(),
                    email: contact.email.clone(),
                    phone: contact.phone.clone(),
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
        })
        .collect()
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// One status.
    #[param(schema_with = doc::status_schema)]
    status: Option<String>,
    /// A user id, or "none" for unassigned.
    assignee: Option<String>,
    /// A channel id as in channels.toml.
    channel: Option<String>,
    /// Text, a contact's name, email or phone, or #number.
    q: Option<String>,
    /// A tag's name: only conversations with it (its newest 10,000).
    tag: Option<String>,
    /// From 1; only for the first 10,000 rows, deeper pages are read with `cursor`.
    page: Option<i64>,
    /// The previous page's `next_cursor`: the page after it, at the same cost at any depth.
    cursor: Option<String>,
    /// 1-100, default 25.
    per_page: Option<i64>,
}

/// List conversations, newest activity first.
#[utoipa::path(
    params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = ConversationPage),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "The settings level: no dialogs", body = ErrorBody),
    )
)]
#[get("/conversations")]
async fn list(
    state: web::Data<State>,
    who: ApiUser,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    who.require(crate::domain::Can::ReadDialogs)?;
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
    if (page - 1).saturating_mul(per_page) >= MAX_OFFSET {
        return Err(ApiError::bad_request(
            "page reaches only the first 10000 conversations: follow next_cursor with cursor= instead",
        ));
    }
    let after = match q.cursor.as_deref() {
        Some(_) if q.page.is_some() => {
            return Err(ApiError::bad_request("give page or cursor, not both"));
        }
        Some(c) => Some(conversations::Cursor::parse(c)?),
        None => None,
    };
    let channel_key = q.channel.clone();
    let project_id = who.project_id;
    let user_id = who.user.id;
    let text = q.q.clone();
    let tag_name = q.tag.clone();
    let out = state
        .inbox
        .store
        .read(move |conn| {
            let tag = match tag_name {
                Some(n) => crate::store::tags::named(conn, project_id, &[n])?
                    .first()
                    .map(|t| t.id),
                None => None,
            };
            let channel_id = match channel_key {
                Some(k) => Some(
                    channels::by_key(conn, &k)?
                        .filter(|c| c.project_id == project_id)
                        .ok_or_else(|| {
                            Error::invalid(format!("no channel \"{k}\" in this project"))
                        })?
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
                tag,
                after,
                offset: (page - 1) * per_page,
                limit: per_page,
            };
            let found = conversations::page(conn, &filter, Some(TOTAL_CAP))?;
            let total = found.total.unwrap_or(0);
            let data = conversations_out(conn, found.rows)?;
            Ok(ConversationPage {
                data,
                page,
                per_page,
                total,
                total_exact: total < TOTAL_CAP,
                next_cursor: found.next.map(|c| c.encode()),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// One conversation.
#[utoipa::path(
    params(("id" = i64, Path, description = "the conversation's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = ConversationOut),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "The settings level: no dialogs", body = ErrorBody),
        (status = 404, description = "No such conversation in this project", body = ErrorBody),
    )
)]
#[get("/conversations/{id}")]
async fn get_one(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<crate::domain::ConversationId>,
) -> Result<HttpResponse, ApiError> {
    who.require(crate::domain::Can::ReadDialogs)?;
    let (pid, id) = (who.project_id, path.into_inner());
    let out = state
        .inbox
        .store
        .read(move |conn| {
            let c = conversations::by_id(conn, pid, id)?;
            let mut out = conversation_out(conn, c)?;
            let links = crate::store::crm_links::of_conversation(conn, pid, id)?;
            out.crm = Some(
                links
                    .into_iter()
                    .map(|l| CrmLink {
                        integration: l.integration,
                        kind: l.kind,
                        entity: l.entity,
                        entity_id: l.entity_id,
                        url: l.url,
                    })
                    .collect(),
            );
            Ok::<_, Error>(out)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MessagesQuery {
    /// Only messages with a larger id.
    after: Option<i64>,
    /// 1-500, default 100.
    limit: Option<i64>,
}

/// Messages of a conversation in order.
#[utoipa::path(
    params(("id" = i64, Path, description = "the conversation's id"), MessagesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = MessageList),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "The settings level: no dialogs", body = ErrorBody),
        (status = 404, description = "No such conversation in this project", body = ErrorBody),
    )
)]
#[get("/conversations/{id}/messages")]
async fn list_messages(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<crate::domain::ConversationId>,
    q: web::Query<MessagesQuery>,
) -> Result<HttpResponse, ApiError> {
    who.require(crate::domain::Can::ReadDialogs)?;
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
    Ok(HttpResponse::Ok().json(MessageList { data: out }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewMessage {
    /// Up to 20 000 characters.
    #[serde(default)]
    text: Option<String>,
    /// Instead of `text`: a canned reply's shortcut (the caller's own first, then the
    /// project's), sent with its variables filled and its files.
    #[serde(default)]
    canned: Option<String>,
    /// An internal note the customer never sees.
    #[serde(default)]
    private: bool,
}

/// Reply to the customer, or add an internal note with private = true. The body has `text`
/// or `canned`.
#[utoipa::path(
    params(("id" = i64, Path, description = "the conversation's id")),
    request_body = NewMessage,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = MessageView),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an operator or admin (analytics and settings do not answer)", body = ErrorBody),
        (status = 404, description = "No such conversation in this project", body = ErrorBody),
        (status = 409, description = "Conflicts with the conversation as it is now", body = ErrorBody),
    )
)]
#[post("/conversations/{id}/messages")]
async fn post_message(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<crate::domain::ConversationId>,
    body: super::body::Json<NewMessage>,
) -> Result<HttpResponse, ApiError> {
    who.require(crate::domain::Can::Answer)?;
    state.inbox.ensure_visible(who.project_id, *path).await?;
    let id = path.into_inner();
    let body = body.parse()?;
    let mid = match (body.text, body.canned) {
        (Some(text), None) => {
            state
                .inbox
                .reply(&who.operator(), id, text, Vec::new(), body.private)
                .await?
        }
        (None, Some(shortcut)) => {
            state
                .inbox
                .reply_canned(
                    &who.operator(),
                    id,
                    crate::inbox::canned::Pick::Shortcut(shortcut),
                    None,
                    Vec::new(),
                    body.private,
                )
                .await?
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either text or canned, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "the message needs text, or canned with a canned reply's shortcut",
            ));
        }
    };
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
pub(super) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Only the fields sent change; null removes an assignee, a team or a due date.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Patch {
    #[schema(schema_with = doc::status_schema)]
    status: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    assignee_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    team_id: Option<Option<i64>>,
    #[schema(schema_with = doc::priority_schema)]
    priority: Option<String>,
    /// RFC 3339, e.g. 2026-12-01T15:00:00+03:00.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    due_at: Option<Option<String>>,
    /// Exactly these tags (names of the project's tags); [] takes them all off.
    tags: Option<Vec<String>>,
    /// A transfer's note, with assignee_id or team_id: an internal note in the thread, quoted
    /// in the notification the new assignee (or the team) gets.
    note: Option<String>,
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

/// Change status, assignee, team, priority, due date or tags; each change is recorded in the
/// thread. Giving the conversation to someone else (with an optional `note`) notifies them.
#[utoipa::path(
    params(("id" = i64, Path, description = "the conversation's id")),
    request_body = Patch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = ConversationOut),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an operator or admin (analytics and settings do not answer)", body = ErrorBody),
        (status = 404, description = "No such conversation in this project", body = ErrorBody),
        (status = 409, description = "Conflicts with the conversation as it is now", body = ErrorBody),
    )
)]
#[patch("/conversations/{id}")]
async fn patch_one(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<crate::domain::ConversationId>,
    body: super::body::Json<Patch>,
) -> Result<HttpResponse, ApiError> {
    who.require(crate::domain::Can::Answer)?;
    state.inbox.ensure_visible(who.project_id, *path).await?;
    let id = path.into_inner();
    let p = body.parse()?;
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
        tags: p.tags,
        note: p.note,
    };
    let conv = state.inbox.change(&who.operator(), id, changes).await?;
    let out = state
        .inbox
        .store
        .read(move |conn| conversation_out(conn, conv))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
    /// The approved template's name (a-z, 0-9, _).
    name: String,
    /// Its language code, e.g. ru or en_US.
    language: String,
    /// Up to 10 values for the template's placeholders.
    #[serde(default)]
    parameters: Vec<String>,
}

/// Send an approved WhatsApp template (the only way to write after the 24-hour window).
#[utoipa::path(
    params(("id" = i64, Path, description = "the conversation's id")),
    request_body = TemplateBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = CreatedId),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an operator or admin (analytics and settings do not answer)", body = ErrorBody),
        (status = 404, description = "No such conversation in this project", body = ErrorBody),
    )
)]
#[post("/conversations/{id}/template")]
async fn post_template(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<crate::domain::ConversationId>,
    body: super::body::Json<TemplateBody>,
) -> Result<HttpResponse, ApiError> {
    who.require(crate::domain::Can::Answer)?;
    state.inbox.ensure_visible(who.project_id, *path).await?;
    let b = body.parse()?;
    let template = crate::channels::Template {
        name: b.name,
        language: b.language,
        parameters: b.parameters,
    };
    let mid = state
        .inbox
        .send_template(&who.operator(), path.into_inner(), template)
        .await?;
    Ok(HttpResponse::Created().json(CreatedId { id: mid }))
}
