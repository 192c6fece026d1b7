//! The packed form of a day of report facts (see `report_days`): variable-length integers,
//! times in microseconds from the day's start, so a year of conversations is a few MB that
//! decode in milliseconds. Each blob starts with its format's version; a blob of another
//! version is not read (its day is then read from rows, and rebuilt).

use chrono::{DateTime, NaiveDateTime};

use super::reports::{Closing, Fact};
use crate::domain::{ChannelId, ConversationId, Status, conversation::ALL_STATUSES};

const VERSION: u8 = 1;

/// A day's conversations with their tags.
pub type Opened = Vec<(Fact, Vec<i64>)>;

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn i(&mut self, v: i64) {
        self.u(((v << 1) ^ (v >> 63)) as u64);
    }

    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    fn tags(&mut self, tags: &[i64]) {
        self.u(tags.len() as u64);
        for t in tags {
            self.i(*t);
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

/// A blob this build cannot read.
#[derive(Debug)]
pub struct Unreadable;

type R<T> = std::result::Result<T, Unreadable>;

impl Reader<'_> {
    /// A reader past the blob's header, and how many records the header announces.
    fn open(b: &[u8]) -> R<(Reader<'_>, usize)> {
        let mut r = Reader { b, at: 0 };
        if r.byte()? != VERSION {
            return Err(Unreadable);
        }
        let n = r.u()? as usize;
        if n > b.len() {
            return Err(Unreadable);
        }
        Ok((r, n))
    }

    fn u(&mut self) -> R<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = *self.b.get(self.at).ok_or(Unreadable)?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(Unreadable);
            }
        }
    }

    fn i(&mut self) -> R<i64> {
        let v = self.u()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn byte(&mut self) -> R<u8> {
        let b = *self.b.get(self.at).ok_or(Unreadable)?;
        self.at += 1;
        Ok(b)
    }

    fn i32(&mut self) -> R<i32> {
        i32::try_from(self.i()?).map_err(|_| Unreadable)
    }

    fn tags(&mut self) -> R<Vec<i64>> {
        let n = self.u()? as usize;
        if n > self.b.len() {
            return Err(Unreadable);
        }
        (0..n).map(|_| self.i()).collect()
    }

    fn done(&self) -> bool {
        self.at >= self.b.len()
    }
}

fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

fn at(base: i64, delta: i64) -> R<NaiveDateTime> {
    let us = base.checked_add(delta).ok_or(Unreadable)?;
    DateTime::from_timestamp_micros(us)
        .map(|t| t.naive_utc())
        .ok_or(Unreadable)
}

const DAY_US: i64 = 86_400_000_000;

/// `day` + `delta` microseconds, without the calendar arithmetic when it stays on that day
/// (almost every instant of a packed day does).
fn on(day: chrono::NaiveDate, base: i64, delta: i64) -> R<NaiveDateTime> {
    if (0..DAY_US).contains(&delta) {
        let (secs, us) = (delta / 1_000_000, delta % 1_000_000);
        let time =
            chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs as u32, us as u32 * 1000)
                .ok_or(Unreadable)?;
        Ok(NaiveDateTime::new(day, time))
    } else {
        at(base, delta)
    }
}

fn status_code(s: Status) -> u8 {
    ALL_STATUSES.iter().position(|x| *x == s).unwrap_or(0) as u8
}

const TEAM: u8 = 1;
const ASSIGNEE: u8 = 2;
const FIRST_CUSTOMER: u8 = 4;
const FIRST_RESPONSE: u8 = 8;
const FIRST_RESPONSE_WORK: u8 = 16;
const RESOLUTION: u8 = 32;
const RESOLUTION_WORK: u8 = 64;
const RATING: u8 = 128;

fn flag<T>(v: &Option<T>, bit: u8) -> u8 {
    if v.is_some() { bit } else { 0 }
}

