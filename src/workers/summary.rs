//! The reports' daily summary: at the hour set in the project's zone, yesterday's figures go
//! to the staff chat (the alerts' Telegram chat) and to the analysts and admins who chose it
//! (bell, e-mail, linked messenger). Once per day across instances and restarts.

use chrono::{Duration, TimeZone};

use crate::channels::DirectPayload;
use crate::domain::event::Notice;
use crate::domain::{Can, ProjectId};
use crate::error::Result;
use crate::i18n::Lang;
use crate::inbox::Inbox;
use crate::inbox::reports::{self, Params, Period};
use crate::store::{channels, members, project_settings};

/// Sends every summary that is due; returns how many went out.
pub async fn send_due(inbox: &Inbox, public_url: Option<&str>) -> Result<usize> {
    let now = inbox.automation.clock.now();
    let mut sent = 0;
    for (project_id, settings) in inbox.automation.with_summary() {
        let Some(at) = settings.reports.summary_at else {
            continue;
        };
        let (tz, today) = inbox
            .store
            .read(move |c| reports::project_today(c, project_id, now))
            .await?;
        let local = tz.from_utc_datetime(&now).naive_local();
        if local.time() < at {
            continue;
        }
        let yesterday = today - Duration::days(1);
        let params = Params {
            period: Period::Yesterday,
            from: yesterday,
            to: yesterday,
            channel: None,
            team: None,
            operator: None,
            tag: None,
        };
        let link = public_url.map(|u| {
            format!(
                "{}/console/reports?period=yesterday",
                u.trim_end_matches('/')
            )
        });
        let s2 = settings.clone();
        let claimed = inbox
            .store
            .write(move |c| {
                if !project_settings::claim_summary(c, project_id, &today.to_string())? {
                    return Ok(false);
                }
                let r = reports::compute(c, project_id, &s2, &params, now, Lang::Ru)?.summary;
                let notice = Notice::DailySummary {
                    date: yesterday.format("%d.%m.%Y").to_string(),
                    opened: r.opened,
                    closed: r.closed,
                    first_response_median_s: r.first_response_median_s,
                    rating_average: r.rating_average,
                    unanswered_now: r.unanswered_now,
                    link,
                };
                tell(c, project_id, &s2, &notice)?;
                Ok(true)
            })
            .await?;
        if claimed {
            sent += 1;
            tracing::info!(project = %project_id, day = %yesterday, "daily summary sent");
        }
    }
    if sent > 0 {
        inbox.wake_deliveries();
    }
    Ok(sent)
}

fn tell(
    conn: &mut crate::store::DbConn,
    project_id: ProjectId,
    settings: &crate::automation::ProjectAutomation,
    notice: &Notice,
) -> Result<()> {
    for m in members::everyone(conn, project_id)? {
        if m.active && m.access.can(Can::Reports) {
            crate::thread::notify::notify(conn, project_id, m.user.id, None, notice)?;
        }
    }
    if let Some(alerts) = &settings.alerts
        && let Some(channel) = channels::by_key(conn, &alerts.channel)?
        && channel.project_id == project_id
    {
        crate::thread::say_direct(
            conn,
            project_id,
            channel.id,
            &alerts.chat_id,
            &DirectPayload {
                text: crate::i18n::events::notice(notice, Lang::Ru),
                keyboard: None,
            },
            None,
        )?;
    }
    Ok(())
}
