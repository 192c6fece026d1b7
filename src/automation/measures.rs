//! What the reports read, measured in the transaction that makes it happen: the team's first
//! answer, resolutions and reopenings, in calendar and in working time (the project's
//! schedule at that moment), on the automation clock.

use chrono::NaiveDateTime;

use super::Ctx;
use crate::domain::Status;
use crate::error::Result;
use crate::store::DbConn;
use crate::store::conversations::{self, Conversation, Took};

fn took(ctx: &Ctx, from: NaiveDateTime, to: NaiveDateTime) -> Took {
    Took {
        secs: (to - from).num_seconds().max(0),
        work_secs: ctx.project.working_secs(from, to),
    }
}

/// An operator answered the customer (automatic and bot messages are not answers). Only the
/// first answer after the customer's first message counts.
pub fn answered(conn: &mut DbConn, ctx: &Ctx, conv: &Conversation) -> Result<()> {
    if conv.first_response_at.is_some() {
        return Ok(());
    }
    let Some(asked) = conv.first_customer_at else {
        return Ok(());
    };
    let at = ctx.now.max(asked);
    conversations::set_first_response(conn, conv.id, at, took(ctx, asked, at))
}

/// A status change into resolved or closed from work is a resolution (the latest one
/// counts): when, and how long it took. Written with the status.
pub fn resolution(
    ctx: &Ctx,
    conv: &Conversation,
    from: Status,
    to: Status,
) -> Option<(NaiveDateTime, Took)> {
    (to.is_done() && from.is_active()).then(|| {
        let start = conv.first_customer_at.unwrap_or(conv.created_at);
        let at = ctx.now.max(start);
        (at, took(ctx, start, at))
    })
}

/// Out of resolved or closed back to work is a reopening.
pub fn status_changed(
    conn: &mut DbConn,
    conv: &Conversation,
    from: Status,
    to: Status,
) -> Result<()> {
    if from.is_done() && to.is_active() {
        conversations::count_reopen(conn, conv.id)?;
    }
    Ok(())
}
