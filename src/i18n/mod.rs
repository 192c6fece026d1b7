//! Every text people read, in Russian and English: the console (`Tr`), what customers are
//! told (`customer`), and how stored events and notices read (`events`). One `Lang` for all.

pub mod console;
pub mod customer;
pub mod events;

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
