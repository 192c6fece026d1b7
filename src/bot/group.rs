//! Group chats: "/config" binds a group to a team; a mention makes a request for its author
//! if they have registered in a private chat.

use super::BotCtx;
use super::flows::{self, Incoming};
use super::replies::Replies;
use crate::channels::{Inbound, InboundEvent};
use crate::domain::{Press, Received};
use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::i18n::customer::{fill, t};
use crate::store::{DbConn, channels, contacts, conversations, teams};
use crate::thread;

const GROUP_TEAM: &str = "group_team:";

/// A message in a group: "/config" offers teams to route the group's requests to; a mention
/// of at least 10 characters (or a mention replying to someone's message, whose text becomes
/// the body) makes a request for its author.
pub(super) fn message(conn: &mut DbConn, ctx: &BotCtx, inbound: &Inbound) -> Result<Received> {
    let InboundEvent::Group {
        chat,
        text,
        command,
        reply_body,
        bot_handle,
    } = &inbound.event
    else {
        return Ok(Received::default());
    };
    let lang = Lang::of(inbound.contact.language.as_deref());
    let mut to_group = Replies::new(ctx, chat.as_str(), lang);
    if command.as_deref() == Some("config") {
        let teams = teams::of_project(conn, ctx.project_id)?;
        if teams.is_empty() {
            to_group.say(t(lang, "no_teams"));
        } else {
            let choices = teams
                .into_iter()
                .map(|tm| {
                    (
                        tm.name,
                        Press::BindTeam {
                            chat: chat.clone(),
                            team: tm.id,
                        },
                    )
                })
                .collect();
            to_group.ask(t(lang, "choose_team"), choices);
        }
        to_group.flush(conn)?;
        return Ok(Received::default());
    }
    let body = reply_body
        .as_deref()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or(text)
        .trim();
    if body.chars().count() < 10 {
        return Ok(Received::default());
    }
    let author = inbound.contact.name.clone().unwrap_or_default();
    let Some(contact_id) = contacts::by_identity(conn, ctx.channel_id, &inbound.external_user_id)?
    else {
        to_group.say(format!(
            "{} {bot_handle}",
            fill(lang, "group_register", 0, &author)
        ));
        to_group.flush(conn)?;
        return Ok(Received::default());
    };
    let contact = contacts::by_id(conn, ctx.project_id, contact_id)?;
    let m = Incoming {
        text: body.to_string(),
        files: Vec::new(),
        dedup: inbound
            .platform_message_id
            .as_deref()
            .map(|p| thread::dedup_key(ctx.channel_id, p)),
        platform_id: inbound.platform_message_id.clone(),
        from: None,
    };
    let (c, mid) = flows::create_request(conn, ctx, &contact, &m, None)?;
    let team = channels::state(conn, ctx.channel_id, &format!("{GROUP_TEAM}{chat}"))?
        .and_then(|v| v.parse::<i64>().ok());
    conversations::set_origin(conn, c.id, chat, team)?;
    to_group.say(fill(lang, "group_registered", c.number, &contact.name));
    to_group.flush(conn)?;
    let private_lang = Lang::of(contact.language.as_deref());
    let mut private = Replies::new(ctx, inbound.external_user_id.as_str(), private_lang);
    private.say(fill(private_lang, "registered", c.number, ""));
    private.flush(conn)?;
    Ok(Received {
        message_id: Some(mid),
        conversation_id: Some(c.id),
        conversation_number: Some(c.number),
        contact_id: contact.id,
        duplicate: false,
        new_conversation: true,
        told_staff: false,
    })
}

/// The team button pressed in a group: that group's requests go to the team.
pub(super) fn bind_team(
    conn: &mut DbConn,
    ctx: &BotCtx,
    inbound: &Inbound,
    chat: &str,
    team_id: i64,
) -> Result<()> {
    if chat.parse::<i64>().is_err() {
        return Err(Error::invalid("bad group id"));
    }
    let team = teams::by_id(conn, ctx.project_id, team_id)?;
    channels::set_state(
        conn,
        ctx.channel_id,
        &format!("{GROUP_TEAM}{chat}"),
        &team.id.to_string(),
    )?;
    let lang = Lang::of(inbound.contact.language.as_deref());
    let mut r = Replies::new(ctx, chat, lang);
    r.say(fill(lang, "team_bound", 0, &team.name));
    r.flush(conn)?;
    Ok(())
}
