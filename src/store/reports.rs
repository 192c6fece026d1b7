//! What the reports read: a period's conversations with the measures kept on them (never
//! their messages), in pages along an index, so a year of data is read without holding it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{contacts, conversation_tags, conversations, online_spans, users};
use super::{DbConn, MultiBackend, now};
use crate::domain::{ChannelId, ContactId, ConversationId, ProjectId, Status};
use crate::error::Result;

/// One conversation as the reports see it.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = conversations)]
pub struct Fact {
    pub id: ConversationId,
    pub channel_id: ChannelId,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    #[diesel(deserialize_as = String)]
    pub status: Status,
    pub created_at: NaiveDateTime,
    pub first_customer_at: Option<NaiveDateTime>,
    pub first_response_secs: Option<i64>,
    pub first_response_work_secs: Option<i64>,
    pub resolution_secs: Option<i64>,
    pub resolution_work_secs: Option<i64>,
    pub reopens: i32,
    pub rating: Option<i32>,
    pub messages_in: i32,
    pub messages_out: i32,
}

/// A conversation closed (or cancelled), as the daily closings count it.
#[derive(Clone, Debug)]
pub struct Closing {
    pub closed_at: NaiveDateTime,
    pub channel_id: ChannelId,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub tags: Vec<i64>,
}

/// What the journal shows besides the facts.
#[derive(Queryable, Clone, Debug)]
pub struct Listed {
    pub number: i64,
    pub contact_id: ContactId,
    pub closed_at: Option<NaiveDateTime>,
}

/// Which conversations a report covers: a project, a half-open UTC range and the filters.
#[derive(Clone, Debug)]
pub struct Scope {
    pub project_id: ProjectId,
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub channel: Option<ChannelId>,
    pub team: Option<i64>,
    pub operator: Option<i64>,
    pub tag: Option<i64>,
}

impl Scope {
    /// Whether a conversation (or a closing) at `at` with these groups is in the scope: the
    /// same test `scoped` asks the database, for what is read packed.
    pub fn holds(
        &self,
        at: NaiveDateTime,
        channel: ChannelId,
        team: Option<i64>,
        assignee: Option<i64>,
        tags: &[i64],
    ) -> bool {
        self.from <= at
            && at < self.to
            && self.channel.is_none_or(|c| c == channel)
            && self.team.is_none_or(|t| team == Some(t))
            && self.operator.is_none_or(|o| assignee == Some(o))
            && self.tag.is_none_or(|t| tags.contains(&t))
    }
}

type Boxed<'a, ST = conversations::SqlType> = conversations::BoxedQuery<'a, MultiBackend, ST>;

/// The filters every report query shares.
fn scoped(s: &Scope) -> Boxed<'static> {
    let mut q = conversations::table
        .filter(conversations::project_id.eq(s.project_id))
        .into_boxed();
    if let Some(c) = s.channel {
        q = q.filter(conversations::channel_id.eq(c));
    }
    if let Some(t) = s.team {
        q = q.filter(conversations::team_id.eq(t));
    }
    if let Some(o) = s.operator {
        q = q.filter(conversations::assignee_id.eq(o));
    }
    if let Some(t) = s.tag {
        q = q.filter(diesel::dsl::exists(
            conversation_tags::table
                .filter(conversation_tags::conversation_id.eq(conversations::id))
                .filter(conversation_tags::tag_id.eq(t)),
        ));
    }
    q
}

/// Where a page of facts ended: (time, id) in the page's order.
pub type After = Option<(NaiveDateTime, ConversationId)>;

/// The conversations opened in the scope's range, oldest first, after `after`.
pub fn opened_query(s: &Scope, after: After, limit: i64) -> Boxed<'static> {
    let q = scoped(s).filter(conversations::created_at.lt(s.to));
    // One lower bound only: given two, SQLite bounds the index range by the period's start
    // and every page would read the period again up to where it starts.
    let q = match after {
        None => q.filter(conversations::created_at.ge(s.from)),
        Some((at, id)) => q.filter(
            conversations::created_at.ge(at).and(
                conversations::created_at
                    .gt(at)
                    .or(conversations::id.gt(id)),
            ),
        ),
    };
    q.order((conversations::created_at, conversations::id))
        .limit(limit)
}

pub fn opened(conn: &mut DbConn, s: &Scope, after: After, limit: i64) -> Result<Vec<Fact>> {
    Ok(opened_query(s, after, limit)
        .select(Fact::as_select())
        .load(conn)?)
}

/// The condition of the `conversations_closed` index, as the migration writes it.
const CLOSED: &str = "conversations.closed_at IS NOT NULL AND conversations.number > 0";

/// The scope's conversations closed (or cancelled) in [from, to): counted along the index,
/// one day of the period at a time, with no row read into memory.
pub fn closed_between_query(s: &Scope, from: NaiveDateTime, to: NaiveDateTime) -> Boxed<'static> {
    scoped(s)
        .filter(super::literal(CLOSED))
        .filter(conversations::closed_at.ge(from))
        .filter(conversations::closed_at.lt(to))
}

pub fn closed_between(
    conn: &mut DbConn,
    s: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<i64> {
    Ok(closed_between_query(s, from, to).count().get_result(conn)?)
}

/// The journal's page: the facts and what else the journal shows.
pub fn journal(
    conn: &mut DbConn,
    s: &Scope,
    after: After,
    limit: i64,
) -> Result<Vec<(Fact, Listed)>> {
    Ok(opened_query(s, after, limit)
        .select((
            Fact::as_select(),
            (
                conversations::number,
                conversations::contact_id,
                conversations::closed_at,
            ),
        ))
        .load(conn)?)
}

/// The scope's closings in [from, to), read (for packing a day) rather than counted.
pub fn closings_query(s: &Scope, from: NaiveDateTime, to: NaiveDateTime) -> Boxed<'static> {
    closed_between_query(s, from, to).order((conversations::closed_at, conversations::id))
}