/// Packs conversations opened on the day starting at `base`.
pub fn pack_opened(base: NaiveDateTime, facts: &[(Fact, Vec<i64>)]) -> Vec<u8> {
    let base = micros(base);
    let mut w = Writer::default();
    w.byte(VERSION);
    w.u(facts.len() as u64);
    let mut last_id = 0;
    for (f, tags) in facts {
        let flags = flag(&f.team_id, TEAM)
            | flag(&f.assignee_id, ASSIGNEE)
            | flag(&f.first_customer_at, FIRST_CUSTOMER)
            | flag(&f.first_response_secs, FIRST_RESPONSE)
            | flag(&f.first_response_work_secs, FIRST_RESPONSE_WORK)
            | flag(&f.resolution_secs, RESOLUTION)
            | flag(&f.resolution_work_secs, RESOLUTION_WORK)
            | flag(&f.rating, RATING);
        w.byte(flags);
        w.byte(status_code(f.status));
        w.i(f.id.0 - last_id);
        last_id = f.id.0;
        let created = micros(f.created_at);
        w.i(created - base);
        w.i(f.channel_id.0);
        for v in [f.team_id, f.assignee_id].into_iter().flatten() {
            w.i(v);
        }
        if let Some(t) = f.first_customer_at {
            w.i(micros(t) - created);
        }
        for v in [
            f.first_response_secs,
            f.first_response_work_secs,
            f.resolution_secs,
            f.resolution_work_secs,
        ]
        .into_iter()
        .flatten()
        {
            w.i(v);
        }
        if let Some(r) = f.rating {
            w.i(i64::from(r));
        }
        w.i(i64::from(f.reopens));
        w.i(i64::from(f.messages_in));
        w.i(i64::from(f.messages_out));
        w.tags(tags);
    }
    w.0
}

pub fn unpack_opened(base: NaiveDateTime, blob: &[u8]) -> R<Opened> {
    let day = base.date();
    let base = micros(base);
    let (mut r, n) = Reader::open(blob)?;
    let mut out = Vec::with_capacity(n);
    let mut last_id = 0;
    for _ in 0..n {
        let flags = r.byte()?;
        let status = *ALL_STATUSES.get(usize::from(r.byte()?)).ok_or(Unreadable)?;
        let id = last_id + r.i()?;
        last_id = id;
        let delta = r.i()?;
        let created_at = on(day, base, delta)?;
        let channel_id = ChannelId(r.i()?);
        let opt = |bit: u8, r: &mut Reader| -> R<Option<i64>> {
            if flags & bit != 0 {
                r.i().map(Some)
            } else {
                Ok(None)
            }
        };
        let team_id = opt(TEAM, &mut r)?;
        let assignee_id = opt(ASSIGNEE, &mut r)?;
        let first_customer_at = match opt(FIRST_CUSTOMER, &mut r)? {
            Some(d) => Some(on(day, base, delta + d)?),
            None => None,
        };
        let first_response_secs = opt(FIRST_RESPONSE, &mut r)?;
        let first_response_work_secs = opt(FIRST_RESPONSE_WORK, &mut r)?;
        let resolution_secs = opt(RESOLUTION, &mut r)?;
        let resolution_work_secs = opt(RESOLUTION_WORK, &mut r)?;
        let rating = match opt(RATING, &mut r)? {
            Some(v) => Some(i32::try_from(v).map_err(|_| Unreadable)?),
            None => None,
        };
        let fact = Fact {
            id: ConversationId(id),
            channel_id,
            team_id,
            assignee_id,
            status,
            created_at,
            first_customer_at,
            first_response_secs,
            first_response_work_secs,
            resolution_secs,
            resolution_work_secs,
            reopens: r.i32()?,
            rating,
            messages_in: r.i32()?,
            messages_out: r.i32()?,
        };
        out.push((fact, r.tags()?));
    }
    if !r.done() {
        return Err(Unreadable);
    }
    Ok(out)
}

