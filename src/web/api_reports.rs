//! REST API for reports (Analytics and Administrator levels): the summary, the figures per
//! day and per operator, with the parameters of the reports page; and the reports' settings
//! (the settings level), checked like Settings → Automation and `[reports]` in channels.toml.

use actix_web::{HttpResponse, get, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::State;
use super::auth::ApiUser;
use super::errors::ApiError;
use super::openapi::ErrorBody;
use crate::domain::Can;
use crate::i18n::Lang;
use crate::inbox::reports::figures::{Day, Row, Summary};
use crate::inbox::reports::{Params, Report};

/// The parameters every report takes (documentation; they are read as the page reads them).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ReportQuery {
    /// today, yesterday, 7d (default), 30d, or custom with from and to.
    period: Option<String>,
    /// First day (YYYY-MM-DD, the project's time zone), included; at most 366 days.
    from: Option<String>,
    /// Last day, included; default today.
    to: Option<String>,
    /// Only this channel (its id).
    channel: Option<i64>,
    /// Only this team (its id).
    team: Option<i64>,
    /// Only conversations assigned to this member (their id).
    operator: Option<i64>,
    /// Only conversations with this tag (its id).
    tag: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct SummaryOut {
    /// First and last day of the period, in `timezone`.
    from: String,
    to: String,
    timezone: String,
    #[serde(flatten)]
    summary: Summary,
}

#[derive(Serialize, ToSchema)]
struct DaysOut {
    from: String,
    to: String,
    timezone: String,
    data: Vec<Day>,
}

#[derive(Serialize, ToSchema)]
struct OperatorsOut {
    from: String,
    to: String,
    timezone: String,
    data: Vec<Row>,
}

async fn report(
    state: &State,
    who: &ApiUser,
    q: Vec<(String, String)>,
) -> Result<Report, ApiError> {
    who.require(Can::Reports)?;
    let params: Params = state.inbox.report_params(who.project_id, q).await?;
    Ok(state.inbox.report(who.project_id, params, Lang::En).await?)
}

/// Figures of the period: conversations opened (and what they took: first response and
/// resolution, median and 90th percentile, in calendar and working time; the SLA share;
/// reopenings; ratings; messages), conversations closed in it, and what is open now.
#[utoipa::path(
    params(ReportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = SummaryOut),
        (status = 400, description = "A bad period or filter: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Reports are for analysts and admins", body = ErrorBody),
    )
)]
#[get("/reports/summary")]
pub(super) async fn report_summary(
    state: web::Data<State>,
    who: ApiUser,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let r = report(&state, &who, q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(SummaryOut {
        from: r.from.to_string(),
        to: r.to.to_string(),
        timezone: r.timezone,
        summary: r.summary,
    }))
}

/// Per day of the period: opened, closed, the backlog at the end of the day, messages, the
/// median first response.
#[utoipa::path(
    params(ReportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = DaysOut),
        (status = 400, description = "A bad period or filter: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Reports are for analysts and admins", body = ErrorBody),
    )
)]
#[get("/reports/timeseries")]
pub(super) async fn report_timeseries(
    state: web::Data<State>,
    who: ApiUser,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let r = report(&state, &who, q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(DaysOut {
        from: r.from.to_string(),
        to: r.to.to_string(),
        timezone: r.timezone,
        data: r.days,
    }))
}

/// Per assignee: conversations handled, resolved or closed, answered, median first response
/// and resolution, average rating, time online. The row without `id` is the unassigned.
#[utoipa::path(
    params(ReportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = OperatorsOut),
        (status = 400, description = "A bad period or filter: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Reports are for analysts and admins", body = ErrorBody),
    )
)]
#[get("/reports/operators")]
pub(super) async fn report_operators(
    state: web::Data<State>,
    who: ApiUser,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let r = report(&state, &who, q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(OperatorsOut {
        from: r.from.to_string(),
        to: r.to.to_string(),
        timezone: r.timezone,
        data: r.operators,
    }))
}

/// The reports' settings, with the keys of `[reports]` in channels.toml.
#[derive(Serialize, Deserialize, ToSchema)]
struct ReportSettingsBody {
    /// The first-response target, e.g. "15m"; null: none.
    sla: Option<String>,
    /// "calendar" (default) or "working": whether the target counts working time only.
    sla_time: Option<String>,
    /// When yesterday's summary goes to the staff chat and by e-mail ("09:00", the project's
    /// time zone); null: no summary.
    daily_summary: Option<String>,
}

/// The first-response target and the daily summary's time.
#[utoipa::path(
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = ReportSettingsBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Settings are for admins and the settings level", body = ErrorBody),
    )
)]
#[get("/reports/settings")]
pub(super) async fn get_report_settings(
    state: web::Data<State>,
    who: ApiUser,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let s = state.inbox.automation.project(who.project_id);
    Ok(HttpResponse::Ok().json(s.reports.to_config()))
}

/// Changes the first-response target and the daily summary's time; a bad value changes
/// nothing.
#[utoipa::path(
    request_body = ReportSettingsBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved: the settings now", body = ReportSettingsBody),
        (status = 400, description = "A bad value: the message names the key", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Settings are for admins and the settings level", body = ErrorBody),
    )
)]
#[put("/reports/settings")]
pub(super) async fn put_report_settings(
    state: web::Data<State>,
    who: ApiUser,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let settings = crate::automation::ReportSettings::from_config(&body.into_inner())
        .map_err(ApiError::bad_request)?;
    let (pid, by) = (who.project_id, who.user.id);
    let saved = settings.clone();
    state
        .inbox
        .store
        .write(move |c| crate::inbox::reports::save_settings(c, pid, Some(by), &saved, "web"))
        .await?;
    crate::workers::scheduler::reload(&state.inbox).await?;
    Ok(HttpResponse::Ok().json(settings.to_config()))
}
