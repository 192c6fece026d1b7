//! A contact's details as people type them: one check for the conversation's sidebar, the
//! contacts page, the REST API and CSV import, so each refuses the same things in the same
//! words.

use crate::error::{Error, Result};

pub const NAME_MAX: usize = 100;
pub const ORGANIZATION_MAX: usize = 200;

/// What an operator, an integration or an import row may set on a contact.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContactInput {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub vip: bool,
    /// Organisation name; None detaches the contact.
    pub organization: Option<String>,
    pub organization_vip: bool,
    pub manager_id: Option<i64>,
}

fn present(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

pub fn name(s: &str) -> Result<String> {
    let n = s.trim();
    if n.is_empty() || n.chars().count() > NAME_MAX || n.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "name must be 1-{NAME_MAX} characters without line breaks"
        )));
    }
    Ok(n.to_string())
}

/// A phone as typed, checked: 5-15 digits with `+ - ( ) .` and spaces; empty is none.
pub fn phone(s: &str) -> Result<Option<String>> {
    let Some(p) = present(s) else {
        return Ok(None);
    };
    let digits = p.chars().filter(char::is_ascii_digit).count();
    if !(5..=15).contains(&digits)
        || !p
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return Err(Error::invalid(format!(
            "phone \"{p}\" must be 5-15 digits, optionally with + - ( ) and spaces"
        )));
    }
    Ok(Some(p.to_string()))
}

/// An e-mail address, lower-cased; empty is none.
pub fn email(s: &str) -> Result<Option<String>> {
    let Some(raw) = present(s) else {
        return Ok(None);
    };
    let e = raw.to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !e.contains(char::is_whitespace);
    if valid {
        Ok(Some(e))
    } else {
        Err(Error::invalid(format!("\"{raw}\" is not an email address")))
    }
}

pub fn organization(s: &str) -> Result<Option<String>> {
    let Some(o) = present(s) else {
        return Ok(None);
    };
    if o.chars().count() > ORGANIZATION_MAX || o.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "organization must be at most {ORGANIZATION_MAX} characters"
        )));
    }
    Ok(Some(o.to_string()))
}

/// The form a phone is looked up by: its digits, a Russian number always as 7XXXXXXXXXX
/// (written 8 916 …, +7 916 … or 916 …). Must stay the same as the contacts migration's.
pub fn phone_key(phone: &str) -> Option<String> {
    let d: String = phone.chars().filter(char::is_ascii_digit).collect();
    match d.len() {
        0 => None,
        11 if d.starts_with('8') => Some(format!("7{}", &d[1..])),
        10 if d.starts_with('9') => Some(format!("7{d}")),
        _ => Some(d),
    }
}

/// A yes/no cell of a CSV file or form: empty is no.
pub fn flag(s: &str) -> Result<bool> {
    match s.trim().to_lowercase().as_str() {
        "" | "0" | "no" | "false" | "нет" | "n" => Ok(false),
        "1" | "yes" | "true" | "да" | "y" | "vip" | "on" => Ok(true),
        other => Err(Error::invalid(format!(
            "\"{other}\" is not yes or no (1/0, yes/no, да/нет)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_looked_up_in_one_form() {
        for p in [
            "+7 (916) 123-45-67",
            "89161234567",
            "9161234567",
            "79161234567",
        ] {
            assert_eq!(phone_key(p).as_deref(), Some("79161234567"), "{p}");
        }
        assert_eq!(
            phone_key("+44 20 7946 0958").as_deref(),
            Some("442079460958")
        );
        assert!(phone("+7 916 123").is_ok());
        assert!(phone("12-34").is_err());
        assert!(phone("call me").is_err());
        assert_eq!(phone("  ").ok(), Some(None));
        assert_eq!(
            email(" Anna@Example.COM ").ok().flatten().as_deref(),
            Some("anna@example.com")
        );
        assert!(email("anna@").is_err());
        assert!(name("  ").is_err());
        assert!(name("a\nb").is_err());
        assert_eq!(flag("Да").ok(), Some(true));
        assert!(flag("maybe").is_err());
    }
}
