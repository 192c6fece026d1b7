use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
use serde::Serialize;

use super::prepared::fixed;
use super::schema::{channels, contacts, conversations, messages, team_members, users};
use super::{DbConn, now};
use crate::domain::{ChannelId, ContactId, ConversationId, ProjectId};
use crate::domain::{Priority, Status};
use crate::error::{Error, Result};

#[derive(Queryable, Selectable, Clone, Debug, Serialize)]
#[diesel(table_name = conversations)]
pub struct Conversation {
    pub id: ConversationId,
    pub project_id: ProjectId,
    pub number: i64,
    pub contact_id: ContactId,
    pub channel_id: ChannelId,
    pub subject: String,
    #[diesel(deserialize_as = String)]
    pub status: Status,
    #[diesel(deserialize_as = String)]
    pub priority: Priority,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub due_at: Option<NaiveDateTime>,
    pub unread: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_message_at: NaiveDateTime,
    pub last_customer_at: Option<NaiveDateTime>,
    pub last_operator_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub rating: Option<i32>,
    pub rating_comment: Option<String>,
    pub origin: Option<String>,
    #[serde(skip)]
    pub reply_to: Option<String>,
    /// The customer's first message: what the first response is measured from.
    pub first_customer_at: Option<NaiveDateTime>,
    pub first_response_at: Option<NaiveDateTime>,
}

diesel::define_sql_function! {
    fn coalesce(x: diesel::sql_types::Nullable<diesel::sql_types::Timestamp>, y: diesel::sql_types::Nullable<diesel::sql_types::Timestamp>) -> diesel::sql_types::Nullable<diesel::sql_types::Timestamp>;
}

const FINAL: [&str; 2] = ["closed", "cancelled"];

pub fn create(
    conn: &mut DbConn,
    project_id: ProjectId,
    number: i64,
    contact_id: ContactId,
    channel_id: ChannelId,
    subject: &str,
    t: NaiveDateTime,
) -> Result<Conversation> {
    let id: ConversationId = diesel::insert_into(conversations::table)
        .values((
            conversations::project_id.eq(project_id),
            conversations::number.eq(number),
            conversations::contact_id.eq(contact_id),
            conversations::channel_id.eq(channel_id),
            conversations::subject.eq(subject),
            conversations::status.eq(Status::New.as_str()),
            conversations::priority.eq(Priority::Normal.as_str()),
            conversations::unread.eq(true),
            conversations::created_at.eq(t),
            conversations::updated_at.eq(t),
            conversations::last_message_at.eq(t),
        ))
        .returning(conversations::id)
        .get_result(conn)?;
    by_id(conn, project_id, id)
}

pub fn by_id(conn: &mut DbConn, project_id: ProjectId, id: ConversationId) -> Result<Conversation> {
    conversations::table
        .find(id)
        .filter(conversations::project_id.eq(project_id))
        .select(Conversation::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("conversation {id} not found")))
}

/// The contact's latest conversation in this channel that is not closed or cancelled.
pub fn latest_open_for(
    conn: &mut DbConn,
    contact_id: ContactId,
    channel_id: ChannelId,
) -> Result<Option<Conversation>> {
    latest(conn, contact_id, channel_id, true)
}

/// The contact's latest conversation in this channel, whatever its status.
pub fn latest_for(
    conn: &mut DbConn,
    contact_id: ContactId,
    channel_id: ChannelId,
) -> Result<Option<Conversation>> {
    latest(conn, contact_id, channel_id, false)
}

fn latest(
    conn: &mut DbConn,
    contact_id: ContactId,
    channel_id: ChannelId,
    open_only: bool,
) -> Result<Option<Conversation>> {
    let mut q = conversations::table
        .filter(conversations::contact_id.eq(contact_id))
        .filter(conversations::channel_id.eq(channel_id))
        .into_boxed();
    if open_only {
        q = q.filter(conversations::status.ne_all(FINAL));
    }
    Ok(q.order(conversations::id.desc())
        .select(Conversation::as_select())
        .first(conn)
        .optional()?)
}

pub fn of_contact(
    conn: &mut DbConn,
    project_id: ProjectId,
    contact_id: ContactId,
) -> Result<Vec<Conversation>> {
    Ok(conversations::table
        .filter(conversations::project_id.eq(project_id))
        .filter(conversations::contact_id.eq(contact_id))
        .order(conversations::id.desc())
        .limit(50)
        .select(Conversation::as_select())
        .load(conn)?)
}

