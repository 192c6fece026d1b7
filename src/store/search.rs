//! Search: which conversations a text finds, through the full-text indexes (SQLite FTS5,
//! PostgreSQL GIN over tsvector; see the scale migration). What people wrote, the contact's
//! name, e-mail and phone, and `#N`. Always bounded: the newest matches only.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::DbConn;
use super::schema::conversations;
use crate::domain::ProjectId;
use crate::error::Result;

/// Newest matching messages read; their conversations are what a text search lists.
const MESSAGES: i64 = 1000;
/// Newest matching contacts read.
const CONTACTS: i64 = 200;
/// Conversations of the matching contacts read.
const OF_CONTACTS: i64 = 1000;
const MAX_TERMS: usize = 8;

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// What the operator typed, split the way the indexes split text.
#[derive(Debug, PartialEq, Eq)]
pub struct Terms {
    /// Lower-cased words (letters and digits only, so nothing in them is query syntax).
    pub words: Vec<String>,
    /// `#123` or `123`: a conversation number.
    pub number: Option<i64>,
    /// Only a number was asked for (`#123`): nothing else is searched.
    pub number_only: bool,
}

pub fn terms(text: &str) -> Terms {
    let t = text.trim();
    let digits_only = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if let Some(n) = t.strip_prefix('#').filter(|n| digits_only(n)) {
        return Terms {
            words: Vec::new(),
            number: n.parse().ok(),
            number_only: true,
        };
    }
    let number = digits_only(t).then(|| t.parse().ok()).flatten();
    // A phone however it is written: one run of digits, a Russian trunk 8 read as +7.
    let phoneish = t
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let separated = t.chars().any(|c| !c.is_ascii_digit());
    if phoneish && (digits.len() >= 5 || (digits.len() >= 4 && separated)) {
        // A Russian number is looked for by its last ten digits, which every phone is also
        // indexed by: stored as +7…, 8… or without the trunk, it is found however typed.
        let digits = match digits.chars().next() {
            Some('7' | '8') if digits.len() == 11 => digits[1..].to_string(),
            Some('7') if t.starts_with("+7") => digits[1..].to_string(),
            _ => digits,
        };
        return Terms {
            words: vec![digits],
            number,
            number_only: false,
        };
    }
    let words = t
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_TERMS)
        .map(|w| w.to_lowercase().chars().take(64).collect())
        .collect();
    Terms {
        words,
        number,
        number_only: false,
    }
}

/// Endings a Russian stem takes in the common declensions and conjugations.
const ENDINGS: [&str; 24] = [
    "", "а", "у", "е", "и", "ы", "о", "ой", "ом", "ей", "ам", "ами", "ах", "ов", "ям", "ями", "ях",
    "ь", "ю", "я", "ую", "ая", "ые", "ого",
];

/// A Russian word's stem (PostgreSQL's russian configuration stems by itself; SQLite's
/// FTS5 does not): the word without up to two final vowels or soft signs.
fn stem(word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let mut cut = 0;
    while cut < 2 && chars.len() > 3 && "аеёиийоуыьэюя".contains(chars[chars.len() - 1])
    {
        chars.pop();
        cut += 1;
    }
    chars.into_iter().collect()
}

/// Whether a word is matched through its stem (a Russian word of four letters or more).
fn stemmed(word: &str) -> bool {
    word.chars().all(|c| matches!(c, 'а'..='я' | 'ё')) && word.chars().count() >= 4
}

