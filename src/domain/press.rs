//! What a customer's button press (or the number they typed for a menu line) means. The
//! wire form ("verb" or "verb:id[:n]") fits Telegram's 64-byte callback data and stays the
//! same across versions, so buttons already in customers' chats keep working.

use std::fmt;

use super::ConversationId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Press {
    Menu,
    /// Start a new request.
    New,
    /// List the active requests.
    Status,
    View(ConversationId),
    /// Comment on a request (asks which when there are several).
    Comment,
    CommentOn(ConversationId),
    Cancel,
    CancelOne(ConversationId),
    ContactMe,
    /// A question about a completed request (asks which).
    DoneQuestion,
    QuestionAbout(ConversationId),
    /// Helpdesk rating: offers the stars.
    Rate(ConversationId),
    Stars(ConversationId, i32),
    /// No comment after a helpdesk rating.
    SkipComment(ConversationId),
    Reopen(ConversationId),
    ReopenConfirmed(ConversationId),
    /// The waiting message becomes a new request.
    NewFromMessage,
    /// The waiting message is added to this request.
    Attach(ConversationId),
    /// In a group: its requests go to this team.
    BindTeam {
        chat: String,
        team: i64,
    },
    /// Chat channels' rating request (automation, not the bot).
    ChatStars(ConversationId, i32),
    ChatRatingSkip(ConversationId),
}

impl Press {
    pub fn parse(data: &str) -> Option<Press> {
        let (verb, rest) = data.split_once(':').unwrap_or((data, ""));
        let id = || rest.parse::<ConversationId>().ok();
        let id_n = || {
            let (a, b) = rest.split_once(':')?;
            Some((a.parse::<ConversationId>().ok()?, b.parse::<i32>().ok()?))
        };
        Some(match verb {
            "menu" if rest.is_empty() => Press::Menu,
            "new" if rest.is_empty() => Press::New,
            "status" if rest.is_empty() => Press::Status,
            "comment" if rest.is_empty() => Press::Comment,
            "cancel" if rest.is_empty() => Press::Cancel,
            "contact_me" if rest.is_empty() => Press::ContactMe,
            "done_q" if rest.is_empty() => Press::DoneQuestion,
            "newreq" if rest.is_empty() => Press::NewFromMessage,
            "view" => Press::View(id()?),
            "c" => Press::CommentOn(id()?),
            "x" => Press::CancelOne(id()?),
            "q" => Press::QuestionAbout(id()?),
            "rate" => Press::Rate(id()?),
            "skip" => Press::SkipComment(id()?),
            "reopen" => Press::Reopen(id()?),
            "reopen_yes" => Press::ReopenConfirmed(id()?),
            "attach" => Press::Attach(id()?),
            "rating_skip" => Press::ChatRatingSkip(id()?),
            "stars" => {
                let (c, n) = id_n()?;
                Press::Stars(c, n)
            }
            "rating" => {
                let (c, n) = id_n()?;
                Press::ChatStars(c, n)
            }
            "team" => {
                let (chat, team) = rest.rsplit_once(':')?;
                chat.parse::<i64>().ok()?;
                Press::BindTeam {
                    chat: chat.to_string(),
                    team: team.parse().ok()?,
                }
            }
            _ => return None,
        })
    }
}

impl fmt::Display for Press {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Press::Menu => f.write_str("menu"),
            Press::New => f.write_str("new"),
            Press::Status => f.write_str("status"),
            Press::Comment => f.write_str("comment"),
            Press::Cancel => f.write_str("cancel"),
            Press::ContactMe => f.write_str("contact_me"),
            Press::DoneQuestion => f.write_str("done_q"),
            Press::NewFromMessage => f.write_str("newreq"),
            Press::View(id) => write!(f, "view:{id}"),
            Press::CommentOn(id) => write!(f, "c:{id}"),
            Press::CancelOne(id) => write!(f, "x:{id}"),
            Press::QuestionAbout(id) => write!(f, "q:{id}"),
            Press::Rate(id) => write!(f, "rate:{id}"),
            Press::SkipComment(id) => write!(f, "skip:{id}"),
            Press::Reopen(id) => write!(f, "reopen:{id}"),
            Press::ReopenConfirmed(id) => write!(f, "reopen_yes:{id}"),
            Press::Attach(id) => write!(f, "attach:{id}"),
            Press::ChatRatingSkip(id) => write!(f, "rating_skip:{id}"),
            Press::Stars(id, n) => write!(f, "stars:{id}:{n}"),
            Press::ChatStars(id, n) => write!(f, "rating:{id}:{n}"),
            Press::BindTeam { chat, team } => write!(f, "team:{chat}:{team}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_press_reads_back_what_it_writes() {
        let all = [
            Press::Menu,
            Press::New,
            Press::Status,
            Press::View(ConversationId(7)),
            Press::Comment,
            Press::CommentOn(ConversationId(8)),
            Press::Cancel,
            Press::CancelOne(ConversationId(9)),
            Press::ContactMe,
            Press::DoneQuestion,
            Press::QuestionAbout(ConversationId(10)),
            Press::Rate(ConversationId(11)),
            Press::Stars(ConversationId(12), 5),
            Press::SkipComment(ConversationId(13)),
            Press::Reopen(ConversationId(14)),
            Press::ReopenConfirmed(ConversationId(15)),
            Press::NewFromMessage,
            Press::Attach(ConversationId(16)),
            Press::BindTeam {
                chat: "-100123".into(),
                team: 3,
            },
            Press::ChatStars(ConversationId(17), 1),
            Press::ChatRatingSkip(ConversationId(18)),
        ];
        for p in all {
            let wire = p.to_string();
            assert!(wire.len() <= 64, "{wire} is over Telegram's 64 bytes");
            assert_eq!(Press::parse(&wire), Some(p), "{wire}");
        }
    }

    #[test]
    fn made_up_or_cut_payloads_mean_nothing() {
        for bad in [
            "",
            "x",
            "x:",
            "x:abc",
            "stars:1",
            "stars:1:many",
            "view:1:2",
            "new:1",
            "team:abc:1",
            "team:1",
            "rating:",
            "drop table",
        ] {
            assert_eq!(Press::parse(bad), None, "{bad}");
        }
    }
}
