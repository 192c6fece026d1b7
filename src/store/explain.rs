//! The plans the database chooses for the inbox's reads, so a test can refuse a full scan
//! of conversations or messages on either backend (EXPLAIN QUERY PLAN / EXPLAIN, built from
//! the very queries the console and the API run).

use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Integer, Text};

use super::conversations::{self, Filter};
use super::{DbConn, MultiBackend, search};
use crate::error::Result;

struct Explain<Q, ST> {
    prefix: &'static str,
    query: Q,
    _row: std::marker::PhantomData<ST>,
}

impl<Q, ST> QueryId for Explain<Q, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<MultiBackend>, ST> QueryFragment<MultiBackend> for Explain<Q, ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql(self.prefix);
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q, ST: diesel::sql_types::SqlType> Query for Explain<Q, ST> {
    type SqlType = ST;
}

impl<Q, ST> RunQueryDsl<DbConn> for Explain<Q, ST> {}

/// The plan of one query, one line per step.
fn plan<Q: QueryFragment<MultiBackend>>(conn: &mut DbConn, query: Q) -> Result<Vec<String>> {
    Ok(match conn {
        DbConn::Postgresql(_) => Explain::<Q, Text> {
            prefix: "EXPLAIN ",
            query,
            _row: Default::default(),
        }
        .load::<String>(conn)?,
        DbConn::Sqlite(_) => Explain::<Q, (Integer, Integer, Integer, Text)> {
            prefix: "EXPLAIN QUERY PLAN ",
            query,
            _row: Default::default(),
        }
        .load::<(i32, i32, i32, String)>(conn)?
        .into_iter()
        .map(|r| r.3)
        .collect(),
    })
}

/// Plans of everything one list request runs: the search's index reads (if it searches),
/// the page and the count. (name, plan lines) each.
pub fn list(conn: &mut DbConn, f: &Filter) -> Result<Vec<(String, Vec<String>)>> {
    if let DbConn::Postgresql(_) = conn {
        // On a small test database a sequential scan is cheapest whatever the indexes;
        // with it priced out, one that remains means no index serves the query.
        diesel::sql_query("SET enable_seqscan = off").execute(conn)?;
    }
    let mut out = Vec::new();
    let pg = matches!(conn, DbConn::Postgresql(_));
    if let Some(text) = f.q.as_deref() {
        let t = search::terms(text);
        if !t.words.is_empty() && !t.number_only {
            // The first window and the last (the whole table) of PostgreSQL's search.
            let (messages, contacts) = (
                search::top_id(conn, "messages")?,
                search::top_id(conn, "contacts")?,
            );
            for (window, m, c) in [
                ("newest", messages - 30_000, contacts - 30_000),
                ("all", 0, 0),
            ] {
                out.push((
                    format!("search messages ({window})"),
                    plan(
                        conn,
                        search::messages_query(pg, f.project_id, &t.words, m.max(0)),
                    )?,
                ));
                out.push((
                    format!("search contacts ({window})"),
                    plan(
                        conn,
                        search::contacts_query(pg, f.project_id, &t.words, c.max(0)),
                    )?,
                ));
            }
        }
    }
    if let Some(t) = f.tag {
        out.push((
            "tagged".to_string(),
            plan(
                conn,
                super::tags::tagged_query(t, conversations::TAGGED_CAP),
            )?,
        ));
    }
    let found = conversations::found(conn, f)?;
    // A search that found nothing runs nothing more.
    if found.as_ref().is_some_and(|ids| ids.is_empty()) {
        reset(conn)?;
        return Ok(out);
    }
    out.push((
        "page".to_string(),
        plan(conn, conversations::page_query(f, found.as_deref()))?,
    ));
    out.push((
        "count".to_string(),
        plan(conn, conversations::count_query(f, found.as_deref(), 1000))?,
    ));
    reset(conn)?;
    Ok(out)
}

fn reset(conn: &mut DbConn) -> Result<()> {
    if let DbConn::Postgresql(_) = conn {
        diesel::sql_query("RESET enable_seqscan").execute(conn)?;
    }
    Ok(())
}

