//! Every text people read, in Russian and English: the console (`Tr`), what customers are
//! told (`customer`), and how stored events and notices read (`events`). One `Lang` for all.

pub mod console;
mod contacts;
pub mod customer;
pub mod events;
mod integrations;
mod reports;
mod team;

use crate::domain::{Priority, Status};

pub use console::Tr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// The text of this language from a [Russian, English] pair.
    pub fn pick_of(self, texts: [&'static str; 2]) -> &'static str {
        match self {
            Lang::Ru => texts[0],
            Lang::En => texts[1],
        }
    }

    /// A customer's messenger language code ("en-GB", "ru"): English or Russian.
    pub fn of(code: Option<&str>) -> Lang {
        match code {
            Some(c) if c.to_ascii_lowercase().starts_with("en") => Lang::En,
            _ => Lang::Ru,
        }
    }

    /// The cookie wins; otherwise the first of ru/en in Accept-Language; Russian by default.
    pub fn pick(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        match cookie {
            Some("en") => return Lang::En,
            Some("ru") => return Lang::Ru,
            _ => {}
        }
        let al = accept_language.unwrap_or("").to_ascii_lowercase();
        let ru = al.find("ru");
        let en = al.find("en");
        match (ru, en) {
            (Some(r), Some(e)) if e < r => Lang::En,
            (None, Some(_)) => Lang::En,
            _ => Lang::Ru,
        }
    }
}

/// How a status reads, to operators and customers alike. English keeps the status's own word,
/// which is also what the API's event texts say.
pub fn status_label(lang: Lang, s: Status) -> &'static str {
    match lang {
        Lang::Ru => match s {
            Status::New => "Новое",
            Status::Open => "В работе",
            Status::Pending => "Ждёт клиента",
            Status::Resolved => "Решено",
            Status::Closed => "Закрыто",
            Status::Cancelled => "Отменено",
            Status::Reopened => "Возвращено в работу",
        },
        Lang::En => s.as_str(),
    }
}

pub fn priority_label(lang: Lang, p: Priority) -> &'static str {
    match lang {
        Lang::Ru => match p {
            Priority::Low => "низкий",
            Priority::Normal => "обычный",
            Priority::High => "высокий",
            Priority::Urgent => "срочный",
        },
        Lang::En => p.as_str(),
    }
}

#[cfg(test)]
mod tests {
    //! Every key the code and the templates ask for exists in both languages: a typo would
    //! otherwise show "??" (console) or nothing (customers).
    use super::*;
    use std::path::{Path, PathBuf};

    fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, ext, out);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }

    fn read_all(dir: &str, ext: &str) -> Vec<(String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut out = Vec::new();
        files(&root, ext, &mut out);
        out.into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                (p.display().to_string(), text)
            })
            .collect()
    }

    fn is_key(s: &str) -> bool {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    }

    /// The string literals that follow each `prefix` (after an optional `lang, ` argument).
    fn keys_after(text: &str, prefix: &str, skip_arg: bool) -> Vec<String> {
        let mut out = Vec::new();
        for (i, _) in text.match_indices(prefix) {
            let before = text[..i].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let mut rest = &text[i + prefix.len()..];
            if skip_arg {
                let Some(comma) = rest.find(',') else {
                    continue;
                };
                if rest[..comma].contains(['(', '"', ')']) {
                    continue;
                }
                rest = rest[comma + 1..].trim_start();
            }
            let Some(lit) = rest.strip_prefix('"') else {
                continue;
            };
            let Some(end) = lit.find('"') else { continue };
            if is_key(&lit[..end]) {
                out.push(lit[..end].to_string());
            }
        }
        out
    }

    #[test]
    fn every_customer_text_exists_in_both_languages() {
        let mut wanted = Vec::new();
        for (file, text) in read_all("src", "rs") {
            for k in keys_after(&text, "t(", true)
                .into_iter()
                .chain(keys_after(&text, "fill(", true))
                .chain(keys_after(&text, "b(", false))
            {
                wanted.push((file.clone(), k));
            }
        }
        assert!(wanted.len() > 40, "the scan finds the bot's texts");
        for (file, key) in &wanted {
            if file.ends_with("console.rs") {
                continue;
            }
            assert!(
                !customer::t(Lang::Ru, key).is_empty() && !customer::t(Lang::En, key).is_empty(),
                "{file}: customer text \"{key}\" is missing"
            );
        }
    }

    #[test]
    fn every_console_text_exists_in_both_languages() {
        let mut wanted: Vec<(String, String)> = Vec::new();
        for (file, text) in read_all("templates", "html")
            .into_iter()
            .chain(read_all("src/web", "rs"))
        {
            for k in keys_after(&text, "tr.t(", false)
                .into_iter()
                .chain(keys_after(&text, ".t(", false))
            {
                wanted.push((file.clone(), k));
            }
            // Keys a template loops over: {% for x in ["a", "b"] %} … tr.t(x).
            for line in text
                .lines()
                .filter(|l| l.contains("{% for") && l.contains('['))
            {
                let list = line.split('[').nth(1).and_then(|r| r.split(']').next());
                for item in list.into_iter().flat_map(|l| l.split(',')) {
                    let k = item.trim().trim_matches('"');
                    if is_key(k) {
                        wanted.push((file.clone(), k.to_string()));
                    }
                }
            }
        }
        // Keys made from values: priorities, delivery states, weekdays.
        for p in crate::domain::conversation::ALL_PRIORITIES {
            wanted.push(("priority".into(), p.as_str().into()));
        }
        for d in ["pending", "sent", "delivered", "read"] {
            wanted.push(("delivery".into(), d.into()));
        }
        for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
            wanted.push(("weekday".into(), d.into()));
        }
        assert!(wanted.len() > 60, "the scan finds the console's texts");
        for lang in [Lang::Ru, Lang::En] {
            let tr = Tr { lang };
            for (file, key) in &wanted {
                assert_ne!(tr.t(key), "??", "{file}: console text \"{key}\" is missing");
            }
        }
    }

    #[test]
    fn the_scan_reads_calls_as_written() {
        let code =
            r#"t(lang, "welcome"); fill(r.lang, "registered", 1, ""); b("btn_new", x); it("no")"#;
        let mut k = keys_after(code, "t(", true);
        k.extend(keys_after(code, "fill(", true));
        k.extend(keys_after(code, "b(", false));
        assert_eq!(k, ["welcome", "registered", "btn_new"]);
    }
}
