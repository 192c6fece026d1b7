//! The bot's answers to one event, written to the outbox together at the end of it.

use super::BotCtx;
use crate::channels::{Button, DirectPayload, Keyboard};
use crate::domain::Press;
use crate::error::Result;
use crate::i18n::Lang;
use crate::i18n::customer::t;
use crate::store::DbConn;
use crate::thread;

pub(super) struct Replies<'a> {
    ctx: &'a BotCtx,
    to: String,
    pub lang: Lang,
    pub out: Vec<DirectPayload>,
    options: Vec<String>,
}

impl<'a> Replies<'a> {
    pub fn new(ctx: &'a BotCtx, to: impl Into<String>, lang: Lang) -> Replies<'a> {
        Replies {
            ctx,
            to: to.into(),
            lang,
            out: Vec::new(),
            options: Vec::new(),
        }
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

    /// Queues everything said; returns what the numbers of a numbered menu mean.
    pub fn flush(self, conn: &mut DbConn) -> Result<Vec<String>> {
        for p in &self.out {
            thread::say_direct(conn, self.ctx.project_id, self.ctx.channel_id, &self.to, p)?;
        }
        Ok(self.options)
    }
}