/// Plans of the timer queries the scheduler and the inbound path run: the due timers, and
/// a conversation's or a contact's pending ones (which must read that conversation's rows,
/// not every pending timer).
pub fn timers(conn: &mut DbConn) -> Result<Vec<(String, Vec<String>)>> {
    use super::timers as t;
    use crate::domain::{ChannelId, ContactId, ConversationId, TimerKind};
    let now = super::now();
    if let DbConn::Postgresql(_) = conn {
        // Fresh statistics: the plan is the one this data gives, not one that depends on
        // whether autovacuum has analyzed the tables yet.
        diesel::sql_query("ANALYZE timers").execute(conn)?;
        diesel::sql_query("ANALYZE conversations").execute(conn)?;
        diesel::sql_query("SET enable_seqscan = off").execute(conn)?;
    }
    let plans = vec![
        (
            "due".to_string(),
            plan(conn, t::due_query(now, 200).select(t::Timer::as_select()))?,
        ),
        (
            "pending of a conversation".to_string(),
            plan(
                conn,
                t::pending_of(ConversationId(1)).select(super::schema::timers::id),
            )?,
        ),
        (
            "pending of a contact".to_string(),
            plan(
                conn,
                t::pending_for_contact_query(
                    ContactId(1),
                    ChannelId(1),
                    &[TimerKind::Rating, TimerKind::RatingComment],
                ),
            )?,
        ),
    ];
    reset(conn)?;
    Ok(plans)
}

/// Plans of what distribution reads on every scheduler pass and at each arrival: the
/// channel's queue and the operators' open conversations (neither may read every
/// conversation of the project).
pub fn distribution(conn: &mut DbConn) -> Result<Vec<(String, Vec<String>)>> {
    use crate::domain::{ChannelId, ProjectId};
    if let DbConn::Postgresql(_) = conn {
        diesel::sql_query("SET enable_seqscan = off").execute(conn)?;
    }
    let plans = vec![
        (
            "waiting".to_string(),
            plan(
                conn,
                super::distribution::waiting_rows!(ChannelId(1), 100)
                    .select(super::schema::conversations::id),
            )?,
        ),
        (
            "open counts".to_string(),
            plan(
                conn,
                super::distribution::open_counts_query(ProjectId(1), &[1, 2, 3]),
            )?,
        ),
    ];
    reset(conn)?;
    Ok(plans)
}

/// Plans of the contacts page's reads: unfiltered, by tag, by organisation, VIP, a search's
/// found ids, a deep page, and registration by phone.
pub fn contacts(conn: &mut DbConn) -> Result<Vec<(String, Vec<String>)>> {
    use super::contact_list::{Filter, Found, page_query};
    use super::schema::contacts as c;
    use crate::domain::{ContactId, ProjectId};
    if let DbConn::Postgresql(_) = conn {
        diesel::sql_query("SET enable_seqscan = off").execute(conn)?;
    }
    let pid = ProjectId(1);
    let cases: Vec<(&str, Filter, Option<Found>, Option<ContactId>)> = vec![
        ("all", Filter::default(), None, None),
        (
            "deep page",
            Filter::default(),
            None,
            Some(ContactId(500_000)),
        ),
        (
            "tag",
            Filter {
                tag: Some(1),
                ..Filter::default()
            },
            None,
            None,
        ),
        (
            "organization",
            Filter {
                organization: Some(1),
                ..Filter::default()
            },
            None,
            None,
        ),
        (
            "vip",
            Filter {
                vip: true,
                ..Filter::default()
            },
            None,
            None,
        ),
        (
            "search",
            Filter::default(),
            Some(Found {
                contacts: vec![1, 2, 3],
                organizations: vec![1],
            }),
            None,
        ),
    ];
    let mut plans = Vec::new();
    for (name, f, found, before) in cases {
        plans.push((
            name.to_string(),
            plan(conn, page_query(pid, &f, found, before, 51).select(c::id))?,
        ));
    }
    plans.push((
        "by phone".to_string(),
        plan(
            conn,
            super::contacts::with_phone_key(pid, "79161234567".into())
                .select(c::id)
                .limit(1),
        )?,
    ));
    reset(conn)?;
    Ok(plans)
}

