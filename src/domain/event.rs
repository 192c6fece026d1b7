//! System events recorded in a thread and console notices. Stored as JSON so each reader
//! (console in Russian or English, API) renders them in its own language (`i18n::events`).

use serde::{Deserialize, Serialize};

use super::{Priority, Status};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SystemEvent {
    Created {
        channel: String,
    },
    Status {
        from: Status,
        to: Status,
        by: String,
    },
    Assigned {
        to: Option<String>,
        by: String,
    },
    Team {
        to: Option<String>,
        by: String,
    },
    Priority {
        from: Priority,
        to: Priority,
        by: String,
    },
    Due {
        due: Option<String>,
        by: String,
    },
    /// Tags put on and taken off at once.
    Tagged {
        added: Vec<String>,
        removed: Vec<String>,
        by: String,
    },
    Rated {
        stars: i32,
        comment: Option<String>,
        by: String,
    },
    DeliveryFailed {
        error: String,
    },
    Blocked,
    /// Left through the widget's offline form while nobody was online.
    LeftOffline,
    /// Distribution gave it to an operator (round-robin, least-busy, or the channel's member).
    AutoAssigned {
        to: String,
    },
    /// Its operator went offline and the channel gives such conversations back to the queue.
    Returned {
        from: String,
    },
    /// The customer's contact was merged with another (`other`): one person, one history.
    ContactsMerged {
        other: String,
        by: String,
    },
}

impl SystemEvent {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What a console notification says; stored as JSON and rendered in the reader's language.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// The customer commented on a request assigned to you.
    Comment {
        number: i64,
        by: String,
        preview: String,
    },
    /// A VIP organization you manage sent a new request.
    VipRequest {
        number: i64,
        organization: String,
        by: String,
    },
    /// A customer of your organization asks to be contacted.
    ContactMe { number: i64, by: String },
    /// An integration's endpoint failed for a day and was paused (admins are told).
    IntegrationPaused { name: String, reason: String },
    /// A customer's message has waited for an answer too long.
    Unanswered {
        number: i64,
        minutes: i64,
        by: String,
    },
    /// A conversation was given to a team you are in.
    ToTeam {
        number: i64,
        team: String,
        /// What whoever handed it over wrote for the team.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Someone @mentioned you in an internal note.
    Mention {
        number: i64,
        by: String,
        preview: String,
    },
    /// The customer wrote again in your conversation after your team's answer.
    Replied {
        number: i64,
        by: String,
        preview: String,
    },
    /// Yesterday's figures (the reports' daily summary).
    DailySummary {
        date: String,
        opened: i64,
        closed: i64,
        first_response_median_s: Option<i64>,
        rating_average: Option<f64>,
        unanswered_now: i64,
        /// The reports page, where the server knows its public address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link: Option<String>,
    },
    /// A conversation is yours now: by another member (`by`), or by distribution (None).
    Assigned {
        number: i64,
        by: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

/// What a notice is about, as each member chooses what they are told (the profile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// A new conversation in one of their teams.
    Team,
    /// A conversation given to them.
    Assigned,
    /// The customer commented on their request.
    Comment,
    /// They were @mentioned in an internal note.
    Mention,
    /// A customer's message waited too long.
    Unanswered,
    /// The customer answered in a conversation assigned to them.
    Replied,
    /// Yesterday's figures every morning (analysts and admins).
    Summary,
}

impl Topic {
    pub const ALL: [Topic; 7] = [
        Topic::Team,
        Topic::Assigned,
        Topic::Replied,
        Topic::Comment,
        Topic::Mention,
        Topic::Unanswered,
        Topic::Summary,
    ];

    /// What a new member hears of under the bell.
    pub const DEFAULT: &'static str = "team,assigned,replied,comment,mention,unanswered";

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Team => "team",
            Topic::Assigned => "assigned",
            Topic::Comment => "comment",
            Topic::Mention => "mention",
            Topic::Unanswered => "unanswered",
            Topic::Replied => "replied",
            Topic::Summary => "summary",
        }
    }

    /// A list of topic names (the profile's ticks, the API's array) as it is stored; an
    /// unknown name is refused, naming the ones there are.
    pub fn choice<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<String, String> {
        let mut chosen = Vec::new();
        for name in names {
            let name = name.trim();
            match Topic::ALL.iter().find(|t| t.as_str() == name) {
                Some(t) if !chosen.contains(t) => chosen.push(*t),
                Some(_) => {}
                None => {
                    let known: Vec<&str> = Topic::ALL.iter().map(|t| t.as_str()).collect();
                    return Err(format!(
                        "unknown notification topic \"{name}\"; topics are {}",
                        known.join(", ")
                    ));
                }
            }
        }
        Ok(Topic::ALL
            .iter()
            .filter(|t| chosen.contains(t))
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(","))
    }

    /// The stored choice as a list of topics.
    pub fn listed(choice: &str) -> Vec<Topic> {
        Topic::ALL
            .iter()
            .copied()
            .filter(|t| t.chosen_in(choice))
            .collect()
    }

    /// Whether a stored choice ("team,assigned") includes this topic.
    pub fn chosen_in(self, choice: &str) -> bool {
        choice.split(',').any(|t| t.trim() == self.as_str())
    }
}

impl Notice {
    /// The member's choice that governs this notice; None: always told (a VIP's request,
    /// a callback asked for).
    pub fn topic(&self) -> Option<Topic> {
        match self {
            Notice::Comment { .. } => Some(Topic::Comment),
            Notice::VipRequest { .. }
            | Notice::ContactMe { .. }
            | Notice::IntegrationPaused { .. } => None,
            Notice::Unanswered { .. } => Some(Topic::Unanswered),
            Notice::ToTeam { .. } => Some(Topic::Team),
            Notice::Assigned { .. } => Some(Topic::Assigned),
            Notice::Mention { .. } => Some(Topic::Mention),
            Notice::Replied { .. } => Some(Topic::Replied),
            Notice::DailySummary { .. } => Some(Topic::Summary),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