/// A customer's messages written to a conversation in one batch: from which of the contact's
/// identities (where known; replies go there), when the last came, and how many (the first of
/// them may be the conversation's first).
pub type Touch<'a> = (ConversationId, Option<&'a str>, NaiveDateTime, i32);

/// Records customers' activity on conversations (once per conversation per batch), and marks
/// the packed report days of the old ones among them stale.
pub fn touch_customers(conn: &mut DbConn, touches: &[Touch]) -> Result<()> {
    for (id, from, at, messages) in touches {
        let first = (*messages > 0).then_some(*at);
        let (at, added, id) = (
            at.into_sql::<Timestamp>(),
            messages.into_sql::<Integer>(),
            id.0.into_sql::<BigInt>(),
        );
        // Kept prepared (see `prepared`): this runs for every conversation a batch writes to.
        // Without a writer (a blocked customer) the conversation keeps whom replies go to.
        fixed(
            "UPDATE conversations SET last_customer_at = ?, last_message_at = ?, \
             updated_at = ?, unread = TRUE, first_customer_at = COALESCE(first_customer_at, ?), \
             messages_in = messages_in + ?, reply_to = COALESCE(?, reply_to) WHERE id = ?",
            (
                at,
                at,
                at,
                first.into_sql::<Nullable<Timestamp>>(),
                added,
                from.into_sql::<Nullable<Text>>(),
                id,
            ),
        )
        .execute(conn)?;
    }
    let ids: Vec<ConversationId> = touches.iter().map(|t| t.0).collect();
    super::report_days::touched(conn, &ids)
}

pub fn touch_operator(conn: &mut DbConn, id: ConversationId, at: NaiveDateTime) -> Result<()> {
    diesel::update(conversations::table.find(id))
        .set((
            conversations::last_operator_at.eq(at),
            conversations::last_message_at.eq(at),
            conversations::updated_at.eq(at),
            conversations::unread.eq(false),
            conversations::messages_out.eq(conversations::messages_out + 1),
        ))
        .execute(conn)?;
    super::report_days::touched(conn, &[id])
}

/// How long a span took: calendar and working seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Took {
    pub secs: i64,
    pub work_secs: i64,
}

/// The team's first answer to the customer, measured once.
pub fn set_first_response(
    conn: &mut DbConn,
    id: ConversationId,
    at: NaiveDateTime,
    took: Took,
) -> Result<()> {
    diesel::update(
        conversations::table
            .find(id)
            .filter(conversations::first_response_at.is_null()),
    )
    .set((
        conversations::first_response_at.eq(at),
        conversations::first_response_secs.eq(took.secs),
        conversations::first_response_work_secs.eq(took.work_secs),
    ))
    .execute(conn)?;
    Ok(())
}

/// A resolved or closed conversation went back to work.
pub fn count_reopen(conn: &mut DbConn, id: ConversationId) -> Result<()> {
    diesel::update(conversations::table.find(id))
        .set(conversations::reopens.eq(conversations::reopens + 1))
        .execute(conn)?;
    Ok(())
}

/// A new status; with `resolution`, the conversation was resolved (or closed without a
/// resolution first) then: the latest resolution counts. One UPDATE for both, as every
/// UPDATE of a conversation rewrites its index entries.
pub fn set_status(
    conn: &mut DbConn,
    id: ConversationId,
    status: Status,
    t: NaiveDateTime,
    resolution: Option<(NaiveDateTime, Took)>,
) -> Result<()> {
    let closed_at = if status.is_final() { Some(t) } else { None };
    let (at, took) = resolution.unzip();
    fixed(
        "UPDATE conversations SET status = ?, updated_at = ?, closed_at = ?, \
         resolved_at = COALESCE(?, resolved_at), resolution_secs = COALESCE(?, resolution_secs), \
         resolution_work_secs = COALESCE(?, resolution_work_secs) WHERE id = ?",
        (
            status.as_str().into_sql::<Text>(),
            t.into_sql::<Timestamp>(),
            closed_at.into_sql::<Nullable<Timestamp>>(),
            at.into_sql::<Nullable<Timestamp>>(),
            took.map(|t| t.secs).into_sql::<Nullable<BigInt>>(),
            took.map(|t| t.work_secs).into_sql::<Nullable<BigInt>>(),
            id.0.into_sql::<BigInt>(),
        ),
    )
    .execute(conn)?;
    Ok(())
}

