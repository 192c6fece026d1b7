//! SQLite checkpoints off the write path. The writing connection never checkpoints (see
//! `setup_sqlite`); this thread copies the write-ahead log into the database while writes go
//! on, so a page rewritten by a hundred batches reaches the database file once, and the
//! fsync of that file is paid here rather than by whoever committed the thousandth page.

use std::sync::Weak;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Integer;

const EVERY: Duration = Duration::from_millis(250);

/// A log this long (pages) is reset even if that makes writers wait for the copy: under
/// constant writes a passive checkpoint may never catch the log's end, and the log would grow.
const RESTART_AT: i32 = 32_768;

#[derive(QueryableByName)]
struct Outcome {
    #[diesel(sql_type = Integer)]
    busy: i32,
    /// Pages in the log after the checkpoint.
    #[diesel(sql_type = Integer)]
    log: i32,
}

/// Checkpoints `url` until every clone of the store that `alive` belongs to is dropped.
pub(super) fn start(url: &str, alive: Weak<()>) {
    let url = url.to_string();
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut conn = None;
            while alive.upgrade().is_some() {
                std::thread::sleep(EVERY);
                if conn.is_none() {
                    conn = open(&url)
                        .map_err(
                            |e| tracing::warn!(error = %e, "checkpointer cannot open the database"),
                        )
                        .ok();
                }
                if let Some(c) = conn.as_mut()
                    && let Err(e) = once(c)
                {
                    tracing::warn!(error = %e, "checkpoint failed");
                    conn = None;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the checkpointer; the write-ahead log will grow");
    }
}

fn open(url: &str) -> Result<SqliteConnection, Box<dyn std::error::Error>> {
    let mut c = SqliteConnection::establish(url)?;
    // A RESTART holds the write lock while it waits for readers to leave the log: writers
    // (ours, or a `perepiska seed` beside the server, which gives up after its own 5 s) wait
    // that long too. So it waits briefly and is tried again on a later round.
    c.batch_execute("PRAGMA busy_timeout = 200;")?;
    Ok(c)
}

fn once(c: &mut SqliteConnection) -> QueryResult<()> {
    let done: Outcome = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(c)?;
    if done.log >= RESTART_AT {
        let again: Outcome = diesel::sql_query("PRAGMA wal_checkpoint(RESTART)").get_result(c)?;
        tracing::info!(
            pages = done.log,
            restarted = again.busy == 0,
            "write-ahead log reset"
        );
    }
    Ok(())
}
