//! Keeps the reports' packed days (`store::report_days`) up to date: every project's horizon
//! follows the automation clock to yesterday (UTC), and the days before it that were never
//! packed or have been marked stale are packed again, a bounded amount per call.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};

use crate::domain::ProjectId;
use crate::error::Result;
use crate::store::{Backend, Store, projects, report_days};

/// Days asked for at a time.
const BATCH: usize = 64;

/// What the packer remembers between calls: up to which horizon each project has no day
/// left that was never packed (stale days are looked for on every call).
#[derive(Default)]
pub struct Packer {
    complete: HashMap<ProjectId, NaiveDate>,
    /// Nothing else writes what the newly covered days hold (`perepiska seed`).
    alone: bool,
}

impl Packer {
    /// A packer for a command that writes alone, so it need not let the horizon settle.
    pub fn alone() -> Packer {
        Packer {
            alone: true,
            ..Packer::default()
        }
    }

    /// Packs what is due as of `now` (the automation clock) for about `budget`; returns how
    /// many days it packed.
    pub async fn run(
        &mut self,
        store: &Store,
        now: NaiveDateTime,
        budget: Duration,
    ) -> Result<usize> {
        let started = Instant::now();
        let until = report_days::horizon_for(now);
        let mut packed = 0;
        for project in store.read(projects::all).await? {
            let pid = project.id;
            let horizon = store.read(move |c| report_days::horizon(c, pid)).await?;
            let moved_at = match horizon {
                Some((u, at)) if u >= until => at,
                _ => {
                    store
                        .write(move |c| report_days::move_horizon(c, pid, until))
                        .await?;
                    crate::store::now()
                }
            };
            let missing = self.complete.get(&pid) != Some(&until)
                && (self.alone || crate::store::now() - moved_at >= settle(store.backend));
            loop {
                let days = store
                    .read(move |c| report_days::due(c, pid, until, missing, BATCH))
                    .await?;
                for day in &days {
                    let day = *day;
                    store
                        .write(move |c| report_days::rebuild(c, pid, day))
                        .await?;
                    packed += 1;
                    if started.elapsed() >= budget {
                        return Ok(packed);
                    }
                }
                if days.len() < BATCH {
                    break;
                }
            }
            if missing {
                self.complete.insert(pid, until);
            }
        }
        Ok(packed)
    }
}

/// How long after the horizon moves the newly covered days wait to be packed. A PostgreSQL
/// transaction whose trigger read the old horizon may still be committing a change to one
/// of them; SQLite's one writer rules that out.
fn settle(backend: Backend) -> chrono::Duration {
    match backend {
        Backend::Sqlite => chrono::Duration::zero(),
        Backend::Postgres => chrono::Duration::seconds(2),
    }
}
