use crate::error::Error;

/// A user's role inside one project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Operator,
    Supervisor,
    /// Edits automation settings (schedules, auto-replies, rating) without being an admin.
    Settings,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Settings => "settings",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Role, Error> {
        match s.trim() {
            "operator" => Ok(Role::Operator),
            "supervisor" => Ok(Role::Supervisor),
            "settings" => Ok(Role::Settings),
            "admin" => Ok(Role::Admin),
            other => Err(Error::invalid(format!(
                "unknown role \"{other}\"; expected operator, supervisor, settings or admin"
            ))),
        }
    }
}
