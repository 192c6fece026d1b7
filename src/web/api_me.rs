//! REST API for the token owner's own notifications: what they are told under the bell, by
//! e-mail and in the messenger chat they linked. The same check as the profile's form.

use actix_web::{HttpResponse, get, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::State;
use super::auth::ApiUser;
use super::errors::ApiError;
use super::openapi::ErrorBody;
use crate::domain::event::Topic;

#[derive(Serialize, ToSchema)]
struct NotificationSettings {
    /// Topics told under the console's bell: team, assigned, replied, comment, mention,
    /// unanswered.
    bell: Vec<&'static str>,
    /// Topics also told by e-mail (the account's address).
    email: Vec<&'static str>,
    /// Topics also told in the linked messenger chat.
    messenger: Vec<&'static str>,
    /// Whether this server can send letters (PEREPISKA_SMTP_URL).
    email_available: bool,
    /// The channel whose bot the messenger notices go through; null until the member links a
    /// chat on their profile.
    messenger_channel: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NotificationChange {
    /// Left out: unchanged.
    bell: Option<Vec<String>>,
    email: Option<Vec<String>>,
    messenger: Option<Vec<String>>,
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn names(choice: &str) -> Vec<&'static str> {
    Topic::listed(choice)
        .into_iter()
        .map(Topic::as_str)
        .collect()
}

async fn settings_of(state: &State, who: &ApiUser) -> Result<NotificationSettings, ApiError> {
    let (pid, uid) = (who.project_id, who.user.id);
    let (user, channel) = state
        .inbox
        .store
        .read(move |c| {
            let user = crate::store::users::by_id(c, uid)?;
            let channel = match crate::store::members::messenger_link(c, pid, uid)?.0 {
                Some((id, _)) => Some(crate::store::channels::by_id(c, id)?.name),
                None => None,
            };
            Ok((user, channel))
        })
        .await?;
    Ok(NotificationSettings {
        bell: names(&user.notify),
        email: names(&user.notify_email),
        messenger: names(&user.notify_messenger),
        email_available: state.mailer.is_some(),
        messenger_channel: channel,
    })
}

/// What the token's owner is told, and where.
#[utoipa::path(
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = NotificationSettings),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
    )
)]
#[get("/me/notifications")]
pub(super) async fn get_notifications(
    state: web::Data<State>,
    who: ApiUser,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(settings_of(&state, &who).await?))
}

/// Changes what the token's owner is told; an unknown topic, or e-mail on a server without
/// mail, is refused and changes nothing.
#[utoipa::path(
    request_body = NotificationChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved; the settings as they are now", body = NotificationSettings),
        (status = 400, description = "An unknown topic, or e-mail without a mail server", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
    )
)]
#[put("/me/notifications")]
pub(super) async fn put_notifications(
    state: web::Data<State>,
    who: ApiUser,
    body: super::body::Json<NotificationChange>,
) -> Result<HttpResponse, ApiError> {
    let change = body.parse()?;
    let now = settings_of(&state, &who).await?;
    let pick = |asked: &Option<Vec<String>>, kept: &[&'static str]| -> Vec<String> {
        match asked {
            Some(v) => v.clone(),
            None => kept.iter().map(|s| s.to_string()).collect(),
        }
    };
    let (bell, email, messenger) = (
        pick(&change.bell, &now.bell),
        pick(&change.email, &now.email),
        pick(&change.messenger, &now.messenger),
    );
    let ways = super::profile_notify::ways(&state, &refs(&bell), &refs(&email), &refs(&messenger))?;
    let uid = who.user.id;
    state
        .inbox
        .store
        .write(move |c| {
            crate::store::users::set_notify(c, uid, &ways.bell, &ways.email, &ways.messenger)
        })
        .await?;
    Ok(HttpResponse::Ok().json(settings_of(&state, &who).await?))
}