/// Plans of what outgoing webhooks read: the integrations an event is queued for (on every
/// message), the worker's due deliveries, the order check, its next wake-up and the log.
pub fn webhooks(conn: &mut DbConn) -> Result<Vec<(String, Vec<String>)>> {
    use super::integrations as i;
    use crate::domain::{ConversationId, ProjectId};
    if let DbConn::Postgresql(_) = conn {
        diesel::sql_query("SET enable_seqscan = off").execute(conn)?;
    }
    let t = super::now();
    let plans = vec![
        (
            "active".to_string(),
            plan(
                conn,
                i::active_query(ProjectId(1)).select(super::schema::integrations::id),
            )?,
        ),
        ("due".to_string(), plan(conn, i::due_query(t, 16))?),
        (
            "older".to_string(),
            plan(conn, i::older_pending_query(1, Some(ConversationId(1)), 10))?,
        ),
        ("next".to_string(), plan(conn, i::next_due_query())?),
        (
            "crm progress".to_string(),
            plan(
                conn,
                super::crm_links::of_query(1, ConversationId(1))
                    .select(super::schema::crm_links::id),
            )?,
        ),
        (
            "crm sidebar".to_string(),
            plan(
                conn,
                super::crm_links::of_conversation_query(ProjectId(1), ConversationId(1))
                    .select(super::schema::crm_links::id),
            )?,
        ),
        (
            "log".to_string(),
            plan(
                conn,
                i::log_query(1, Some(100), 50).select(super::schema::webhook_deliveries::id),
            )?,
        ),
    ];
    reset(conn)?;
    Ok(plans)
}

/// Plans of what notices read: the mail worker's due letters and its next wake-up, a
/// member's ways (every notice), and the bot's look-up of a linking code.
pub fn notices(conn: &mut DbConn) -> Result<Vec<(String, Vec<String>)>> {
    use super::schema::memberships;
    use crate::domain::ProjectId;
    if let DbConn::Postgresql(_) = conn {
        diesel::sql_query("SET enable_seqscan = off").execute(conn)?;
    }
    let t = super::now();
    let plans = vec![
        (
            "letters due".to_string(),
            plan(conn, super::letters::due_query(t, 16))?,
        ),
        (
            "letters next".to_string(),
            plan(conn, super::letters::next_due_query())?,
        ),
        (
            "link code".to_string(),
            plan(
                conn,
                super::members::link_code_query(ProjectId(1), "x").select(memberships::user_id),
            )?,
        ),
        (
            "recipient".to_string(),
            plan(conn, super::notifications::recipient_query(ProjectId(1), 1))?,
        ),
    ];
    reset(conn)?;
    Ok(plans)
}

/// Plans of what a report reads: a period's conversations and closings (unfiltered and with
/// every filter), what is open now and what was opened or closed since the period.
pub fn reports(conn: &mut DbConn) -> Result<Vec<(String, Vec<String>)>> {
    use super::reports::{self, Scope};
    use crate::domain::{ChannelId, ConversationId, ProjectId};
    if let DbConn::Postgresql(_) = conn {
        diesel::sql_query("SET enable_seqscan = off").execute(conn)?;
    }
    let t = super::now();
    let plain = Scope {
        project_id: ProjectId(1),
        from: t - chrono::Duration::days(30),
        to: t,
        channel: None,
        team: None,
        operator: None,
        tag: None,
    };
    let filtered = Scope {
        channel: Some(ChannelId(1)),
        team: Some(1),
        operator: Some(1),
        tag: Some(1),
        ..plain.clone()
    };
    let after = Some((t - chrono::Duration::days(3), ConversationId(10)));
    let mut plans = Vec::new();
    for (label, s) in [("", &plain), (" filtered", &filtered)] {
        plans.push((
            format!("opened{label}"),
            plan(conn, reports::opened_query(s, None, 2000))?,
        ));
        plans.push((
            format!("opened next{label}"),
            plan(conn, reports::opened_query(s, after, 2000))?,
        ));
        plans.push((
            format!("closed{label}"),
            plan(conn, reports::closed_between_query(s, s.from, s.to))?,
        ));
        plans.push((
            format!("open now{label}"),
            plan(conn, reports::open_now_query(s))?,
        ));
        plans.push((
            format!("opened since{label}"),
            plan(conn, reports::opened_since_query(s, t))?,
        ));
        plans.push((
            format!("closed since{label}"),
            plan(conn, reports::closed_since_query(s, t))?,
        ));
    }
    use super::report_days;
    let (from, to) = (plain.from.date(), plain.to.date());
    plans.push((
        "closings".to_string(),
        plan(conn, reports::closings_query(&plain, plain.from, plain.to))?,
    ));
    plans.push((
        "packed days".to_string(),
        plan(conn, report_days::fresh_query(ProjectId(1), from, to))?,
    ));
    plans.push((
        "stale days".to_string(),
        plan(conn, report_days::stale_query(ProjectId(1), 64))?,
    ));
    plans.push((
        "first conversation".to_string(),
        plan(conn, report_days::first_query(ProjectId(1)).limit(1))?,
    ));
    reset(conn)?;
    Ok(plans)
}
