//! Automation settings pages (admins and the "settings" role): the work schedule as a
//! week-by-hour grid with holidays and exceptions, where unanswered alerts go, and each
//! channel's auto-replies, auto-close, closing message and rating. Every form is validated by
//! the same code as channels.toml; a refused form saves nothing.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde_json::{Value, json};

use super::State;
use super::auth::Console;
use super::errors::HtmlError;
use super::rules_form::RulesForm;
use crate::automation::schedule::{DAYS, intervals_text};
use crate::automation::{ChannelRules, Schedule, StaffAlerts};
use crate::domain::Can;
use crate::domain::audit::Action;
use crate::error::Error;
use crate::i18n::Tr;
use crate::store::{audit, channels, members, project_settings, users};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/settings", web::get().to(page))
        .route("/console/settings/schedule", web::post().to(save_schedule))
        .route("/console/settings/alerts", web::post().to(save_alerts))
        .route("/console/settings/reports", web::post().to(save_reports))
        .route("/console/settings/rules/{id}", web::post().to(save_channel))
        .route(
            "/console/settings/members/{id}",
            web::post().to(save_member_hours),
        );
}

type FormPairs = web::Form<Pairs>;

pub(super) fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

pub struct DayRow {
    pub label: &'static str,
    pub idx: usize,
    pub hours: Vec<bool>,
    pub text: String,
}

pub struct ChannelForm {
    pub id: crate::domain::ChannelId,
    pub name: String,
    pub kind: String,
    pub from_web: bool,
    pub error: String,
    pub is_widget: bool,
    pub form: RulesForm,
}

pub struct MemberHours {
    pub id: i64,
    pub name: String,
    /// "4.5 ★ (12)": the ratings credited to them.
    pub rating: String,
    pub online: bool,
    pub hours: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    /// Admins also see the team pages in the settings menu.
    admin: bool,
    tr: Tr,
    csrf: String,
    project_name: String,
    saved: bool,
    schedule_error: String,
    alerts_error: String,
    timezone: String,
    days: Vec<DayRow>,
    holidays: String,
    exceptions: String,
    schedule_source: String,
    tg_channels: Vec<String>,
    alerts_channel: String,
    alerts_chat: String,
    reports_error: String,
    /// The first-response target as written ("15m"), its kind of time, the summary's time.
    sla: String,
    sla_working: bool,
    summary_at: String,
    channels: Vec<ChannelForm>,
    members: Vec<MemberHours>,
    /// (e-mail, name) of those who can take conversations, for "assign to".
    assignees: Vec<(String, String)>,
}

const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn channel_form(ch: &channels::Channel, form: RulesForm) -> ChannelForm {
    ChannelForm {
        id: ch.id,
        name: ch.name.clone(),
        kind: ch.kind.to_string(),
        from_web: ch.automation.is_some(),
        error: String::new(),
        is_widget: ch.kind == crate::domain::ChannelKind::Widget,
        form,
    }
}

type Pairs = Vec<(String, String)>;

/// What a refused form sends back to be shown again with its message.
#[derive(Default)]
struct Refused {
    schedule: Option<(String, Pairs)>,
    alerts: Option<(String, Pairs)>,
    reports: Option<(String, Pairs)>,
    channel: Option<(crate::domain::ChannelId, String, RulesForm)>,
    member: Option<(i64, String, Pairs)>,
}