/// FTS5: every word required. A Russian word is looked up in its usual forms ("доставка"
/// finds "доставку", "доставкой", "доставки"), each an exact term, because a prefix query
/// over a common stem reads every matching row before it can return the newest; other
/// words (and every word, for contacts) match as prefixes.
fn fts5(words: &[String], forms: bool) -> String {
    words
        .iter()
        .map(|w| {
            if forms && stemmed(w) {
                let s = stem(w);
                let mut all: Vec<String> = ENDINGS.iter().map(|e| format!("{s}{e}")).collect();
                all.push(w.clone());
                all.sort();
                all.dedup();
                let alts: Vec<String> = all.iter().map(|f| format!("\"{f}\"")).collect();
                format!("({})", alts.join(" OR "))
            } else if w.chars().count() < 3 {
                // A prefix of one or two characters merges half the index.
                format!("\"{w}\"")
            } else {
                format!("\"{w}\"*")
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// tsquery: every word required. Words of four letters or more are matched as whole words
/// (the configuration stems them, so word forms match) and shorter ones and numbers as
/// prefixes: a prefix over a common stem merges the postings of every word it starts.
fn tsquery(words: &[String], prefixes: bool) -> String {
    words
        .iter()
        .map(|w| {
            let word = w.chars().count() >= 4 && w.chars().all(char::is_alphabetic);
            if word && !prefixes {
                w.clone()
            } else {
                format!("{w}:*")
            }
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The PostgreSQL index expression over a contact (must stay identical to the migration's).
const PG_CONTACT_DOC: &str = "to_tsvector('simple', \
    coalesce(name, '') || ' ' || translate(coalesce(email, ''), '.@_-+', '     ') || ' ' || \
    regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') || ' ' || \
    right(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'), 10) || ' ' || \
    right(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'), 7))";

pub(super) type Query = diesel::query_builder::BoxedSqlQuery<
    'static,
    super::MultiBackend,
    diesel::query_builder::SqlQuery,
>;

/// On PostgreSQL a search reads the newest rows first, in windows of ids that grow tenfold
/// until enough match: a GIN index returns its matches unordered, so a common word would
/// otherwise mean reading every matching row, and a rare one must not be looked for by
/// walking the table newest first (which the planner picks when it misjudges the match
/// rate). The order is by `id + 0` so no index walk in id order can be chosen.
const FIRST_WINDOW: i64 = 30_000;

/// The newest messages with every word, their conversations' ids; on PostgreSQL only
/// among message ids above `above`.
pub(super) fn messages_query(
    pg: bool,
    project_id: ProjectId,
    words: &[String],
    above: i64,
) -> Query {
    if pg {
        diesel::sql_query(
            "SELECT conversation_id AS id FROM messages \
             WHERE project_id = $1 AND kind <> 'system' \
             AND to_tsvector('russian', text) @@ to_tsquery('russian', $2) \
             AND id > $3 ORDER BY id + 0 DESC LIMIT $4",
        )
        .into_boxed()
        .bind::<BigInt, _>(project_id.0)
        .bind::<Text, _>(tsquery(words, false))
        .bind::<BigInt, _>(above)
        .bind::<BigInt, _>(MESSAGES)
    } else {
        diesel::sql_query(
            "SELECT m.conversation_id AS id FROM messages_search s \
             JOIN messages m ON m.id = s.rowid \
             WHERE messages_search MATCH ? AND m.project_id = ? \
             ORDER BY s.rowid DESC LIMIT ?",
        )
        .into_boxed()
        .bind::<Text, _>(fts5(words, true))
        .bind::<BigInt, _>(project_id.0)
        .bind::<BigInt, _>(MESSAGES)
    }
}

/// The newest contacts with every word in their name, e-mail or phone (on PostgreSQL
/// among contact ids above `above`).
pub(super) fn contacts_query(
    pg: bool,
    project_id: ProjectId,
    words: &[String],
    above: i64,
) -> Query {
    if pg {
        diesel::sql_query(format!(
            "SELECT id FROM contacts WHERE project_id = $1 \
             AND {PG_CONTACT_DOC} @@ to_tsquery('simple', $2) \
             AND id > $3 ORDER BY id + 0 DESC LIMIT $4"
        ))
        .into_boxed()
        .bind::<BigInt, _>(project_id.0)
        .bind::<Text, _>(tsquery(words, true))
        .bind::<BigInt, _>(above)
        .bind::<BigInt, _>(CONTACTS)
    } else {
        diesel::sql_query(
            "SELECT c.id AS id FROM contacts_search s JOIN contacts c ON c.id = s.rowid \
             WHERE contacts_search MATCH ? AND c.project_id = ? \
             ORDER BY s.rowid DESC LIMIT ?",
        )
        .into_boxed()
        .bind::<Text, _>(fts5(words, false))
        .bind::<BigInt, _>(project_id.0)
        .bind::<BigInt, _>(CONTACTS)
    }
}

/// Messages the indexer has not reached yet (written in the last moments): read directly,
/// at most this many, so a search finds a message the moment it is stored.
const UNINDEXED: i64 = 5000;

#[derive(QueryableByName)]
struct Tail {
    #[diesel(sql_type = BigInt)]
    conversation_id: i64,
    #[diesel(sql_type = Text)]
    text: String,
}

/// Lower-cased words of a text split the way FTS5's unicode61 tokenizer splits them, with
/// the two letters it folds (`remove_diacritics`) folded the same way.
fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(fold)
}

fn fold(word: &str) -> String {
    word.to_lowercase()
        .chars()
        .map(|c| match c {
            'ё' => 'е',
            'й' => 'и',
            c => c,
        })
        .collect()
}

/// Whether a text has every word the way the index would match it: a word of the text
/// starts with the word's stem (Russian words) or with the word itself.
fn text_matches(text: &str, words: &[String]) -> bool {
    let tokens: Vec<String> = tokens(text).collect();
    words.iter().all(|w| {
        let stem = fold(&if stemmed(w) { stem(w) } else { w.clone() });
        tokens.iter().any(|t| t.starts_with(stem.as_str()))
    })
}

#[derive(QueryableByName)]
struct NewContact {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    phone: String,
}

/// Whether a contact has every word as the contacts index would match it: a prefix of a
/// word of the name or e-mail or of the phone's digits (whole, last ten, last seven); a word
/// under three characters only whole.
fn contact_matches(c: &NewContact, words: &[String]) -> bool {
    let digits: String = c.phone.chars().filter(char::is_ascii_digit).collect();
    let tail = |n: usize| digits[digits.len().saturating_sub(n)..].to_string();
    let mut all: Vec<String> = tokens(&c.name).chain(tokens(&c.email)).collect();
    if !digits.is_empty() {
        all.extend([tail(10), tail(7), digits.clone()]);
    }
    words.iter().all(|w| {
        let w = fold(w);
        all.iter().any(|t| {
            if w.chars().count() < 3 {
                *t == w
            } else {
                t.starts_with(w.as_str())
            }
        })
    })
}

/// Contacts the indexer has not reached yet, read directly (see `unindexed_messages`).
fn unindexed_contacts(
    conn: &mut DbConn,
    project_id: ProjectId,
    words: &[String],
) -> Result<Vec<i64>> {
    let tail: Vec<NewContact> = diesel::sql_query(
        "SELECT id, name, coalesce(email, '') AS email, coalesce(phone, '') AS phone \
         FROM contacts WHERE id > (SELECT contacts_up_to FROM search_progress) \
         AND project_id = ? ORDER BY id DESC LIMIT ?",
    )
    .bind::<BigInt, _>(project_id.0)
    .bind::<BigInt, _>(UNINDEXED)
    .load(conn)?;
    Ok(tail
        .into_iter()
        .filter(|c| contact_matches(c, words))
        .map(|c| c.id)
        .collect())
}

fn unindexed_messages(
    conn: &mut DbConn,
    project_id: ProjectId,
    words: &[String],
) -> Result<Vec<i64>> {
    let tail: Vec<Tail> = diesel::sql_query(
        "SELECT conversation_id, text FROM messages \
         WHERE id > (SELECT messages_up_to FROM search_progress) \
         AND project_id = ? AND kind <> 'system' ORDER BY id DESC LIMIT ?",
    )
    .bind::<BigInt, _>(project_id.0)
    .bind::<BigInt, _>(UNINDEXED)
    .load(conn)?;
    Ok(tail
        .into_iter()
        .filter(|m| text_matches(&m.text, words))
        .map(|m| m.conversation_id)
        .collect())
}

/// What the indexer passes: the table, its column in `search_progress`, and the rows of
/// one range as the index takes them.
struct Indexed {
    table: &'static str,
    progress: &'static str,
    insert: &'static str,
}

const INDEXED: [Indexed; 2] = [
    Indexed {
        table: "messages",
        progress: "messages_up_to",
        insert: "INSERT INTO messages_search (rowid, text) SELECT id, text FROM messages \
                 WHERE id > ? AND id <= ? AND kind <> 'system'",
    },
    Indexed {
        table: "contacts",
        progress: "contacts_up_to",
        insert: "INSERT INTO contacts_search (rowid, name, email, phone) \
                 SELECT id, name, email, phone FROM contacts_search_source \
                 WHERE id > ? AND id <= ?",
    },
];

/// Indexes up to `limit` messages and `limit` contacts written since the last call
/// (SQLite; PostgreSQL's GIN indexes are kept by the database itself). Returns the most ids
/// it passed in either table, so a caller can tell when both are caught up.
pub fn index_new(conn: &mut DbConn, limit: i64) -> Result<i64> {
    if !matches!(conn, DbConn::Sqlite(_)) {
        return Ok(0);
    }
    #[derive(QueryableByName)]
    struct Range {
        #[diesel(sql_type = BigInt)]
        from: i64,
        #[diesel(sql_type = BigInt)]
        to: i64,
    }
    let mut most = 0;
    for t in &INDEXED {
        let (table, progress) = (t.table, t.progress);
        let r: Range = diesel::sql_query(format!(
            "SELECT p.{progress} AS \"from\", coalesce((SELECT max(id) FROM \
             (SELECT id FROM {table} WHERE id > p.{progress} ORDER BY id LIMIT ?)), \
             p.{progress}) AS \"to\" FROM search_progress p"
        ))
        .bind::<BigInt, _>(limit)
        .get_result(conn)?;
        if r.to == r.from {
            continue;
        }
        diesel::sql_query(t.insert)
            .bind::<BigInt, _>(r.from)
            .bind::<BigInt, _>(r.to)
            .execute(conn)?;
        diesel::sql_query(format!("UPDATE search_progress SET {progress} = ?"))
            .bind::<BigInt, _>(r.to)
            .execute(conn)?;
        most = most.max(r.to - r.from);
    }
    Ok(most)
}

/// The highest id in `table` ("messages" or "contacts"), where PostgreSQL's windows start.
pub(super) fn top_id(conn: &mut DbConn, table: &str) -> Result<i64> {
    let top: Id = diesel::sql_query(format!("SELECT coalesce(max(id), 0) AS id FROM {table}"))
        .get_result(conn)?;
    Ok(top.id)
}

/// Runs a search query window by window (see FIRST_WINDOW) until `limit` rows match or the
/// window is the whole table; SQLite's FTS5 reads newest first by itself, in one query.
fn newest(
    conn: &mut DbConn,
    table: &str,
    limit: i64,
    query: impl Fn(i64) -> Query,
) -> Result<Vec<Id>> {
    if !matches!(conn, DbConn::Postgresql(_)) {
        return Ok(query(0).load(conn)?);
    }
    let top = top_id(conn, table)?;
    let mut span = FIRST_WINDOW;
    loop {
        let above = (top - span).max(0);
        let rows: Vec<Id> = query(above).load(conn)?;
        if rows.len() as i64 >= limit || above == 0 {
            return Ok(rows);
        }
        span = span.saturating_mul(10);
    }
}

/// The newest contacts (at most `CONTACTS`, and those the indexer has not reached yet) with
/// every word in their name, e-mail or phone; ids, unordered.
fn contacts_with(conn: &mut DbConn, project_id: ProjectId, words: &[String]) -> Result<Vec<i64>> {
    let pg = matches!(conn, DbConn::Postgresql(_));
    let mut ids: Vec<i64> = newest(conn, "contacts", CONTACTS, |above| {
        contacts_query(pg, project_id, words, above)
    })?
    .into_iter()
    .map(|r| r.id)
    .collect();
    if !pg {
        ids.extend(unindexed_contacts(conn, project_id, words)?);
    }
    Ok(ids)
}

/// The contacts a search text finds (the contacts page): by name, e-mail or phone, and
/// whether it reached the bound (only the newest matches are listed then).
pub fn contacts(conn: &mut DbConn, project_id: ProjectId, text: &str) -> Result<(Vec<i64>, bool)> {
    let t = terms(text);
    if t.words.is_empty() {
        return Ok((Vec::new(), false));
    }
    let mut ids = contacts_with(conn, project_id, &t.words)?;
    let capped = ids.len() as i64 >= CONTACTS;
    ids.sort_unstable();
    ids.dedup();
    Ok((ids, capped))
}

/// The conversations a search text finds in a project (ids, unordered, bounded).
pub fn conversations(conn: &mut DbConn, project_id: ProjectId, text: &str) -> Result<Vec<i64>> {
    let t = terms(text);
    let mut out: Vec<i64> = Vec::new();
    if let Some(n) = t.number {
        out.extend(
            conversations::table
                .filter(conversations::project_id.eq(project_id))
                .filter(conversations::number.eq(n))
                .select(conversations::id)
                .load::<crate::domain::ConversationId>(conn)?
                .into_iter()
                .map(|c| c.0),
        );
    }
    if t.number_only || t.words.is_empty() {
        return Ok(out);
    }
    let pg = matches!(conn, DbConn::Postgresql(_));
    let by_text = newest(conn, "messages", MESSAGES, |above| {
        messages_query(pg, project_id, &t.words, above)
    })?;
    out.extend(by_text.into_iter().map(|r| r.id));
    if !pg {
        out.extend(unindexed_messages(conn, project_id, &t.words)?);
    }
    let contacts = contacts_with(conn, project_id, &t.words)?;
    if !contacts.is_empty() {
        let ids = contacts;
        out.extend(
            conversations::table
                .filter(conversations::contact_id.eq_any(ids))
                .select(conversations::id)
                .limit(OF_CONTACTS)
                .load::<crate::domain::ConversationId>(conn)?
                .into_iter()
                .map(|c| c.0),
        );
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_a_phone_and_words_are_told_apart() {
        let t = terms("#500000");
        assert_eq!(
            (t.number, t.number_only, t.words.len()),
            (Some(500000), true, 0)
        );
        let t = terms("8 (916) 123-45-67");
        assert_eq!(t.words, vec!["9161234567".to_string()]);
        assert_eq!(
            terms("+7 916 123-45-67").words,
            terms("8 (916) 123-45-67").words
        );
        assert!(!t.number_only);
        let t = terms("Доставка, \"заказ\" OR *");
        assert_eq!(t.words, vec!["доставка", "заказ", "or"]);
        let q = fts5(&t.words, true);
        for form in [
            "\"доставка\"",
            "\"доставку\"",
            "\"доставкой\"",
            "\"заказа\"",
            "\"заказ\"",
        ] {
            assert!(q.contains(form), "{form} missing from {q}");
        }
        assert!(q.ends_with(" AND \"or\""), "{q}");
        assert_eq!(fts5(&t.words[1..2], false), "\"заказ\"*");
        assert_eq!(tsquery(&t.words, false), "доставка & заказ & or:*");
        assert_eq!(tsquery(&t.words, true), "доставка:* & заказ:* & or:*");
        assert!(text_matches(
            "Где ДОСТАВКУ ждать?",
            &terms("доставка").words
        ));
        assert!(!text_matches("Где заказ?", &terms("доставка").words));
        assert_eq!(terms("+7 916 12").words, vec!["91612".to_string()]);
        assert_eq!(fts5(&["7".to_string()], false), "\"7\"");
        assert_eq!(terms("123").number, Some(123));
        assert!(terms("  ").words.is_empty());
    }
}
