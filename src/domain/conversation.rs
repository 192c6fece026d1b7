use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Ticket life cycle. Stored as the lowercase name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Open,
    Pending,
    Resolved,
    Closed,
    Cancelled,
    Reopened,
}

pub const ALL_STATUSES: [Status; 7] = [
    Status::New,
    Status::Open,
    Status::Pending,
    Status::Resolved,
    Status::Closed,
    Status::Cancelled,
    Status::Reopened,
];

/// Who asks for a change; customers may do less than operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    Operator,
    Customer,
    System,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
            Status::Reopened => "reopened",
        }
    }

    pub fn parse(s: &str) -> Result<Status, Error> {
        ALL_STATUSES
            .into_iter()
            .find(|st| st.as_str() == s.trim())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown status \"{s}\"; expected one of: new, open, pending, resolved, closed, cancelled, reopened"
                ))
            })
    }

    /// Still needs work from the team (the customer's "active requests").
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Status::New | Status::Open | Status::Pending | Status::Reopened
        )
    }

    /// Resolved or closed: the customer may ask about it or rate it.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Resolved | Status::Closed)
    }

    /// Finished for good: a new customer message starts a new conversation.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Cancelled)
    }

    /// The one place that says which status changes are allowed, and for whom.
    pub fn can_change(self, to: Status, actor: Actor) -> Result<(), Error> {
        if self == to {
            return Err(Error::Conflict(format!(
                "the conversation is already {}",
                to.as_str()
            )));
        }
        let ok = match actor {
            Actor::Customer => match to {
                Status::Cancelled => self.is_active(),
                Status::Reopened => self == Status::Resolved,
                // A customer writing into a pending conversation hands it back to the team.
                Status::Open => self == Status::Pending,
                _ => false,
            },
            Actor::Operator | Actor::System => match to {
                Status::New | Status::Reopened | Status::Cancelled => false,
                Status::Open => true,
                Status::Pending | Status::Resolved => !self.is_final(),
                Status::Closed => true,
            },
        };
        if ok {
            Ok(())
        } else {
            let who = match actor {
                Actor::Customer => "a customer",
                Actor::Operator => "an operator",
                Actor::System => "the system",
            };
            Err(Error::Invalid(format!(
                "{who} cannot change the status from {} to {}",
                self.as_str(),
                to.as_str()
            )))
        }
    }
}

impl TryFrom<String> for Status {
    type Error = Error;
    fn try_from(s: String) -> Result<Status, Error> {
        Status::parse(&s)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

pub const ALL_PRIORITIES: [Priority; 4] = [
    Priority::Low,
    Priority::Normal,
    Priority::High,
    Priority::Urgent,
];

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Result<Priority, Error> {
        ALL_PRIORITIES
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown priority \"{s}\"; expected one of: low, normal, high, urgent"
                ))
            })
    }
}

impl TryFrom<String> for Priority {
    type Error = Error;
    fn try_from(s: String) -> Result<Priority, Error> {
        Priority::parse(&s)
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_can_cancel_active_but_not_closed() {
        assert!(
            Status::Open
                .can_change(Status::Cancelled, Actor::Customer)
                .is_ok()
        );
        assert!(
            Status::Closed
                .can_change(Status::Cancelled, Actor::Customer)
                .is_err()
        );
    }

    #[test]
    fn only_resolved_can_be_reopened_by_customer() {
        assert!(
            Status::Resolved
                .can_change(Status::Reopened, Actor::Customer)
                .is_ok()
        );
        assert!(
            Status::Open
                .can_change(Status::Reopened, Actor::Customer)
                .is_err()
        );
    }

    #[test]
    fn operator_cannot_resolve_closed_but_can_reopen_it() {
        assert!(
            Status::Closed
                .can_change(Status::Resolved, Actor::Operator)
                .is_err()
        );
        assert!(
            Status::Closed
                .can_change(Status::Open, Actor::Operator)
                .is_ok()
        );
    }

    #[test]
    fn unknown_status_names_the_choices() {
        let e = Status::parse("done")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("resolved"), "{e}");
    }
}
