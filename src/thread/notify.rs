//! One notice for one member, on each way they chose to hear of it: under the bell, by
//! e-mail (a letter queued for the mail worker) and in the messenger chat they linked to the
//! project's bot (a bot message in the outbox). All in the caller's transaction, so a notice
//! is sent exactly when what it tells of happened.

use crate::channels::DirectPayload;
use crate::domain::ConversationId;
use crate::domain::ProjectId;
use crate::domain::event::Notice;
use crate::error::{Error, Result};
use crate::i18n::{Lang, Tr, events};
use crate::store::letters::{self, NewLetter};
use crate::store::{DbConn, notifications, outbox};

pub fn notify(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
    conversation_id: Option<ConversationId>,
    notice: &Notice,
) -> Result<()> {
    let Some(who) = notifications::recipient(conn, project_id, user_id)? else {
        return Ok(());
    };
    let topic = notice.topic();
    // A notice that is always told (a VIP's request) goes to every way the member uses.
    let wants = |choice: &str| match topic {
        Some(t) => t.chosen_in(choice),
        None => !choice.is_empty(),
    };
    if topic.is_none_or(|t| t.chosen_in(&who.bell)) {
        notifications::create(
            conn,
            project_id,
            user_id,
            conversation_id,
            &notice.to_json(),
        )?;
    }
    let lang = Lang::of(who.language.as_deref());
    let text = events::notice(notice, lang);
    if wants(&who.email_topics) {
        let subject = format!("[{}] {}", who.project_name, first_line(&text));
        let body = Tr { lang }
            .t("letter_notice_body")
            .replace("{project}", &who.project_name)
            .replace("{notice}", &text);
        letters::enqueue(
            conn,
            &NewLetter {
                project_id,
                user_id,
                conversation_id,
                recipient: &who.email,
                subject: &subject,
                body: &body,
            },
        )?;
    }
    if let Some((channel, chat)) = &who.messenger
        && wants(&who.messenger_topics)
    {
        let payload = serde_json::to_string(&DirectPayload {
            text: format!("{}\n{text}", who.project_name),
            keyboard: None,
        })
        .map_err(|e| Error::internal(e.to_string()))?;
        outbox::enqueue_direct(conn, project_id, *channel, chat, &payload)?;
    }
    Ok(())
}

/// A subject line: the notice up to its first line break, at most 150 characters.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(150) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}