/// Packs the closings that happened on the day starting at `base`.
pub fn pack_closed(base: NaiveDateTime, closings: &[Closing]) -> Vec<u8> {
    let base = micros(base);
    let mut w = Writer::default();
    w.byte(VERSION);
    w.u(closings.len() as u64);
    for c in closings {
        w.byte(flag(&c.team_id, TEAM) | flag(&c.assignee_id, ASSIGNEE));
        w.i(micros(c.closed_at) - base);
        w.i(c.channel_id.0);
        for v in [c.team_id, c.assignee_id].into_iter().flatten() {
            w.i(v);
        }
        w.tags(&c.tags);
    }
    w.0
}

pub fn unpack_closed(base: NaiveDateTime, blob: &[u8]) -> R<Vec<Closing>> {
    let day = base.date();
    let base = micros(base);
    let (mut r, n) = Reader::open(blob)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let flags = r.byte()?;
        let closed_at = on(day, base, r.i()?)?;
        let channel_id = ChannelId(r.i()?);
        let team_id = if flags & TEAM != 0 {
            Some(r.i()?)
        } else {
            None
        };
        let assignee_id = if flags & ASSIGNEE != 0 {
            Some(r.i()?)
        } else {
            None
        };
        out.push(Closing {
            closed_at,
            channel_id,
            team_id,
            assignee_id,
            tags: r.tags()?,
        });
    }
    if !r.done() {
        return Err(Unreadable);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> R<NaiveDateTime> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").map_err(|_| Unreadable)
    }

    #[test]
    fn a_day_comes_back_exactly_as_packed() -> R<()> {
        let base = t("2026-03-01 00:00:00")?;
        let full = Fact {
            id: ConversationId(900_001),
            channel_id: ChannelId(3),
            team_id: Some(2),
            assignee_id: Some(17),
            status: Status::Closed,
            created_at: t("2026-03-01 23:59:59.999999")?,
            first_customer_at: Some(t("2026-03-02 00:00:01.5")?),
            first_response_secs: Some(0),
            first_response_work_secs: Some(40_000),
            resolution_secs: Some(-3),
            resolution_work_secs: Some(i64::from(i32::MAX) * 4),
            reopens: 2,
            rating: Some(5),
            messages_in: 70_000,
            messages_out: 0,
        };
        let bare = Fact {
            id: ConversationId(12),
            team_id: None,
            assignee_id: None,
            status: Status::New,
            created_at: base,
            first_customer_at: None,
            first_response_secs: None,
            first_response_work_secs: None,
            resolution_secs: None,
            resolution_work_secs: None,
            reopens: 0,
            rating: None,
            ..full.clone()
        };
        let facts = vec![(full, vec![1, 99_999]), (bare, vec![])];
        let blob = pack_opened(base, &facts);
        let back = unpack_opened(base, &blob)?;
        assert_eq!(format!("{back:?}"), format!("{facts:?}"));
        let closings = vec![Closing {
            closed_at: t("2026-03-01 12:00:00.000001")?,
            channel_id: ChannelId(1),
            team_id: None,
            assignee_id: Some(4),
            tags: vec![7],
        }];
        let blob = pack_closed(base, &closings);
        assert_eq!(
            format!("{:?}", unpack_closed(base, &blob)?),
            format!("{closings:?}")
        );
        Ok(())
    }

    #[test]
    fn a_cut_or_foreign_blob_is_refused_not_misread() -> R<()> {
        let base = t("2026-03-01 00:00:00")?;
        let blob = pack_closed(
            base,
            &[Closing {
                closed_at: base,
                channel_id: ChannelId(1),
                team_id: Some(1),
                assignee_id: None,
                tags: vec![],
            }],
        );
        for cut in 0..blob.len() {
            assert!(unpack_closed(base, &blob[..cut]).is_err(), "cut at {cut}");
        }
        let mut other = blob.clone();
        other[0] = VERSION + 1;
        assert!(unpack_closed(base, &other).is_err());
        assert!(unpack_opened(base, &[VERSION, 0xff, 0xff, 0xff]).is_err());
        Ok(())
    }
}
