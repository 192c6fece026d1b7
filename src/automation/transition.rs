//! The one status transition, whoever asks (operator, customer, bot, timer, rating): the
//! rule check, the thread's record and what automation does about it.

use super::{Ctx, status_changed};
use crate::domain::event::SystemEvent;
use crate::domain::{Actor, Status};
use crate::error::Result;
use crate::store::DbConn;
use crate::store::conversations::{self, Conversation};
use crate::thread;

pub fn transition(
    conn: &mut DbConn,
    ctx: &Ctx,
    conv: &Conversation,
    to: Status,
    actor: Actor,
    by: &str,
) -> Result<()> {
    let from = conv.status;
    from.can_change(to, actor)?;
    let resolution = super::measures::resolution(ctx, conv, from, to);
    conversations::set_status(conn, conv.id, to, ctx.now, resolution)?;
    thread::record(
        conn,
        conv,
        &SystemEvent::Status {
            from,
            to,
            by: by.to_string(),
        },
    )?;
    status_changed(conn, ctx, conv, from, to)
}