pub fn closings(
    conn: &mut DbConn,
    s: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(ConversationId, Closing)>> {
    type Row = (
        ConversationId,
        Option<NaiveDateTime>,
        ChannelId,
        Option<i64>,
        Option<i64>,
    );
    let rows: Vec<Row> = closings_query(s, from, to)
        .select((
            conversations::id,
            conversations::closed_at,
            conversations::channel_id,
            conversations::team_id,
            conversations::assignee_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, at, channel_id, team_id, assignee_id)| {
            Some((
                id,
                Closing {
                    closed_at: at?,
                    channel_id,
                    team_id,
                    assignee_id,
                    tags: Vec::new(),
                },
            ))
        })
        .collect())
}

/// The scope's conversations not closed now.
pub fn open_now_query(s: &Scope) -> Boxed<'static> {
    scoped(s).filter(conversations::closed_at.is_null())
}

pub struct OpenNow {
    pub open: i64,
    /// The customer wrote last and nobody has answered since.
    pub unanswered: i64,
}

pub fn open_now(conn: &mut DbConn, s: &Scope) -> Result<OpenNow> {
    let rows: Vec<(String, Option<NaiveDateTime>, Option<NaiveDateTime>)> = open_now_query(s)
        .select((
            conversations::status,
            conversations::last_customer_at,
            conversations::last_operator_at,
        ))
        .load(conn)?;
    let unanswered = rows
        .iter()
        .filter(|(status, customer, operator)| {
            status != Status::Pending.as_str()
                && customer.is_some_and(|c| operator.is_none_or(|o| o < c))
        })
        .count();
    Ok(OpenNow {
        open: rows.len() as i64,
        unanswered: unanswered as i64,
    })
}

/// How many of the scope's conversations were opened since `at`, and how many closed since.
pub fn since(conn: &mut DbConn, s: &Scope, at: NaiveDateTime) -> Result<(i64, i64)> {
    let opened: i64 = opened_since_query(s, at).count().get_result(conn)?;
    let closed: i64 = closed_since_query(s, at).count().get_result(conn)?;
    Ok((opened, closed))
}

pub fn opened_since_query(s: &Scope, at: NaiveDateTime) -> Boxed<'static> {
    scoped(s).filter(conversations::created_at.ge(at))
}

pub fn closed_since_query(s: &Scope, at: NaiveDateTime) -> Boxed<'static> {
    scoped(s)
        .filter(super::literal(CLOSED))
        .filter(conversations::closed_at.ge(at))
}

/// The tags of these conversations: (conversation, tag) pairs.
pub fn tags_of(conn: &mut DbConn, ids: &[ConversationId]) -> Result<Vec<(ConversationId, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(conversation_tags::table
        .filter(conversation_tags::conversation_id.eq_any(ids.iter().map(|i| i.0)))
        .select((
            conversation_tags::conversation_id,
            conversation_tags::tag_id,
        ))
        .load(conn)?)
}

/// Contact names by id, for the journal.
pub fn contact_names(conn: &mut DbConn, ids: &[ContactId]) -> Result<Vec<(ContactId, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(contacts::table
        .filter(contacts::id.eq_any(ids.iter().map(|i| i.0)))
        .select((contacts::id, contacts::name))
        .load(conn)?)
}

/// Records a member going online or offline (only a change opens or ends a span).
pub fn presence_changed(conn: &mut DbConn, user_id: i64, online: bool) -> Result<()> {
    let open: Option<i64> = online_spans::table
        .filter(online_spans::user_id.eq(user_id))
        .filter(online_spans::ended_at.is_null())
        .select(online_spans::id)
        .first(conn)
        .optional()?;
    match (online, open) {
        (true, None) => {
            diesel::insert_into(online_spans::table)
                .values((
                    online_spans::user_id.eq(user_id),
                    online_spans::started_at.eq(now()),
                ))
                .execute(conn)?;
        }
        (false, Some(id)) => {
            diesel::update(online_spans::table.find(id))
                .set(online_spans::ended_at.eq(now()))
                .execute(conn)?;
        }
        _ => {}
    }
    Ok(())
}

/// Seconds each of these members was online within [from, to).
pub fn online_secs(
    conn: &mut DbConn,
    members: &[i64],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(i64, i64)>> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let spans: Vec<(i64, NaiveDateTime, Option<NaiveDateTime>)> = online_spans::table
        .filter(online_spans::user_id.eq_any(members))
        .filter(online_spans::started_at.lt(to))
        .filter(
            online_spans::ended_at
                .is_null()
                .or(online_spans::ended_at.gt(from)),
        )
        .select((
            online_spans::user_id,
            online_spans::started_at,
            online_spans::ended_at,
        ))
        .load(conn)?;
    let until = to.min(now());
    let mut out: Vec<(i64, i64)> = members.iter().map(|m| (*m, 0)).collect();
    for (user, start, end) in spans {
        let (a, b) = (start.max(from), end.unwrap_or(until).min(to));
        if b > a
            && let Some(o) = out.iter_mut().find(|o| o.0 == user)
        {
            o.1 += (b - a).num_seconds();
        }
    }
    Ok(out)
}

/// Names of members by id (the operators' table, the journal).
pub fn user_names(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::name))
        .load(conn)?)
}
