use crate::error::Error;

/// One access level a member holds in a project (Tele2 Business Chat's model). A member may
/// hold several; what they may do is the union.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Everything, including the team, access levels and channels.
    Admin,
    /// Every setting of the project (schedules, automation, channels, widget); no dialogs and
    /// no reports.
    Settings,
    /// Reports and reading dialogs; no answering, no settings.
    Analytics,
    /// Dialogs: answer, notes, assign, statuses.
    Operator,
}

pub const ALL_ROLES: [Role; 4] = [Role::Admin, Role::Settings, Role::Analytics, Role::Operator];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Settings => "settings",
            Role::Analytics => "analytics",
            Role::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Result<Role, Error> {
        match s.trim() {
            "admin" => Ok(Role::Admin),
            "settings" => Ok(Role::Settings),
            "analytics" => Ok(Role::Analytics),
            "operator" => Ok(Role::Operator),
            other => Err(Error::invalid(format!(
                "unknown access level \"{other}\"; expected admin, settings, analytics or operator"
            ))),
        }
    }

    fn bit(self) -> u8 {
        match self {
            Role::Admin => 1,
            Role::Settings => 2,
            Role::Analytics => 4,
            Role::Operator => 8,
        }
    }
}

/// What a route asks of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Can {
    /// See conversations, their messages, files and live events.
    ReadDialogs,
    /// Answer, write notes, assign, change status, edit the contact.
    Answer,
    /// Reports and statistics.
    Reports,
    /// Canned replies: those who answer use them and keep their own; the settings level keeps
    /// the project's.
    Canned,
    /// The project's settings: schedule, automation, channels, widget.
    Settings,
    /// The team: members, their access, invitations, the audit log.
    Team,
}

/// The set of access levels one member holds in one project; never empty once stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Access(u8);

impl Access {
    pub fn of(roles: &[Role]) -> Access {
        Access(roles.iter().fold(0, |a, r| a | r.bit()))
    }

    pub fn has(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn roles(self) -> Vec<Role> {
        ALL_ROLES.into_iter().filter(|r| self.has(*r)).collect()
    }

    pub fn can(self, what: Can) -> bool {
        let admin = self.has(Role::Admin);
        admin
            || match what {
                Can::ReadDialogs => self.has(Role::Operator) || self.has(Role::Analytics),
                Can::Answer => self.has(Role::Operator),
                Can::Reports => self.has(Role::Analytics),
                Can::Settings => self.has(Role::Settings),
                Can::Canned => self.has(Role::Operator) || self.has(Role::Settings),
                Can::Team => false,
            }
    }

    /// The stored form: levels in a fixed order, comma-separated ("operator,analytics").
    pub fn as_stored(self) -> String {
        self.roles()
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the stored form. `supervisor`, the level before access sets, meant "an operator
    /// who also sees how the team works": operator and analytics (migrated rows say so too).
    pub fn parse(s: &str) -> Result<Access, Error> {
        let mut roles = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "supervisor" {
                roles.extend([Role::Operator, Role::Analytics]);
            } else {
                roles.push(Role::parse(part)?);
            }
        }
        let access = Access::of(&roles);
        if access.is_empty() {
            return Err(Error::invalid(
                "choose at least one access level: admin, settings, analytics or operator",
            ));
        }
        Ok(access)
    }

    /// From a list of names as the API and the forms send them.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Access, Error> {
        Access::parse(
            &names
                .iter()
                .map(|s| s.as_ref().to_string())
                .collect::<Vec<_>>()
                .join(","),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parsed set; an unreadable one is empty, which every assertion below would notice.
    fn set(s: &str) -> Access {
        Access::parse(s).unwrap_or_default()
    }

    #[test]
    fn levels_combine_and_round_trip() {
        let a = set("analytics, operator");
        assert!(a.can(Can::Answer) && a.can(Can::Reports) && !a.can(Can::Settings));
        assert_eq!(a.as_stored(), "analytics,operator");
        assert_eq!(set(&a.as_stored()), a);
        let s = set("settings");
        assert!(s.can(Can::Settings) && !s.can(Can::ReadDialogs) && !s.can(Can::Reports));
        assert!(set("analytics").can(Can::ReadDialogs) && !set("analytics").can(Can::Answer));
        assert!(set("admin").can(Can::Team));
        assert!(!set("settings,analytics,operator").can(Can::Team));
        assert_eq!(
            set("supervisor"),
            Access::of(&[Role::Operator, Role::Analytics])
        );
        assert!(Access::parse("").is_err());
        assert!(Access::parse("operator,boss").is_err());
    }
}
