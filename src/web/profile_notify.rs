//! The profile's notifications: which topics each way tells (the bell, e-mail, the
//! messenger), and the messenger link: a one-time code the member sends the project's
//! Telegram bot, after which their chosen notices come to that chat.

use actix_web::{HttpResponse, web};

use super::State;
use super::auth::Console;
use super::errors::HtmlError;
use super::settings::field;
use crate::domain::ChannelKind;
use crate::domain::event::Topic;
use crate::error::Error;
use crate::inbox::staff_link;
use crate::store::users::User;

/// How long a linking code works.
const CODE_LIFE_MINUTES: i64 = 15;

pub struct TopicRow {
    pub topic: &'static str,
    pub label: &'static str,
    pub bell: bool,
    pub email: bool,
    pub messenger: bool,
}

pub fn rows(user: &User) -> Vec<TopicRow> {
    Topic::ALL
        .iter()
        .map(|t| TopicRow {
            topic: t.as_str(),
            label: match t {
                Topic::Team => "notify_team",
                Topic::Assigned => "notify_assigned",
                Topic::Replied => "notify_replied",
                Topic::Comment => "notify_comment",
                Topic::Mention => "notify_mention",
                Topic::Unanswered => "notify_unanswered",
                Topic::Summary => "notify_summary",
            },
            bell: t.chosen_in(&user.notify),
            email: t.chosen_in(&user.notify_email),
            messenger: t.chosen_in(&user.notify_messenger),
        })
        .collect()
}

/// The stored choices of the three ways.
pub struct Ways {
    pub bell: String,
    pub email: String,
    pub messenger: String,
}

/// The one check of a member's choice, for the profile form and the API: known topics only,
/// and no letters chosen on a server that cannot send any.
pub fn ways(
    state: &State,
    bell: &[&str],
    email: &[&str],
    messenger: &[&str],
) -> Result<Ways, Error> {
    let list = |names: &[&str]| Topic::choice(names.iter().copied()).map_err(Error::invalid);
    let ways = Ways {
        bell: list(bell)?,
        email: list(email)?,
        messenger: list(messenger)?,
    };
    if !ways.email.is_empty() && state.mailer.is_none() {
        return Err(Error::invalid(
            "this server sends no mail (PEREPISKA_SMTP_URL is not set), so nothing can be told by e-mail",
        ));
    }
    Ok(ways)
}

pub struct Bot {
    pub name: String,
    /// t.me link that sends the code in one tap; empty until the bot's username is known.
    pub link: String,
}

#[derive(Default)]
pub struct LinkView {
    /// The channel whose bot the notices go through; empty when not linked.
    pub linked: String,
    pub bots: Vec<Bot>,
    /// A code just made (shown this once), and the command that carries it.
    pub code: String,
    pub command: String,
    /// An earlier code still works.
    pub waiting: bool,
}

pub async fn link_view(
    state: &State,
    console: &Console,
    code: Option<&str>,
) -> Result<LinkView, HtmlError> {
    let (pid, uid) = (console.project.id, console.user.id);
    let (link, waiting, channels) = state
        .inbox
        .store
        .read(move |c| {
            let (link, waiting) = crate::store::members::messenger_link(c, pid, uid)?;
            Ok((link, waiting, crate::store::channels::of_project(c, pid)?))
        })
        .await?;
    let linked = link
        .and_then(|(id, _)| channels.iter().find(|c| c.id == id))
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let start = code.map(|c| format!("{}{c}", staff_link::PREFIX));
    let bots = channels
        .iter()
        .filter(|c| c.kind == ChannelKind::Telegram && c.enabled && c.disconnected_at.is_none())
        .map(|c| Bot {
            name: c.name.clone(),
            link: start
                .as_deref()
                .and_then(|s| state.inbox.registry.by_id(c.id)?.adapter.deep_link(s))
                .unwrap_or_default(),
        })
        .collect();
    Ok(LinkView {
        linked,
        bots,
        command: start
            .as_deref()
            .map(|s| format!("/start {s}"))
            .unwrap_or_default(),
        code: code.unwrap_or_default().to_string(),
        waiting,
    })
}

/// A new one-time code, shown on the profile; it replaces any earlier one.
pub(super) async fn new_code(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(field(&form, "csrf"))?;
    let code = crate::crypto::random_hex(staff_link::CODE_LEN / 2)?;
    let (pid, uid, hash) = (
        console.project.id,
        console.user.id,
        staff_link::code_hash(&code),
    );
    let until = crate::store::now() + chrono::Duration::minutes(CODE_LIFE_MINUTES);
    state
        .inbox
        .store
        .write(move |c| crate::store::members::set_link_code(c, pid, uid, &hash, until))
        .await?;
    let mut p = super::profile::profile(&state, &console).await?;
    p.link = link_view(&state, &console, Some(&code)).await?;
    super::profile::html(actix_web::http::StatusCode::OK, p)
}

pub(super) async fn unlink(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(field(&form, "csrf"))?;
    let (pid, uid) = (console.project.id, console.user.id);
    state
        .inbox
        .store
        .write(move |c| crate::store::members::unlink_messenger(c, pid, uid))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/console/profile?saved=1#messenger"))
        .finish())
}
