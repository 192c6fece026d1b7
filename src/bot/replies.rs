//! The bot's answers to one event, written to the outbox together at the end of it.

use super::BotCtx;
use crate::channels::{Button, DirectPayload, Keyboard};
use crate::domain::Press;
use crate::error::Result;
use crate::i18n::Lang;
use crate::i18n::customer::t;
use crate::store::conversations::{self, Conversation};
use crate::store::{DbConn, contacts};
use crate::thread;

pub(super) struct Replies<'a> {
    ctx: &'a BotCtx,
    to: String,
    pub lang: Lang,
    pub out: Vec<DirectPayload>,
    options: Vec<String>,
    /// The conversation these answers are about, when the caller knows it.
    about: Option<Conversation>,
}

impl<'a> Replies<'a> {
    pub fn new(ctx: &'a BotCtx, to: impl Into<String>, lang: Lang) -> Replies<'a> {
        Replies {
            ctx,
            to: to.into(),
            lang,
            out: Vec::new(),
            options: Vec::new(),
            about: None,
        }
    }

    /// Shows these answers in this conversation's thread (otherwise: the customer's latest
    /// one in the channel, if any).
    pub fn about(&mut self, c: &Conversation) {
        self.about = Some(c.clone());
    }

    pub fn say(&mut self, text: impl Into<String>) {
        self.out.push(DirectPayload {
            text: text.into(),
            keyboard: None,
        });
    }

    /// A message with choices: buttons where possible, else a numbered list.
    pub fn ask(&mut self, text: impl Into<String>, choices: Vec<(String, Press)>) {
        let mut text = text.into();
        if self.ctx.buttons {
            self.out.push(DirectPayload {
                text,
                keyboard: Some(Keyboard {
                    rows: choices
                        .into_iter()
                        .map(|(label, press)| {
                            vec![Button {
                                label,
                                data: press.to_string(),
                            }]
                        })
                        .collect(),
                    request_phone: None,
                }),
            });
        } else {
            text.push('\n');
            for (i, (label, press)) in choices.into_iter().enumerate() {
                text.push_str(&format!("\n{}. {label}", i + 1));
                self.options.push(press.to_string());
            }
            text.push_str(&format!("\n\n{}", t(self.lang, "pick_number")));
            self.say(text);
        }
    }

    pub fn ask_phone(&mut self, text: &str) {
        self.out.push(DirectPayload {
            text: text.to_string(),
            keyboard: Some(Keyboard {
                rows: Vec::new(),
                request_phone: Some(t(self.lang, "btn_share_phone").to_string()),
            }),
        });
    }

    /// Queues everything said, each also shown in the thread it concerns (so operators see
    /// what the customer saw); returns what the numbers of a numbered menu mean.
    pub fn flush(self, conn: &mut DbConn) -> Result<Vec<String>> {
        if self.out.is_empty() {
            return Ok(self.options);
        }
        let shown = match self.about {
            Some(c) => Some(c),
            // A group chat is no contact: what is said there has no thread of its own.
            None => match contacts::by_identity(conn, self.ctx.channel_id, &self.to)? {
                Some(contact) => conversations::latest_for(conn, contact, self.ctx.channel_id)?,
                None => None,
            },
        };
        for p in &self.out {
            thread::say_direct(
                conn,
                self.ctx.project_id,
                self.ctx.channel_id,
                &self.to,
                p,
                shown.as_ref(),
            )?;
        }
        Ok(self.options)
    }
}