pub fn set_assignee(conn: &mut DbConn, id: ConversationId, assignee: Option<i64>) -> Result<()> {
    diesel::update(conversations::table.find(id))
        .set((
            conversations::assignee_id.eq(assignee),
            conversations::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_team(conn: &mut DbConn, id: ConversationId, team: Option<i64>) -> Result<()> {
    diesel::update(conversations::table.find(id))
        .set((
            conversations::team_id.eq(team),
            conversations::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_priority(conn: &mut DbConn, id: ConversationId, p: Priority) -> Result<()> {
    diesel::update(conversations::table.find(id))
        .set((
            conversations::priority.eq(p.as_str()),
            conversations::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_due(conn: &mut DbConn, id: ConversationId, due: Option<NaiveDateTime>) -> Result<()> {
    diesel::update(conversations::table.find(id))
        .set((
            conversations::due_at.eq(due),
            conversations::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_read(conn: &mut DbConn, id: ConversationId) -> Result<()> {
    diesel::update(conversations::table.find(id))
        .set(conversations::unread.eq(false))
        .execute(conn)?;
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tab {
    Mine,
    /// Given to a team the operator is in ("My teams").
    Teams,
    Unassigned,
    All,
    Closed,
    /// Every status (the API's default).
    Any,
}

impl Tab {
    pub fn parse(s: &str) -> Tab {
        match s {
            "mine" => Tab::Mine,
            "teams" => Tab::Teams,
            "unassigned" => Tab::Unassigned,
            "closed" => Tab::Closed,
            _ => Tab::All,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Tab::Mine => "mine",
            Tab::Teams => "teams",
            Tab::Unassigned => "unassigned",
            Tab::All => "all",
            Tab::Closed => "closed",
            Tab::Any => "any",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Filter {
    pub project_id: ProjectId,
    pub tab: Tab,
    /// The operator looking at the list ("Mine").
    pub user_id: i64,
    pub channel_id: Option<ChannelId>,
    pub status: Option<Status>,
    /// Some(None) = unassigned only.
    pub assignee: Option<Option<i64>>,
    pub q: Option<String>,
    /// Only conversations with this tag (its id).
    pub tag: Option<i64>,
    /// Continue after this row (keyset: costs the same at any depth).
    pub after: Option<Cursor>,
    /// Rows to skip: for the API's `page`, small offsets only.
    pub offset: i64,
    pub limit: i64,
}

/// Where a page of a list ends: the last row's (last_message_at, id), the list's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: NaiveDateTime,
    pub id: ConversationId,
}

impl Cursor {
    pub fn of(c: &Conversation) -> Cursor {
        Cursor {
            at: c.last_message_at,
            id: c.id,
        }
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.at.and_utc().timestamp_micros(), self.id.0)
    }

    pub fn parse(s: &str) -> Result<Cursor> {
        let bad =
            || Error::invalid("cursor is not one this server gave (use next_cursor as it is)");
        let (at, id) = s.split_once('.').ok_or_else(bad)?;
        let at = at.parse::<i64>().map_err(|_| bad())?;
        let id = id.parse::<i64>().map_err(|_| bad())?;
        let at = chrono::DateTime::from_timestamp_micros(at)
            .ok_or_else(bad)?
            .naive_utc();
        Ok(Cursor {
            at,
            id: ConversationId(id),
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub contact_name: String,
    pub channel_name: String,
    pub channel_kind: String,
    pub assignee_name: Option<String>,
    pub preview: String,
    #[serde(skip)]
    pub tags: Vec<super::tags::Tag>,
}

/// One page of a list: its rows, how many match (when asked, up to the cap asked for) and
/// where the next page starts, if there is one.
#[derive(Clone, Debug)]
pub struct Page {
    pub rows: Vec<Row>,
    pub total: Option<i64>,
    pub next: Option<Cursor>,
}

type Boxed<'a, ST = conversations::SqlType> =
    conversations::BoxedQuery<'a, super::MultiBackend, ST>;

/// The list's conditions. Each shape reads an index in the list's order (see the scale
/// migration): open lists the small partial indexes, closed ones the full ones; a search
/// narrows to the conversations its index found.
fn filtered(f: &Filter, found: Option<&[i64]>) -> Boxed<'static> {
    let mut q = conversations::table.into_boxed();
    // A search's few thousand conversations are read by primary key. Without statistics
    // SQLite guesses that "project = ?" or "channel = ?" matches a handful of rows and would
    // walk that index instead, so in a search those columns are compared as expressions
    // (`+ 0`), which no index serves, on both backends.
    q = match found {
        Some(_) => q.filter((conversations::project_id + 0i64).eq(f.project_id.0)),
        None => q.filter(conversations::project_id.eq(f.project_id)),
    };
    q = match f.tab {
        Tab::Mine => q.filter(conversations::assignee_id.eq(f.user_id)),
        Tab::Teams => q.filter(
            conversations::team_id.eq_any(
                team_members::table
                    .filter(team_members::user_id.eq(f.user_id))
                    .select(team_members::team_id.nullable()),
            ),
        ),
        Tab::Unassigned => q.filter(conversations::assignee_id.is_null()),
        Tab::All | Tab::Closed | Tab::Any => q,
    };
    // closed_at is set exactly when the status is final. An explicit status filter wins
    // over the tab's open/closed split, so "closed" can be found from the All tab too; the
    // tab still decides whose conversations are listed.
    let closed = match (f.status, f.tab) {
        // The status says it, and its own index (project, status, last activity) serves.
        (Some(_), _) => None,
        (None, Tab::Closed) => Some(true),
        (None, Tab::Any) => None,
        (None, _) => Some(false),
    };
    q = match closed {
        Some(true) => q.filter(conversations::closed_at.is_not_null()),
        Some(false) => q.filter(conversations::closed_at.is_null()),
        None => q,
    };
    match (f.channel_id, found) {
        (Some(c), Some(_)) => q = q.filter((conversations::channel_id + 0i64).eq(c.0)),
        (Some(c), None) => q = q.filter(conversations::channel_id.eq(c)),
        (None, _) => {}
    }
    if let Some(s) = f.status {
        q = q.filter(conversations::status.eq(s.as_str()));
    }
    match f.assignee {
        Some(Some(a)) => q = q.filter(conversations::assignee_id.eq(a)),
        Some(None) => q = q.filter(conversations::assignee_id.is_null()),
        None => {}
    }
    if let Some(ids) = found {
        q = q.filter(conversations::id.eq_any(ids.to_vec()));
    }
    if let Some(c) = f.after {
        q = q.filter(
            conversations::last_message_at.le(c.at).and(
                conversations::last_message_at
                    .lt(c.at)
                    .or(conversations::id.lt(c.id)),
            ),
        );
    }
    q
}

/// A tag filter reads this many of the tag's newest conversations (by id), like a search
/// its newest matches: a tag on half the project costs what a rare one does.
pub const TAGGED_CAP: i64 = 10_000;

/// Conversations a search or a tag finds (both: those found by each), or None when the
/// filter has neither. Bounded: the newest matches only, so a common word costs what a rare
/// one does.
pub(super) fn found(conn: &mut DbConn, f: &Filter) -> Result<Option<Vec<i64>>> {
    let by_text = match f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => Some(super::search::conversations(conn, f.project_id, text)?),
        None => None,
    };
    let by_tag = match f.tag {
        Some(t) => Some(super::tags::conversations_with(conn, t, TAGGED_CAP)?),
        None => None,
    };
    Ok(match (by_text, by_tag) {
        (None, None) => None,
        (Some(a), None) | (None, Some(a)) => Some(a),
        (Some(a), Some(b)) => {
            let tagged: std::collections::HashSet<i64> = b.into_iter().collect();
            Some(a.into_iter().filter(|id| tagged.contains(id)).collect())
        }
    })
}

/// How many conversations match, counting no further than `cap` (the console shows
/// "999+"): an index range of at most `cap` entries, however many there are.
pub fn count(conn: &mut DbConn, f: &Filter, cap: i64) -> Result<i64> {
    match found(conn, f)? {
        Some(ids) if ids.is_empty() => Ok(0),
        found => count_found(conn, f, found.as_deref(), cap),
    }
}

fn count_found(conn: &mut DbConn, f: &Filter, found: Option<&[i64]>, cap: i64) -> Result<i64> {
    let ids: Vec<ConversationId> = count_query(f, found, cap).load(conn)?;
    Ok(ids.len() as i64)
}

/// The ids a count reads: at most `cap` of them, from the list's index.
pub(super) fn count_query(
    f: &Filter,
    found: Option<&[i64]>,
    cap: i64,
) -> Boxed<'static, diesel::sql_types::BigInt> {
    let f = Filter {
        after: None,
        ..f.clone()
    };
    ordered(filtered(&f, found), found.is_some())
        .select(conversations::id)
        .limit(cap.max(1))
}

/// Newest activity first. A search's rows are sorted after they are read by primary key:
/// ordering by an expression no index has keeps PostgreSQL's planner from walking an
/// index in list order and testing each row against the found ids.
fn ordered(q: Boxed<'static>, searching: bool) -> Boxed<'static> {
    if searching {
        q.order((
            diesel::dsl::sql::<diesel::sql_types::Timestamp>(
                "COALESCE(conversations.last_message_at, conversations.last_message_at)",
            )
            .desc(),
            conversations::id.desc(),
        ))
    } else {
        q.order((
            conversations::last_message_at.desc(),
            conversations::id.desc(),
        ))
    }
}

/// A page's rows (one more than the page, to know whether there is a next one).
pub(super) fn page_query(
    f: &Filter,
    found: Option<&[i64]>,
) -> Boxed<'static, diesel::dsl::AsSelect<Conversation, super::MultiBackend>> {
    ordered(filtered(f, found), found.is_some())
        .offset(f.offset.max(0))
        .limit(f.limit.clamp(1, 200) + 1)
        .select(Conversation::as_select())
}

/// One page of the list, newest first, with the total up to `count_cap` if one is given.
pub fn page(conn: &mut DbConn, f: &Filter, count_cap: Option<i64>) -> Result<Page> {
    let found = found(conn, f)?;
    if found.as_ref().is_some_and(|ids| ids.is_empty()) {
        return Ok(Page {
            rows: Vec::new(),
            total: count_cap.map(|_| 0),
            next: None,
        });
    }
    let limit = f.limit.clamp(1, 200);
    let mut convs: Vec<Conversation> = page_query(f, found.as_deref()).load(conn)?;
    let more = convs.len() as i64 > limit;
    convs.truncate(limit as usize);
    let next = if more {
        convs.last().map(Cursor::of)
    } else {
        None
    };
    let total = match count_cap {
        Some(cap) => Some(count_found(conn, f, found.as_deref(), cap)?),
        None => None,
    };
    Ok(Page {
        rows: decorate(conn, convs)?,
        total,
        next,
    })
}

/// Adds the names and the last-message preview a list row shows.
pub fn decorate(conn: &mut DbConn, convs: Vec<Conversation>) -> Result<Vec<Row>> {
    let ids: Vec<i64> = convs.iter().map(|c| c.id.0).collect();
    let contact_ids: Vec<i64> = convs.iter().map(|c| c.contact_id.0).collect();
    let channel_ids: Vec<i64> = convs.iter().map(|c| c.channel_id.0).collect();
    let user_ids: Vec<i64> = convs.iter().filter_map(|c| c.assignee_id).collect();
    let contact_names: Vec<(i64, String)> = contacts::table
        .filter(contacts::id.eq_any(&contact_ids))
        .select((contacts::id, contacts::name))
        .load(conn)?;
    let channel_names: Vec<(i64, String, String)> = channels::table
        .filter(channels::id.eq_any(&channel_ids))
        .select((channels::id, channels::name, channels::kind))
        .load(conn)?;
    let user_names: Vec<(i64, String)> = users::table
        .filter(users::id.eq_any(&user_ids))
        .select((users::id, users::name))
        .load(conn)?;
    let last_ids: Vec<Option<i64>> = messages::table
        .filter(messages::conversation_id.eq_any(&ids))
        .filter(messages::kind.eq_any(["customer", "operator"]))
        .group_by(messages::conversation_id)
        .select(diesel::dsl::max(messages::id))
        .load(conn)?;
    let last_ids: Vec<i64> = last_ids.into_iter().flatten().collect();
    let conv_ids: Vec<ConversationId> = convs.iter().map(|c| c.id).collect();
    let mut tags = super::tags::of_conversations(conn, &conv_ids)?;
    let previews: Vec<(i64, String)> = messages::table
        .filter(messages::id.eq_any(&last_ids))
        .select((messages::conversation_id, messages::text))
        .load(conn)?;
    Ok(convs
        .into_iter()
        .map(|c| {
            let contact_name = contact_names
                .iter()
                .find(|(id, _)| *id == c.contact_id.0)
                .map(|(_, n)| n.clone())
                .unwrap_or_default();
            let (channel_name, channel_kind) = channel_names
                .iter()
                .find(|(id, _, _)| *id == c.channel_id.0)
                .map(|(_, n, k)| (n.clone(), k.clone()))
                .unwrap_or_default();
            let assignee_name = c.assignee_id.and_then(|a| {
                user_names
                    .iter()
                    .find(|(id, _)| *id == a)
                    .map(|(_, n)| n.clone())
            });
            let preview = previews
                .iter()
                .find(|(cid, _)| *cid == c.id.0)
                .map(|(_, t)| crate::domain::text::truncate_chars(t, 120).to_string())
                .unwrap_or_default();
            Row {
                tags: tags.remove(&c.id).unwrap_or_default(),
                conversation: c,
                contact_name,
                channel_name,
                channel_kind,
                assignee_name,
                preview,
            }
        })
        .collect())
}

/// Conversations that are not closed or cancelled, for many contacts at once, oldest first.
pub fn open_for_contacts(
    conn: &mut DbConn,
    contact_ids: &[ContactId],
) -> Result<Vec<Conversation>> {
    let ids: Vec<i64> = contact_ids.iter().map(|c| c.0).collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            conversations::table
                .filter(conversations::contact_id.eq_any(chunk))
                .filter(conversations::status.ne(FINAL[0]))
                .filter(conversations::status.ne(FINAL[1]))
                .order(conversations::id)
                .select(Conversation::as_select())
                .load::<Conversation>(conn)?,
        );
    }
    Ok(out)
}

/// A member's conversations that still need work (handed over when they leave); read through
/// the (project, assignee, status) index.
pub fn active_of_assignee(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
) -> Result<Vec<ConversationId>> {
    let active: Vec<&str> = crate::domain::conversation::ALL_STATUSES
        .iter()
        .filter(|s| s.is_active())
        .map(|s| s.as_str())
        .collect();
    Ok(conversations::table
        .filter(conversations::project_id.eq(project_id))
        .filter(conversations::assignee_id.eq(user_id))
        .filter(conversations::status.eq_any(active))
        .order(conversations::id)
        .select(conversations::id)
        .load(conn)?)
}

pub fn set_rating(
    conn: &mut DbConn,
    id: ConversationId,
    stars: i32,
    comment: Option<&str>,
) -> Result<()> {
    diesel::update(conversations::table.find(id))
        .set((
            conversations::rating.eq(Some(stars)),
            conversations::rating_comment.eq(comment),
            conversations::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records the group chat a request was made in, and the team it routes to.
pub fn set_origin(
    conn: &mut DbConn,
    id: ConversationId,
    origin: &str,
    team: Option<i64>,
) -> Result<()> {
    diesel::update(conversations::table.find(id))
        .set((
            conversations::origin.eq(origin),
            conversations::team_id.eq(team),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ratings credited to each operator (the conversation's assignee): (user, sum, count).
pub fn ratings_by_assignee(
    conn: &mut DbConn,
    project_id: ProjectId,
) -> Result<Vec<(i64, i64, i64)>> {
    let rows: Vec<(Option<i64>, Option<i32>)> = conversations::table
        .filter(conversations::project_id.eq(project_id))
        .filter(conversations::rating.is_not_null())
        .filter(conversations::assignee_id.is_not_null())
        .select((conversations::assignee_id, conversations::rating))
        .load(conn)?;
    let mut by: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
    for (a, r) in rows {
        if let (Some(a), Some(r)) = (a, r) {
            let e = by.entry(a).or_default();
            e.0 += i64::from(r);
            e.1 += 1;
        }
    }
    Ok(by.into_iter().map(|(a, (s, n))| (a, s, n)).collect())
}
