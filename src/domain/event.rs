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
    /// A conversation is yours now: by another member (`by`), or by distribution (None).
    Assigned {
        number: i64,
        by: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

impl Notice {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
