//! Reports as CSV: each table of the page, and the journal of a period's conversations,
//! written one page at a time so a year of them never sits in memory.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeZone};

use super::figures::{Day, Report, Row};
use crate::domain::text::spreadsheet_safe;
use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::i18n::console::Tr;
use crate::store::reports::{self, After, Scope};
use crate::store::{DbConn, channels, teams};

/// The tables a report exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Days,
    Operators,
    Channels,
    Teams,
    Tags,
}

impl Table {
    pub const ALL: [Table; 5] = [
        Table::Days,
        Table::Operators,
        Table::Channels,
        Table::Teams,
        Table::Tags,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Table::Days => "days",
            Table::Operators => "operators",
            Table::Channels => "channels",
            Table::Teams => "teams",
            Table::Tags => "tags",
        }
    }

    pub fn parse(s: &str) -> Result<Table> {
        Table::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no table \"{s}\"; the report has days, operators, channels, teams, tags and the journal"
                ))
            })
    }
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().from_writer(Vec::new())
}

fn fail(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("writing CSV: {e}"))
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>> {
    w.into_inner().map_err(fail)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// One table of the report, with its header, in `lang`.
pub fn table(report: &Report, which: Table, lang: Lang) -> Result<Vec<u8>> {
    let tr = Tr { lang };
    let mut w = writer();
    match which {
        Table::Days => {
            w.write_record(
                [
                    "report_date",
                    "report_opened",
                    "report_closed",
                    "report_backlog",
                    "report_messages_in",
                    "report_messages_out",
                    "report_first_response_median_s",
                ]
                .map(|k| tr.t(k)),
            )
            .map_err(fail)?;
            for d in &report.days {
                let Day {
                    date,
                    opened,
                    closed,
                    backlog,
                    messages_in,
                    messages_out,
                    first_response_median_s,
                } = d;
                w.write_record([
                    date.to_string(),
                    opened.to_string(),
                    closed.to_string(),
                    backlog.to_string(),
                    messages_in.to_string(),
                    messages_out.to_string(),
                    opt(*first_response_median_s),
                ])
                .map_err(fail)?;
            }
        }
        _ => {
            let rows: &[Row] = match which {
                Table::Operators => &report.operators,
                Table::Channels => &report.channels,
                Table::Teams => &report.teams,
                _ => &report.tags,
            };
            let mut header: Vec<&str> = [
                "report_name",
                "report_handled",
                "report_done",
                "report_answered",
                "report_first_response_median_s",
                "report_resolution_median_s",
                "report_rating_average",
                "report_rated",
            ]
            .map(|k| tr.t(k))
            .to_vec();
            if which == Table::Operators {
                header.push(tr.t("report_online_s"));
            }
            w.write_record(&header).map_err(fail)?;
            for r in rows {
                let mut line = vec![
                    spreadsheet_safe(&r.name),
                    r.handled.to_string(),
                    r.done.to_string(),
                    r.answered.to_string(),
                    opt(r.first_response_median_s),
                    opt(r.resolution_median_s),
                    opt(r.rating_average),
                    r.rated.to_string(),
                ];
                if which == Table::Operators {
                    line.push(opt(r.online_s));
                }
                w.write_record(&line).map_err(fail)?;
            }
        }
    }
    finish(w)
}

/// Names the journal shows, read once per export.
pub struct Lookup {
    tz: chrono_tz::Tz,
    channels: HashMap<i64, String>,
    teams: HashMap<i64, String>,
    tags: HashMap<i64, String>,
    lang: Lang,
}

impl Lookup {
    pub fn new(conn: &mut DbConn, s: &Scope, tz: chrono_tz::Tz, lang: Lang) -> Result<Lookup> {
        Ok(Lookup {
            tz,
            channels: channels::of_project(conn, s.project_id)?
                .into_iter()
                .map(|c| (c.id.0, c.name))
                .collect(),
            teams: teams::of_project(conn, s.project_id)?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect(),
            tags: crate::store::tags::of_project(conn, s.project_id)?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect(),
            lang,
        })
    }

    fn local(&self, t: Option<NaiveDateTime>) -> String {
        t.map(|t| {
            self.tz
                .from_utc_datetime(&t)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
    }
}

const JOURNAL_PAGE: i64 = 2000;

/// One page of the journal (with the header when `after` is None) and where the next starts.
pub fn journal_page(
    conn: &mut DbConn,
    s: &Scope,
    look: &Lookup,
    after: After,
) -> Result<(Vec<u8>, Option<After>)> {
    let tr = Tr { lang: look.lang };
    let mut w = writer();
    if after.is_none() {
        w.write_record(
            [
                "report_number",
                "report_opened_at",
                "report_channel",
                "report_contact",
                "report_status",
                "report_assignee",
                "report_team",
                "report_first_customer_at",
                "report_first_response_s",
                "report_first_response_work_s",
                "report_resolution_s",
                "report_resolution_work_s",
                "report_closed_at",
                "report_reopens",
                "report_rating",
                "report_tags",
            ]
            .map(|k| tr.t(k)),
        )
        .map_err(fail)?;
    }
    let page = reports::journal(conn, s, after, JOURNAL_PAGE)?;
    let ids: Vec<_> = page.iter().map(|(f, _)| f.id).collect();
    let mut tags_of: HashMap<i64, Vec<&str>> = HashMap::new();
    for (c, t) in reports::tags_of(conn, &ids)? {
        if let Some(name) = look.tags.get(&t) {
            tags_of.entry(c.0).or_default().push(name);
        }
    }
    let mut contact_ids: Vec<_> = page.iter().map(|(_, l)| l.contact_id).collect();
    contact_ids.sort_unstable();
    contact_ids.dedup();
    let contacts: HashMap<_, _> = reports::contact_names(conn, &contact_ids)?
        .into_iter()
        .collect();
    let mut user_ids: Vec<i64> = page.iter().filter_map(|(f, _)| f.assignee_id).collect();
    user_ids.sort_unstable();
    user_ids.dedup();
    let users: HashMap<_, _> = reports::user_names(conn, &user_ids)?.into_iter().collect();
    let name = |m: &HashMap<i64, String>, id: Option<i64>| {
        id.and_then(|i| m.get(&i))
            .map(|n| spreadsheet_safe(n))
            .unwrap_or_default()
    };
    for (f, listed) in &page {
        let mut tags = tags_of.get(&f.id.0).cloned().unwrap_or_default();
        tags.sort_unstable();
        w.write_record([
            listed.number.to_string(),
            look.local(Some(f.created_at)),
            name(&look.channels, Some(f.channel_id.0)),
            contacts
                .get(&listed.contact_id)
                .map(|n| spreadsheet_safe(n))
                .unwrap_or_default(),
            crate::i18n::status_label(look.lang, f.status).to_string(),
            name(&users, f.assignee_id),
            name(&look.teams, f.team_id),
            look.local(f.first_customer_at),
            opt(f.first_response_secs),
            opt(f.first_response_work_secs),
            opt(f.resolution_secs),
            opt(f.resolution_work_secs),
            look.local(listed.closed_at),
            f.reopens.to_string(),
            opt(f.rating),
            spreadsheet_safe(&tags.join(", ")),
        ])
        .map_err(fail)?;
    }
    let next = (page.len() as i64 == JOURNAL_PAGE)
        .then(|| page.last().map(|(l, _)| Some((l.created_at, l.id))))
        .flatten();
    Ok((finish(w)?, next))
}
