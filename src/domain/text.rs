//! Small text rules shared by every channel.

/// How long a subject taken from the first message may be.
pub const SUBJECT_CHARS: usize = 50;

/// Subject of a new conversation: the first line, at most `max` characters (not bytes).
pub fn subject_from(text: &str, max: usize) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut s: String = line.chars().take(max).collect();
    if line.chars().count() > max {
        s.push('…');
    }
    s
}

/// Cuts `s` to at most `max` characters without splitting a character.
pub fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// How much of a note a notification quotes.
pub const PREVIEW_CHARS: usize = 100;

/// A note as a notification quotes it: trimmed, cut with "…".
pub fn notice_preview(text: &str) -> String {
    let t = text.trim();
    let cut = truncate_chars(t, PREVIEW_CHARS);
    if cut.len() < t.len() {
        format!("{cut}…")
    } else {
        cut.to_string()
    }
}

/// A file name safe to show and to put in a Content-Disposition header.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .collect();
    let cleaned = truncate_chars(cleaned.trim(), 200).to_string();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "file".to_string()
    } else {
        cleaned
    }
}

/// Splits text into pieces of at most `max` characters, preferring line, then word breaks.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while rest.chars().count() > max {
        let head = truncate_chars(rest, max);
        let cut = head
            .rfind('\n')
            .filter(|i| *i > head.len() / 2)
            .or_else(|| head.rfind(' ').filter(|i| *i > head.len() / 2))
            .unwrap_or(head.len());
        parts.push(rest[..cut].trim_end().to_string());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        parts.push(rest.to_string());
    }
    parts
}

/// A CSV cell as a spreadsheet will not run it: one starting with = + - @ is a formula there,
/// so it is prefixed, and opening an export cannot run what a customer typed as their name.
/// Phone numbers stay as they are.
pub fn spreadsheet_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) && !s.chars().all(|c| "+0123456789 -()".contains(c)) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_counts_characters_not_bytes() {
        let s = subject_from(
            "Здравствуйте, у меня не работает оплата картой на сайте уже второй день",
            20,
        );
        assert_eq!(s, "Здравствуйте, у меня…");
    }

    #[test]
    fn file_names_lose_paths_and_quotes() {
        assert_eq!(clean_file_name("../../etc/pa\"sswd"), "passwd");
        assert_eq!(clean_file_name(".."), "file");
    }
}
