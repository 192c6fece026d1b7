//! What makes a tag's name: the settings page, the REST API and the thread's tag box share it.

use crate::error::{Error, Result};

pub const MAX_NAME: usize = 40;
/// Tags one conversation may carry.
pub const MAX_PER_CONVERSATION: usize = 20;

/// Trimmed, inner spaces collapsed; 1-40 characters, no commas (lists of tags are written
/// with them in filters and exports).
pub fn name(raw: &str) -> Result<String> {
    let n = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if n.is_empty() || n.chars().count() > MAX_NAME {
        return Err(Error::invalid(format!(
            "a tag's name must have 1-{MAX_NAME} characters"
        )));
    }
    if n.contains(',') || n.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "the tag \"{n}\" may not hold commas"
        )));
    }
    Ok(n)
}

/// Names compare without case: "VIP" and "vip" are one tag.
pub fn key(name: &str) -> String {
    name.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_tidied_and_compared_without_case() {
        assert_eq!(
            name("  Срочно   доставка ").ok().as_deref(),
            Some("Срочно доставка")
        );
        assert!(name(" ").is_err());
        assert!(name("a,b").is_err());
        assert!(name(&"я".repeat(41)).is_err());
        assert_eq!(key("VIP Клиент"), key("vip клиент"));
    }
}