async fn render(
    state: &State,
    console: &Console,
    saved: bool,
    refused: Refused,
) -> Result<String, HtmlError> {
    let pid = console.project.id;
    let (row, chans, members, ratings) = state
        .inbox
        .store
        .read(move |c| {
            let hours: std::collections::HashMap<i64, String> = users::with_work_hours(c)?
                .into_iter()
                .map(|(id, h, _)| (id, h))
                .collect();
            let members: Vec<_> = members::members(c, pid)?
                .into_iter()
                .map(|u| {
                    let h = hours.get(&u.id).cloned();
                    (u, h)
                })
                .collect();
            Ok((
                project_settings::get(c, pid)?,
                channels::of_project(c, pid)?,
                members,
                crate::store::conversations::ratings_by_assignee(c, pid)?,
            ))
        })
        .await?;
    let current = row
        .as_ref()
        .map(crate::automation::ProjectAutomation::from_row)
        .unwrap_or_default();
    let tr = console.tr;
    let schedule = current.schedule.clone();
    let mut days: Vec<DayRow> = DAY_KEYS
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let intervals = schedule
                .as_ref()
                .map(|s| s.week[i].clone())
                .unwrap_or_default();
            DayRow {
                label: tr.t(key),
                idx: i,
                // An hour is ticked when its middle falls in working time.
                hours: (0..24)
                    .map(|h| {
                        let mid = chrono::NaiveTime::from_hms_opt(h, 30, 0).unwrap_or_default();
                        intervals.iter().any(|iv| iv.from <= mid && mid < iv.to)
                    })
                    .collect(),
                text: intervals_text(&intervals),
            }
        })
        .collect();
    let mut timezone = schedule
        .as_ref()
        .map(|s| s.timezone.clone())
        .unwrap_or_else(|| console.project.timezone.clone());
    let mut holidays = schedule
        .as_ref()
        .map(|s| {
            s.holidays
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let mut exceptions = schedule
        .as_ref()
        .map(|s| {
            s.exceptions
                .iter()
                .map(|(d, iv)| {
                    if iv.is_empty() {
                        format!("{d} -")
                    } else {
                        format!("{d} {}", intervals_text(iv))
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let mut schedule_error = String::new();
    if let Some((e, form)) = &refused.schedule {
        schedule_error = e.clone();
        timezone = field(form, "timezone").to_string();
        holidays = field(form, "holidays").to_string();
        exceptions = field(form, "exceptions").to_string();
        for d in &mut days {
            for (h, cell) in d.hours.iter_mut().enumerate() {
                *cell = !field(form, &format!("h_{}_{h}", d.idx)).is_empty();
            }
        }
    }
    let (mut alerts_channel, mut alerts_chat) = current
        .alerts
        .map(|a| (a.channel, a.chat_id))
        .unwrap_or_default();
    let mut alerts_error = String::new();
    if let Some((e, form)) = &refused.alerts {
        alerts_error = e.clone();
        alerts_channel = field(form, "channel").to_string();
        alerts_chat = field(form, "chat_id").to_string();
    }
    let r = &current.reports;
    let mut sla = r
        .sla_secs
        .map(crate::automation::rules::format_duration)
        .unwrap_or_default();
    let mut sla_working = r.sla_working;
    let mut summary_at = r
        .summary_at
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_default();
    let mut reports_error = String::new();
    if let Some((e, form)) = &refused.reports {
        reports_error = e.clone();
        sla = field(form, "sla").to_string();
        sla_working = field(form, "sla_time") == "working";
        summary_at = field(form, "daily_summary").to_string();
    }
    let mut forms = Vec::new();
    for ch in chans.iter().filter(|c| c.enabled) {
        let rules = crate::web::channel_admin::rules_of(state, ch.id);
        let mut f = channel_form(ch, RulesForm::from_rules(&rules));
        if let Some((id, e, form)) = &refused.channel
            && *id == ch.id
        {
            f.error = e.clone();
            f.form = form.clone();
        }
        forms.push(f);
    }
    Ok(SettingsPage {
        admin: console.access.can(Can::Team),
        tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        saved,
        schedule_error,
        alerts_error,
        timezone,
        days,
        holidays,
        exceptions,
        schedule_source: row.map(|r| r.source).unwrap_or_default(),
        tg_channels: chans
            .iter()
            .filter(|c| c.kind == crate::domain::ChannelKind::Telegram && c.enabled)
            .map(|c| c.key.clone())
            .collect(),
        alerts_channel,
        alerts_chat,
        reports_error,
        sla,
        sla_working,
        summary_at,
        channels: forms,
        assignees: members
            .iter()
            .map(|(u, _)| (u.email.clone(), u.name.clone()))
            .collect(),
        members: members
            .into_iter()
            .map(|(u, hours)| {
                let rating = ratings
                    .iter()
                    .find(|(a, _, _)| *a == u.id)
                    .map(|(_, sum, n)| format!("{:.1} ★ ({n})", *sum as f64 / *n as f64))
                    .unwrap_or_default();
                let mut m = MemberHours {
                    id: u.id,
                    name: u.name,
                    rating,
                    online: u.online,
                    hours: hours
                        .as_deref()
                        .and_then(|h| serde_json::from_str::<Schedule>(h).ok())
                        .map(|s| week_text(&s))
                        .unwrap_or_default(),
                    error: String::new(),
                };
                if let Some((id, e, form)) = &refused.member
                    && *id == m.id
                {
                    m.error = e.clone();
                    m.hours = field(form, "hours").to_string();
                }
                m
            })
            .collect(),
    }
    .render()?)
}

/// `?saved=1`: the page a saved form redirects to says so.
#[derive(serde::Deserialize)]
pub(super) struct SavedQuery {
    pub saved: Option<String>,
}

async fn page(
    state: web::Data<State>,
    console: Console,
    q: web::Query<SavedQuery>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    let body = render(&state, &console, q.saved.is_some(), Refused::default()).await?;
    Ok(html(body))
}

fn html(body: String) -> HttpResponse {
    super::page(actix_web::http::StatusCode::OK).body(body)
}

fn saved() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", "/console/settings?saved=1"))
        .finish()
}

async fn refused(state: &State, console: &Console, r: Refused) -> Result<HttpResponse, HtmlError> {
    let body = render(state, console, false, r).await?;
    Ok(super::page(actix_web::http::StatusCode::BAD_REQUEST).body(body))
}

/// The grid (h_<day>_<hour> ticks) and the text fields, as the `[schedule]` table.
fn schedule_json(form: &[(String, String)]) -> Value {
    let mut v = json!({ "timezone": field(form, "timezone").trim() });
    for (d, key) in DAYS.iter().enumerate() {
        let mut intervals = Vec::new();
        let mut h = 0;
        while h < 24 {
            if field(form, &format!("h_{d}_{h}")).is_empty() {
                h += 1;
                continue;
            }
            let start = h;
            while h < 24 && !field(form, &format!("h_{d}_{h}")).is_empty() {
                h += 1;
            }
            intervals.push(format!("{start:02}:00-{h:02}:00"));
        }
        v[*key] = json!(intervals);
    }
    v["holidays"] = json!(field(form, "holidays"));
    let mut exceptions = serde_json::Map::new();
    for line in field(form, "exceptions").lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (date, hours) = line.split_once(' ').unwrap_or((line, ""));
        let hours = hours.trim();
        let hours = if hours == "-" || hours.is_empty() {
            json!([])
        } else {
            json!(hours)
        };
        exceptions.insert(date.to_string(), hours);
    }
    v["exceptions"] = Value::Object(exceptions);
    v
}

async fn save_schedule(
    state: web::Data<State>,
    console: Console,
    form: FormPairs,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    let form = form.into_inner();
    console.check_csrf(field(&form, "csrf"))?;
    let schedule = match Schedule::from_config(&schedule_json(&form)) {
        Ok(s) => s,
        Err(e) => {
            let r = Refused {
                schedule: Some((e, form)),
                ..Refused::default()
            };
            return refused(&state, &console, r).await;
        }
    };
    let json = serde_json::to_string(&schedule).map_err(|e| Error::internal(e.to_string()))?;
    let (pid, by) = (console.project.id, console.user.id);
    let tz = schedule.timezone.clone();
    state
        .inbox
        .store
        .write(move |c| {
            let alerts = project_settings::get(c, pid)?.and_then(|r| r.alerts);
            project_settings::save(c, pid, Some(&json), alerts.as_deref(), "web")?;
            // One zone per project: the schedule's is the project's.
            let p = crate::store::projects::by_id(c, pid)?;
            if p.timezone != tz {
                crate::store::projects::update(c, pid, &p.name, &tz)?;
            }
            audit::record(c, pid, Some(by), Action::SettingsChanged, "schedule", &tz)
        })
        .await?;
    crate::workers::scheduler::reload(&state.inbox).await?;
    Ok(saved())
}

/// The first-response target and the daily summary's time, checked like `[reports]`.
async fn save_reports(
    state: web::Data<State>,
    console: Console,
    form: FormPairs,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    let form = form.into_inner();
    console.check_csrf(field(&form, "csrf"))?;
    let v = json!({
        "sla": field(&form, "sla"),
        "sla_time": field(&form, "sla_time"),
        "daily_summary": field(&form, "daily_summary"),
    });
    let settings = match crate::automation::ReportSettings::from_config(&v) {
        Ok(s) => s,
        Err(e) => {
            let r = Refused {
                reports: Some((e, form)),
                ..Refused::default()
            };
            return refused(&state, &console, r).await;
        }
    };
    let (pid, by) = (console.project.id, console.user.id);
    state
        .inbox
        .store
        .write(move |c| crate::inbox::reports::save_settings(c, pid, Some(by), &settings, "web"))
        .await?;
    crate::workers::scheduler::reload(&state.inbox).await?;
    Ok(saved())
}

async fn save_alerts(
    state: web::Data<State>,
    console: Console,
    form: FormPairs,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    let form = form.into_inner();
    console.check_csrf(field(&form, "csrf"))?;
    let (channel, chat) = (
        field(&form, "channel").trim(),
        field(&form, "chat_id").trim(),
    );
    let (pid, by) = (console.project.id, console.user.id);
    let alerts = if channel.is_empty() && chat.is_empty() {
        None
    } else {
        let key = channel.to_string();
        let known = state
            .inbox
            .store
            .read(move |c| channels::by_key(c, &key))
            .await?
            .is_some_and(|c| c.project_id == pid && c.kind == crate::domain::ChannelKind::Telegram);
        let chat_ok = chat.parse::<i64>().is_ok() || chat.starts_with('@');
        if !known || !chat_ok {
            let e = if !known {
                format!("\"{channel}\" is not a Telegram channel of this project")
            } else {
                "the staff chat is a Telegram chat id such as -1001234567890 or @channel".into()
            };
            let r = Refused {
                alerts: Some((e, form)),
                ..Refused::default()
            };
            return refused(&state, &console, r).await;
        }
        Some(StaffAlerts {
            channel: channel.to_string(),
            chat_id: chat.to_string(),
        })
    };
    let json = alerts
        .map(|a| serde_json::to_string(&a))
        .transpose()
        .map_err(|e| Error::internal(e.to_string()))?;
    state
        .inbox
        .store
        .write(move |c| {
            let schedule = project_settings::get(c, pid)?.and_then(|r| r.schedule);
            project_settings::save(c, pid, schedule.as_deref(), json.as_deref(), "web")?;
            audit::record(c, pid, Some(by), Action::SettingsChanged, "alerts", "")
        })
        .await?;
    crate::workers::scheduler::reload(&state.inbox).await?;
    Ok(saved())
}

async fn save_channel(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ChannelId>,
    form: web::Form<RulesForm>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    let form = form.into_inner();
    console.check_csrf(&form.csrf)?;
    let id = path.into_inner();
    let pid = console.project.id;
    let channel = state
        .inbox
        .store
        .read(move |c| channels::by_id(c, id))
        .await?;
    if channel.project_id != pid {
        return Err(HtmlError::App(Error::not_found("no such channel")));
    }
    let rules = match form.to_config().and_then(|v| ChannelRules::from_config(&v)) {
        Ok(r) => r,
        Err(e) => {
            let r = Refused {
                channel: Some((id, e, form)),
                ..Refused::default()
            };
            return refused(&state, &console, r).await;
        }
    };
    crate::web::channel_admin::save_rules(&state, &console.operator(), &channel, rules).await?;
    Ok(saved())
}

/// A week as "mon 09:00-18:00" lines (days off left out).
fn week_text(s: &Schedule) -> String {
    DAYS.iter()
        .zip(&s.week)
        .filter(|(_, iv)| !iv.is_empty())
        .map(|(d, iv)| format!("{d} {}", intervals_text(iv)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// "mon 09:00-18:00" lines as a schedule in the project's time zone.
fn member_schedule(text: &str, timezone: &str) -> Result<Option<Schedule>, String> {
    let mut v = json!({ "timezone": timezone });
    let mut any = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (day, hours) = line.split_once(' ').unwrap_or((line, ""));
        let day = day.trim().trim_end_matches(':').to_ascii_lowercase();
        if !DAYS.contains(&day.as_str()) {
            return Err(format!(
                "line {}: start with a day (mon, tue, wed, thu, fri, sat, sun), e.g. \"mon 09:00-18:00\"",
                i + 1
            ));
        }
        if !v[day.as_str()].is_null() {
            return Err(format!("line {}: {day} is given twice", i + 1));
        }
        v[day.as_str()] = json!(hours.trim());
        any = true;
    }
    if !any {
        return Ok(None);
    }
    Schedule::from_config(&v).map(Some)
}

async fn save_member_hours(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: FormPairs,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    let form = form.into_inner();
    console.check_csrf(field(&form, "csrf"))?;
    let (pid, by, uid) = (console.project.id, console.user.id, path.into_inner());
    let member = state
        .inbox
        .store
        .read(move |c| members::access_in(c, pid, uid))
        .await?;
    if member.is_none() {
        return Err(HtmlError::App(Error::not_found("no such member")));
    }
    let tz = state
        .inbox
        .automation
        .project(pid)
        .schedule
        .as_ref()
        .map(|s| s.timezone.clone())
        .unwrap_or_else(|| console.project.timezone.clone());
    let schedule = match member_schedule(field(&form, "hours"), &tz) {
        Ok(s) => s,
        Err(e) => {
            let r = Refused {
                member: Some((uid, e, form)),
                ..Refused::default()
            };
            return refused(&state, &console, r).await;
        }
    };
    let json = schedule
        .map(|s| serde_json::to_string(&s))
        .transpose()
        .map_err(|e| Error::internal(e.to_string()))?;
    state
        .inbox
        .store
        .write(move |c| {
            users::set_work_hours(c, uid, json.as_deref())?;
            let subject = format!("working hours: {}", users::by_id(c, uid)?.email);
            audit::record(c, pid, Some(by), Action::SettingsChanged, &subject, "")
        })
        .await?;
    Ok(saved())
}
