//! Canned replies: what makes one valid, and how its variables are filled for a conversation.
//! The console's settings page, the REST API and the reply box all go through these.

use crate::error::{Error, Result};

/// The variables a canned reply may use, as the admin writes them.
pub const VARIABLES: [&str; 4] = ["{name}", "{number}", "{operator}", "{project}"];

pub const MAX_TITLE: usize = 100;
pub const MAX_TEXT: usize = 4000;
pub const MAX_SHORTCUT: usize = 32;
/// Files one canned reply may carry (as many as one reply may).
pub const MAX_FILES: usize = 5;

/// Whose canned reply it is: the whole project's, or one member's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Project,
    Personal,
}

/// A canned reply as submitted, checked and normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// Lower case, without the leading `/`.
    pub shortcut: String,
    pub title: String,
    pub text: String,
}

/// Letters of any alphabet, digits, `-` and `_`; a leading `/` is dropped; lower case.
pub fn shortcut(raw: &str) -> Result<String> {
    let s = raw.trim().trim_start_matches('/').to_lowercase();
    if s.is_empty() || s.chars().count() > MAX_SHORTCUT {
        return Err(Error::invalid(format!(
            "the shortcut must have 1-{MAX_SHORTCUT} characters"
        )));
    }
    if !s
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(format!(
            "the shortcut \"/{s}\" may hold only letters, digits, - and _ (no spaces)"
        )));
    }
    Ok(s)
}

impl Draft {
    pub fn parse(shortcut_raw: &str, title: &str, text: &str) -> Result<Draft> {
        let shortcut = shortcut(shortcut_raw)?;
        let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
        if title.is_empty() || title.chars().count() > MAX_TITLE {
            return Err(Error::invalid(format!(
                "the title must have 1-{MAX_TITLE} characters"
            )));
        }
        let text = text.trim().replace("\r\n", "\n");
        if text.is_empty() || text.chars().count() > MAX_TEXT {
            return Err(Error::invalid(format!(
                "the text must have 1-{MAX_TEXT} characters"
            )));
        }
        if let Some(bad) = unknown_variable(&text) {
            return Err(Error::invalid(format!(
                "unknown variable {bad}; the text may use {}",
                VARIABLES.join(", ")
            )));
        }
        Ok(Draft {
            shortcut,
            title,
            text,
        })
    }
}

/// The first `{word}` that is not one of VARIABLES (a typo would reach the customer as is).
fn unknown_variable(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let word = &after[..close];
        if !word.is_empty()
            && word.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !VARIABLES.contains(&format!("{{{word}}}").as_str())
        {
            return Some(format!("{{{word}}}"));
        }
        rest = &after[close..];
    }
    None
}

/// What the variables stand for in one conversation.
pub struct Values<'a> {
    pub name: &'a str,
    pub number: i64,
    pub operator: &'a str,
    pub project: &'a str,
}

/// The text with its variables filled in.
pub fn fill(text: &str, v: &Values) -> String {
    text.replace("{name}", v.name)
        .replace("{number}", &v.number.to_string())
        .replace("{operator}", v.operator)
        .replace("{project}", v.project)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_are_one_word_in_any_alphabet() {
        assert_eq!(shortcut("/Привет").ok().as_deref(), Some("привет"));
        assert_eq!(shortcut(" delivery_2 ").ok().as_deref(), Some("delivery_2"));
        assert!(shortcut("/").is_err());
        assert!(shortcut("two words").is_err());
        assert!(shortcut(&"a".repeat(33)).is_err());
    }

    #[test]
    fn variables_are_filled_and_typos_refused() {
        let d = Draft::parse(
            "hi",
            " Greeting ",
            "Здравствуйте, {name}! Обращение №{number}.\r\n{operator}, {project}",
        );
        let Ok(d) = d else {
            panic!("a valid draft refused: {d:?}");
        };
        assert_eq!(d.title, "Greeting");
        let v = Values {
            name: "Анна",
            number: 42,
            operator: "Олег",
            project: "Чайники",
        };
        assert_eq!(
            fill(&d.text, &v),
            "Здравствуйте, Анна! Обращение №42.\nОлег, Чайники"
        );
        let e = Draft::parse("hi", "t", "Привет, {nmae}")
            .err()
            .map(|e| e.to_string());
        assert!(e.as_deref().is_some_and(|e| e.contains("{nmae}")), "{e:?}");
        // Braces that are not a variable stay text.
        assert!(Draft::parse("hi", "t", "JSON: {\"a\": 1} and {}").is_ok());
    }
}
