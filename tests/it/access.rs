//! Every route, walked with every access level and with a member of another project: allowed,
//! 403 or 404 as the table says. The table must name every route the server registers (read
//! from the sources and the OpenAPI document), so a new route without a row fails here.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, Operator, TestApp};
use perepiska::domain::{Access, Role};

/// What a route asks of its caller.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Need {
    /// No session: platforms, customers, the sign-in and invitation pages, health.
    Public,
    /// Any signed-in member (their own profile, the project switch).
    Member,
    Dialogs,
    Answer,
    /// Answering, or the settings level: canned replies (the project's are the latter's).
    AnswerOrSettings,
    Settings,
    /// Reports: analysts and admins.
    Reports,
    Team,
    /// The server's owner (the first admin): creating projects.
    Owner,
}

/// (method, the path as registered, the path requested, need). `{conv}`, `{chan}` and the
/// like are this project's things: another project's member gets 404 for them.
const ROUTES: &[(&str, &str, &str, Need)] = &[
    ("GET", "/", "", Need::Public),
    ("GET", "/healthz", "", Need::Public),
    ("GET", "/metrics", "", Need::Public),
    ("GET", "/login", "", Need::Public),
    ("POST", "/login", "", Need::Public),
    ("POST", "/logout", "", Need::Public),
    ("GET", "/lang/{code}", "", Need::Public),
    ("GET", "/demo", "", Need::Public),
    ("GET", "/widget/{key}/config", "", Need::Public),
    ("POST", "/widget/{key}/messages", "", Need::Public),
    ("GET", "/widget/{key}/messages", "", Need::Public),
    ("POST", "/widget/{key}/files", "", Need::Public),
    ("POST", "/widget/{key}/contact", "", Need::Public),
    ("POST", "/widget/{key}/read", "", Need::Public),
    ("GET", "/widget/{key}/live", "", Need::Public),
    ("GET", "/widget/{key}/attachments/{id}", "", Need::Public),
    ("OPTIONS", "/widget/{tail:.*}", "", Need::Public),
    ("POST", "/webhooks/{key}", "", Need::Public),
    ("GET", "/webhooks/{key}", "", Need::Public),
    ("POST", "/webhooks/{key}/{secret}", "", Need::Public),
    ("GET", "/webhooks/{key}/{secret}", "", Need::Public),
    ("GET", "/media/{id}/{name}", "", Need::Public),
    ("GET", "/invite/{token}", "", Need::Public),
    ("POST", "/invite/{token}", "", Need::Public),
    ("GET", "/reset/{token}", "", Need::Public),
    ("POST", "/reset/{token}", "", Need::Public),
    ("GET", "/password/forgot", "", Need::Public),
    ("POST", "/password/forgot", "", Need::Public),
    ("GET", "/avatars/{dir}/{id}", "", Need::Public),
    ("GET", "/api/v1/openapi.json", "", Need::Public),
    // The inbox.
    ("GET", "/console", "/console", Need::Dialogs),
    (
        "GET",
        "/console/partials/list",
        "/console/partials/list",
        Need::Dialogs,
    ),
    (
        "GET",
        "/console/partials/thread/{id}",
        "/console/partials/thread/{conv}",
        Need::Dialogs,
    ),
    (
        "GET",
        "/console/partials/crm/{id}",
        "/console/partials/crm/{conv}",
        Need::Dialogs,
    ),
    (
        "POST",
        "/console/c/{id}/reply",
        "/console/c/{conv}/reply",
        Need::Answer,
    ),
    (
        "POST",
        "/console/c/{id}/update",
        "/console/c/{conv}/update",
        Need::Answer,
    ),
    (
        "POST",
        "/console/c/{id}/read",
        "/console/c/{conv}/read",
        Need::Answer,
    ),
    (
        "POST",
        "/console/c/{id}/typing",
        "/console/c/{conv}/typing",
        Need::Answer,
    ),
    (
        "POST",
        "/console/c/{id}/contact",
        "/console/c/{conv}/contact",
        Need::Answer,
    ),
    (
        "POST",
        "/console/c/{id}/new",
        "/console/c/{conv}/new",
        Need::Answer,
    ),
    (
        "POST",
        "/console/c/{id}/template",
        "/console/c/{conv}/template",
        Need::Answer,
    ),
    (
        "POST",
        "/console/c/{id}/blacklist",
        "/console/c/{conv}/blacklist",
        Need::Answer,
    ),
    (
        "POST",
        "/console/c/{id}/unblacklist",
        "/console/c/{doomed_conv}/unblacklist",
        Need::Answer,
    ),
    (
        "POST",
        "/console/presence",
        "/console/presence",
        Need::Answer,
    ),
    ("POST", "/console/project", "/console/project", Need::Member),
    (
        "GET",
        "/console/attachments/{id}",
        "/console/attachments/{file}",
        Need::Dialogs,
    ),
    (
        "GET",
        "/console/notifications",
        "/console/notifications",
        Need::Dialogs,
    ),
    (
        "GET",
        "/console/partials/bell",
        "/console/partials/bell",
        Need::Dialogs,
    ),
    ("GET", "/console/live", "/console/live", Need::Dialogs),
    // Everyone's own.
    ("GET", "/console/profile", "/console/profile", Need::Member),
    (
        "POST",
        "/console/profile/name",
        "/console/profile/name",
        Need::Member,
    ),
    (
        "POST",
        "/console/profile/password",
        "/console/profile/password",
        Need::Member,
    ),
    (
        "POST",
        "/console/profile/tokens",
        "/console/profile/tokens",
        Need::Member,
    ),
    (
        "POST",
        "/console/profile/tokens/{id}/revoke",
        "/console/profile/tokens/{own_token}/revoke",
        Need::Member,
    ),
    (
        "POST",
        "/console/profile/preferences",
        "/console/profile/preferences",
        Need::Member,
    ),
    (
        "POST",
        "/console/profile/messenger/code",
        "/console/profile/messenger/code",
        Need::Member,
    ),
    (
        "POST",
        "/console/profile/messenger/unlink",
        "/console/profile/messenger/unlink",
        Need::Member,
    ),
    (
        "POST",
        "/console/profile/avatar",
        "/console/profile/avatar",
        Need::Member,
    ),
    (
        "POST",
        "/console/profile/avatar/remove",
        "/console/profile/avatar/remove",
        Need::Member,
    ),
    // Settings.
    (
        "GET",
        "/console/settings",
        "/console/settings",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/schedule",
        "/console/settings/schedule",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/alerts",
        "/console/settings/alerts",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/reports",
        "/console/settings/reports",
        Need::Settings,
    ),
    ("GET", "/console/reports", "/console/reports", Need::Reports),
    (
        "GET",
        "/console/reports/journal.csv",
        "/console/reports/journal.csv",
        Need::Reports,
    ),
    (
        "GET",
        "/console/reports/{table}.csv",
        "/console/reports/operators.csv",
        Need::Reports,
    ),
    (
        "POST",
        "/console/settings/rules/{id}",
        "/console/settings/rules/{chan_id}",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/members/{id}",
        "/console/settings/members/{operator}",
        Need::Settings,
    ),
    (
        "GET",
        "/console/settings/channels",
        "/console/settings/channels",
        Need::Settings,
    ),
    (
        "GET",
        "/console/settings/channels/new",
        "/console/settings/channels/new?kind=api",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/channels/new",
        "/console/settings/channels/new",
        Need::Settings,
    ),
    (
        "GET",
        "/console/settings/channels/{key}",
        "/console/settings/channels/{chan}",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/channels/{key}",
        "/console/settings/channels/{chan}",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/channels/{key}/pause",
        "/console/settings/channels/{chan}/pause",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/channels/{key}/resume",
        "/console/settings/channels/{chan}/resume",
        Need::Settings,
    ),
    (
        "GET",
        "/console/settings/channels/{key}/disconnect",
        "/console/settings/channels/{chan}/disconnect",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/channels/{key}/disconnect",
        "/console/settings/channels/{doomed_chan}/disconnect",
        Need::Settings,
    ),
    (
        "GET",
        "/console/settings/blacklist",
        "/console/settings/blacklist",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/blacklist/networks",
        "/console/settings/blacklist/networks",
        Need::Settings,
    ),
    (
        "GET",
        "/console/settings/blacklist/{id}",
        "/console/settings/blacklist/{listed}",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/blacklist/{id}/unblock",
        "/console/settings/blacklist/{doomed_listed}/unblock",
        Need::Settings,
    ),
    (
        "GET",
        "/console/settings/audit",
        "/console/settings/audit",
        Need::Team,
    ),
    (
        "GET",
        "/console/settings/project",
        "/console/settings/project",
        Need::Team,
    ),
    (
        "POST",
        "/console/settings/project",
        "/console/settings/project",
        Need::Team,
    ),
    (
        "GET",
        "/console/projects/new",
        "/console/projects/new",
        Need::Owner,
    ),
    (
        "POST",
        "/console/projects",
        "/console/projects",
        Need::Owner,
    ),
    // The team.
    (
        "GET",
        "/console/settings/team",
        "/console/settings/team",
        Need::Team,
    ),
    (
        "POST",
        "/console/settings/team",
        "/console/settings/team",
        Need::Team,
    ),
    (
        "GET",
        "/console/settings/team/{id}",
        "/console/settings/team/{operator}",
        Need::Team,
    ),
    (
        "POST",
        "/console/settings/team/{id}",
        "/console/settings/team/{operator}",
        Need::Team,
    ),
    (
        "POST",
        "/console/settings/team/{id}/active",
        "/console/settings/team/{doomed}/active",
        Need::Team,
    ),
    (
        "POST",
        "/console/settings/team/{id}/hand-over",
        "/console/settings/team/{doomed}/hand-over",
        Need::Team,
    ),
    (
        "POST",
        "/console/settings/team/{id}/reset-link",
        "/console/settings/team/{operator}/reset-link",
        Need::Team,
    ),
    (
        "POST",
        "/console/settings/team/{id}/invite",
        "/console/settings/team/{operator}/invite",
        Need::Team,
    ),
    (
        "POST",
        "/console/settings/team/{id}/remove",
        "/console/settings/team/{operator}/remove",
        Need::Team,
    ),
    (
        "GET",
        "/console/settings/teams",
        "/console/settings/teams",
        Need::Team,
    ),
    (
        "POST",
        "/console/settings/teams",
        "/console/settings/teams",
        Need::Team,
    ),
    (
        "POST",
        "/console/settings/teams/{id}",
        "/console/settings/teams/{team}",
        Need::Team,
    ),
    (
        "POST",
        "/console/settings/teams/{id}/delete",
        "/console/settings/teams/{doomed_team}/delete",
        Need::Team,
    ),
    // The REST API.
    (
        "GET",
        "/api/v1/conversations",
        "/api/v1/conversations",
        Need::Dialogs,
    ),
    (
        "GET",
        "/api/v1/conversations/{id}",
        "/api/v1/conversations/{conv}",
        Need::Dialogs,
    ),
    (
        "PATCH",
        "/api/v1/conversations/{id}",
        "/api/v1/conversations/{conv}",
        Need::Answer,
    ),
    (
        "GET",
        "/api/v1/conversations/{id}/messages",
        "/api/v1/conversations/{conv}/messages",
        Need::Dialogs,
    ),
    (
        "POST",
        "/api/v1/conversations/{id}/messages",
        "/api/v1/conversations/{conv}/messages",
        Need::Answer,
    ),
    (
        "POST",
        "/api/v1/conversations/{id}/template",
        "/api/v1/conversations/{conv}/template",
        Need::Answer,
    ),
    (
        "GET",
        "/api/v1/channels",
        "/api/v1/channels",
        Need::Settings,
    ),
    (
        "POST",
        "/api/v1/channels",
        "/api/v1/channels",
        Need::Settings,
    ),
    (
        "POST",
        "/api/v1/channels/verify",
        "/api/v1/channels/verify",
        Need::Settings,
    ),
    (
        "GET",
        "/api/v1/channels/{id}",
        "/api/v1/channels/{chan}",
        Need::Settings,
    ),
    (
        "PATCH",
        "/api/v1/channels/{id}",
        "/api/v1/channels/{chan}",
        Need::Settings,
    ),
    (
        "PUT",
        "/api/v1/channels/{id}/distribution",
        "/api/v1/channels/{chan}/distribution",
        Need::Settings,
    ),
    (
        "DELETE",
        "/api/v1/channels/{id}",
        "/api/v1/channels/{doomed_chan2}",
        Need::Settings,
    ),
    (
        "GET",
        "/api/v1/blacklist",
        "/api/v1/blacklist",
        Need::Settings,
    ),
    (
        "POST",
        "/api/v1/blacklist",
        "/api/v1/blacklist",
        Need::Answer,
    ),
    (
        "DELETE",
        "/api/v1/blacklist/{id}",
        "/api/v1/blacklist/{doomed_listed2}",
        Need::Answer,
    ),
    (
        "GET",
        "/api/v1/blacklist/{id}/messages",
        "/api/v1/blacklist/{listed}/messages",
        Need::Settings,
    ),
    (
        "GET",
        "/console/c/{id}/canned",
        "/console/c/{conv}/canned",
        Need::Answer,
    ),
    (
        "GET",
        "/console/canned",
        "/console/canned",
        Need::AnswerOrSettings,
    ),
    (
        "POST",
        "/console/canned",
        "/console/canned",
        Need::AnswerOrSettings,
    ),
    (
        "GET",
        "/console/canned/{id}",
        "/console/canned/{canned}",
        Need::Settings,
    ),
    (
        "POST",
        "/console/canned/{id}",
        "/console/canned/{canned}",
        Need::Settings,
    ),
    (
        "POST",
        "/console/canned/{id}/delete",
        "/console/canned/{doomed_canned}/delete",
        Need::Settings,
    ),
    (
        "GET",
        "/api/v1/canned_responses",
        "/api/v1/canned_responses",
        Need::AnswerOrSettings,
    ),
    (
        "POST",
        "/api/v1/canned_responses",
        "/api/v1/canned_responses",
        Need::AnswerOrSettings,
    ),
    (
        "GET",
        "/api/v1/canned_responses/{id}",
        "/api/v1/canned_responses/{canned}",
        Need::AnswerOrSettings,
    ),
    (
        "PATCH",
        "/api/v1/canned_responses/{id}",
        "/api/v1/canned_responses/{canned}",
        Need::Settings,
    ),
    (
        "DELETE",
        "/api/v1/canned_responses/{id}",
        "/api/v1/canned_responses/{doomed_canned2}",
        Need::Settings,
    ),
    (
        "POST",
        "/api/v1/canned_responses/{id}/files",
        "/api/v1/canned_responses/{canned}/files",
        Need::Settings,
    ),
    (
        "DELETE",
        "/api/v1/canned_responses/{id}/files/{file_id}",
        "/api/v1/canned_responses/{filed_canned}/files/{doomed_canned_file}",
        Need::Settings,
    ),
    (
        "POST",
        "/console/c/{id}/tags",
        "/console/c/{conv}/tags",
        Need::Answer,
    ),
    (
        "GET",
        "/console/settings/tags",
        "/console/settings/tags",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/tags",
        "/console/settings/tags",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/tags/{id}",
        "/console/settings/tags/{tag}",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/tags/{id}/delete",
        "/console/settings/tags/{doomed_tag}/delete",
        Need::Settings,
    ),
    (
        "GET",
        "/console/settings/integrations",
        "/console/settings/integrations",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/integrations",
        "/console/settings/integrations",
        Need::Settings,
    ),
    (
        "GET",
        "/console/settings/integrations/{key}",
        "/console/settings/integrations/{hook}",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/integrations/{key}",
        "/console/settings/integrations/{hook}",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/integrations/{key}/pause",
        "/console/settings/integrations/{hook}/pause",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/integrations/{key}/resume",
        "/console/settings/integrations/{hook}/resume",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/integrations/{key}/delete",
        "/console/settings/integrations/{doomed_hook}/delete",
        Need::Settings,
    ),
    (
        "POST",
        "/console/settings/integrations/{key}/deliveries/{id}/retry",
        "/console/settings/integrations/{hook}/deliveries/{delivery}/retry",
        Need::Settings,
    ),
    ("GET", "/api/v1/tags", "/api/v1/tags", Need::Member),
    ("POST", "/api/v1/tags", "/api/v1/tags", Need::Settings),
    (
        "PATCH",
        "/api/v1/tags/{id}",
        "/api/v1/tags/{tag}",
        Need::Settings,
    ),
    (
        "DELETE",
        "/api/v1/tags/{id}",
        "/api/v1/tags/{doomed_tag2}",
        Need::Settings,
    ),
    (
        "GET",
        "/console/contacts",
        "/console/contacts",
        Need::Dialogs,
    ),
    (
        "POST",
        "/console/contacts",
        "/console/contacts",
        Need::Answer,
    ),
    (
        "GET",
        "/console/contacts/new",
        "/console/contacts/new",
        Need::Answer,
    ),
    (
        "GET",
        "/console/contacts/import",
        "/console/contacts/import",
        Need::Team,
    ),
    (
        "POST",
        "/console/contacts/import",
        "/console/contacts/import",
        Need::Team,
    ),
    (
        "GET",
        "/console/contacts/export",
        "/console/contacts/export",
        Need::Team,
    ),
    (
        "GET",
        "/console/contacts/{id}",
        "/console/contacts/{contact}",
        Need::Dialogs,
    ),
    (
        "POST",
        "/console/contacts/{id}",
        "/console/contacts/{contact}",
        Need::Answer,
    ),
    (
        "POST",
        "/console/contacts/{id}/merge",
        "/console/contacts/{contact}/merge",
        Need::Answer,
    ),
    ("GET", "/api/v1/contacts", "/api/v1/contacts", Need::Dialogs),
    ("POST", "/api/v1/contacts", "/api/v1/contacts", Need::Answer),
    (
        "POST",
        "/api/v1/contacts/import",
        "/api/v1/contacts/import",
        Need::Team,
    ),
    (
        "GET",
        "/api/v1/contacts/{id}",
        "/api/v1/contacts/{contact}",
        Need::Dialogs,
    ),
    (
        "PATCH",
        "/api/v1/contacts/{id}",
        "/api/v1/contacts/{contact}",
        Need::Answer,
    ),
    (
        "POST",
        "/api/v1/contacts/{id}/merge",
        "/api/v1/contacts/{contact}/merge",
        Need::Answer,
    ),
    (
        "GET",
        "/api/v1/me/notifications",
        "/api/v1/me/notifications",
        Need::Member,
    ),
    (
        "PUT",
        "/api/v1/me/notifications",
        "/api/v1/me/notifications",
        Need::Member,
    ),
    (
        "GET",
        "/api/v1/reports/summary",
        "/api/v1/reports/summary",
        Need::Reports,
    ),
    (
        "GET",
        "/api/v1/reports/timeseries",
        "/api/v1/reports/timeseries",
        Need::Reports,
    ),
    (
        "GET",
        "/api/v1/reports/operators",
        "/api/v1/reports/operators",
        Need::Reports,
    ),
    (
        "GET",
        "/api/v1/reports/settings",
        "/api/v1/reports/settings",
        Need::Settings,
    ),
    (
        "PUT",
        "/api/v1/reports/settings",
        "/api/v1/reports/settings",
        Need::Settings,
    ),
    (
        "GET",
        "/api/v1/integrations",
        "/api/v1/integrations",
        Need::Settings,
    ),
    (
        "POST",
        "/api/v1/integrations",
        "/api/v1/integrations",
        Need::Settings,
    ),
    (
        "GET",
        "/api/v1/integrations/{id}",
        "/api/v1/integrations/{hook}",
        Need::Settings,
    ),
    (
        "PUT",
        "/api/v1/integrations/{id}",
        "/api/v1/integrations/{hook}",
        Need::Settings,
    ),
    (
        "DELETE",
        "/api/v1/integrations/{id}",
        "/api/v1/integrations/{doomed_hook2}",
        Need::Settings,
    ),
    (
        "POST",
        "/api/v1/integrations/{id}/pause",
        "/api/v1/integrations/{hook}/pause",
        Need::Settings,
    ),
    (
        "POST",
        "/api/v1/integrations/{id}/resume",
        "/api/v1/integrations/{hook}/resume",
        Need::Settings,
    ),
    (
        "GET",
        "/api/v1/integrations/{id}/deliveries",
        "/api/v1/integrations/{hook}/deliveries",
        Need::Settings,
    ),
    (
        "POST",
        "/api/v1/integrations/{id}/deliveries/{delivery}/retry",
        "/api/v1/integrations/{hook}/deliveries/{delivery}/retry",
        Need::Settings,
    ),
    ("GET", "/api/v1/users", "/api/v1/users", Need::Team),
    ("POST", "/api/v1/users", "/api/v1/users", Need::Team),
    (
        "GET",
        "/api/v1/users/{id}",
        "/api/v1/users/{operator}",
        Need::Team,
    ),
    (
        "PATCH",
        "/api/v1/users/{id}",
        "/api/v1/users/{operator}",
        Need::Team,
    ),
    (
        "DELETE",
        "/api/v1/users/{id}",
        "/api/v1/users/{doomed2}",
        Need::Team,
    ),
    ("GET", "/api/v1/teams", "/api/v1/teams", Need::Team),
    ("POST", "/api/v1/teams", "/api/v1/teams", Need::Team),
    (
        "PATCH",
        "/api/v1/teams/{id}",
        "/api/v1/teams/{team}",
        Need::Team,
    ),
    (
        "DELETE",
        "/api/v1/teams/{id}",
        "/api/v1/teams/{doomed_team2}",
        Need::Team,
    ),
];

/// Routes as the sources register them: `.route("…", web::get()…)`, `web::resource("…")`
/// with its `.route(web::post()…)`s, and the API's `#[get("…")]` handlers.
fn registered() -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    for f in files {
        let text = squash(&std::fs::read_to_string(&f).unwrap());
        let api = f.file_name().unwrap().to_string_lossy().starts_with("api");
        let prefix = if api { "/api/v1" } else { "" };
        for (i, _) in text
            .match_indices(".route( \"")
            .chain(text.match_indices(".route(\""))
        {
            let rest = &text[i..];
            let start = rest.find('"').unwrap() + 1;
            let end = start + rest[start..].find('"').unwrap();
            let path = &rest[start..end];
            let after = &rest[end..];
            let method = if after.starts_with("\", web::method(actix_web::http::Method::OPTIONS)") {
                "OPTIONS".to_string()
            } else {
                let m = after.trim_start_matches("\", web::");
                m[..m.find('(').unwrap()].to_uppercase()
            };
            found.insert((method, format!("{prefix}{path}")));
        }
        for (i, _) in text.match_indices("web::resource(\"") {
            let rest = &text[i + "web::resource(\"".len()..];
            let path = &rest[..rest.find('"').unwrap()];
            let body = &rest[..rest[1..]
                .find("web::resource(")
                .map(|j| j + 1)
                .unwrap_or(rest.len())];
            for (j, _) in body.match_indices(".route(web::") {
                let m = &body[j + ".route(web::".len()..];
                found.insert((m[..m.find('(').unwrap()].to_uppercase(), path.to_string()));
            }
        }
        for verb in ["get", "post", "put", "patch", "delete"] {
            let tag = format!("#[{verb}(\"");
            for (i, _) in text.match_indices(&tag) {
                let rest = &text[i + tag.len()..];
                let path = &rest[..rest.find('"').unwrap()];
                found.insert((verb.to_uppercase(), format!("/api/v1{path}")));
            }
        }
    }
    found.insert(("GET".into(), "/".into()));
    found
}

#[tokio::test]
async fn every_route_is_in_the_access_table() {
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), p.to_string()))
        .collect();
    let registered = registered();
    let missing: Vec<_> = registered.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "routes with no row in the access table: {missing:?}"
    );
    let stale: Vec<_> = table.difference(&registered).collect();
    assert!(
        stale.is_empty(),
        "rows for routes that no longer exist: {stale:?}"
    );
    // The API's routes are the OpenAPI document's operations too.
    let app = TestApp::spawn().await;
    let doc: Value = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let key = (method.to_uppercase(), format!("/api/v1{path}"));
            assert!(table.contains(&key), "{key:?} is documented but has no row");
        }
    }
}

/// What one caller should get from one route.
#[derive(Debug, PartialEq)]
enum Expect {
    Allowed,
    Forbidden,
    NotFound,
    /// The settings level opens the console into the settings.
    ToSettings,
}

fn expect(
    access: Option<Access>,
    owner: bool,
    need: Need,
    path: &str,
    own_project: bool,
) -> Expect {
    // (a caller's own token is theirs whatever the project)
    let scoped = path.contains('{') && !path.contains("{own_token}");
    if !own_project && scoped {
        return Expect::NotFound;
    }
    let a = access.unwrap_or(Access::of(&[Role::Admin]));
    let can = |c| a.can(c);
    use perepiska::domain::Can;
    let ok = match need {
        Need::Public | Need::Member => true,
        Need::Dialogs => can(Can::ReadDialogs),
        Need::Answer => can(Can::Answer),
        Need::AnswerOrSettings => can(Can::Answer) || can(Can::Settings),
        Need::Settings => can(Can::Settings),
        Need::Reports => can(Can::Reports),
        Need::Team => can(Can::Team),
        Need::Owner => owner,
    };
    if path == "/console" && !can(Can::ReadDialogs) && can(Can::Settings) {
        return Expect::ToSettings;
    }
    if ok {
        Expect::Allowed
    } else {
        Expect::Forbidden
    }
}

struct Caller {
    name: &'static str,
    console: Operator,
    token: String,
    /// A second token of theirs, for the row that revokes one.
    spare_token: i64,
    /// None: the admin of another project.
    access: Option<Access>,
}

async fn call(app: &TestApp, c: &Caller, method: &str, path: &str) -> (u16, String) {
    let api = path.starts_with("/api/");
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let url = if api || method == Method::GET {
        format!("{}{path}", app.url)
    } else {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}csrf={}", app.url, c.console.csrf)
    };
    let mut r = c.console.http.request(method.clone(), url);
    if api {
        r = r.bearer_auth(&c.token);
        if method != Method::GET && method != Method::DELETE {
            r = r.json(&json!({}));
        }
    } else if method == Method::POST {
        r = r.form(&[("csrf", c.console.csrf.as_str())]);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("Location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let stream = resp
        .headers()
        .get("Content-Type")
        .is_some_and(|v| v.to_str().unwrap_or_default().contains("event-stream"));
    // A live stream answers its status and would go on forever: it is not read.
    let body = if stream {
        String::new()
    } else {
        resp.text().await.unwrap_or_default()
    };
    (
        status,
        if location.is_empty() {
            body
        } else {
            format!("Location: {location}")
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_access_level_gets_what_the_table_says_on_every_route() {
    let app = TestApp::spawn().await;
    let admin_token = app.api_token(ADMIN_EMAIL).await;
    for (email, role) in [
        ("settings@example.com", Role::Settings),
        ("analytics@example.com", Role::Analytics),
        ("operator@example.com", Role::Operator),
    ] {
        app.add_member(email, "Участник", "password-1111", role)
            .await;
    }
    // The admin of another project on the same server.
    app.store()
        .write(|c| {
            let p = perepiska::bootstrap::create_project(c, "other", "Другая", "Europe/Moscow")?;
            perepiska::bootstrap::create_user(
                c,
                "stranger@example.com",
                "Чужой",
                "password-2222",
                Access::of(&[Role::Admin]),
                p.id,
            )
            .map(|_| ())
        })
        .await
        .unwrap();
    // This project's things: a conversation with a file, channels, teams.
    let r = app
        .http
        .post(format!(
            "{}/widget/web/files?visitor=visitor-token-access-0001&client_id=f1&name=a.png",
            app.url
        ))
        .header("Content-Type", "image/png")
        .body(b"\x89PNG\r\n\x1a\nbytes".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rec: Value = r.json().await.unwrap();
    let conv = rec["conversation_id"].as_i64().unwrap();
    let file = app.widget_messages("visitor-token-access-0001").await[0]["attachments"][0]["id"]
        .as_i64()
        .unwrap();
    let channel = |name: &str| {
        let (app, token) = (&app, &admin_token);
        let body = json!({"kind": "api", "name": name, "config": {"callback_url": "http://127.0.0.1:9/crm"}});
        async move {
            app.api_ok(token, Method::POST, "/channels", Some(body))
                .await["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let chan = channel("CRM").await;
    let team = |name: &str| {
        let (app, token) = (&app, &admin_token);
        let body = json!({"name": name});
        async move {
            app.api_ok(token, Method::POST, "/teams", Some(body)).await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let team_id = team("Продажи").await;
    let member = |email: String| {
        let (app, token) = (&app, &admin_token);
        let body = json!({"email": email, "name": "Уходящий", "roles": ["operator"]});
        async move {
            app.api_ok(token, Method::POST, "/users", Some(body)).await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let operator = app.user_id("operator@example.com").await;
    let chan_id = app
        .store()
        .read(|c| perepiska::store::channels::of_project(c, perepiska::domain::ProjectId(1)))
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "CRM")
        .unwrap()
        .id
        .0;
    // A conversation whose contact is then blacklisted, for a caller's (or everyone's) use.
    let listed_conv = |n: String| {
        let (app, token) = (&app, &admin_token);
        async move {
            let sent: Value = app
                .widget_send(&format!("visitor-token-listed-{n:0>8}"), "l", "Спам")
                .await
                .json()
                .await
                .unwrap();
            let conv = sent["conversation_id"].as_i64().unwrap();
            let contact = app
                .api_ok(token, Method::GET, &format!("/conversations/{conv}"), None)
                .await["contact"]["id"]
                .as_i64()
                .unwrap();
            app.api_ok(
                token,
                Method::POST,
                "/blacklist",
                Some(json!({"contact_id": contact, "reason": "спам"})),
            )
            .await;
            (conv, contact)
        }
    };
    let (_, listed) = listed_conv("all".into()).await;
    // A canned reply of the project's (one to keep, one to delete per caller).
    let canned_reply = |shortcut: String| {
        let (app, token) = (&app, &admin_token);
        let body = json!({"shortcut": shortcut, "title": "Шаблон", "text": "Здравствуйте!"});
        async move {
            app.api_ok(token, Method::POST, "/canned_responses", Some(body))
                .await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let canned = canned_reply("kept".into()).await;
    // A reply of its own with one file, for each caller's try at removing that file.
    let canned_with_file = |shortcut: String| {
        let (app, token) = (&app, &admin_token);
        async move {
            let id = canned_reply(shortcut).await;
            let part = reqwest::multipart::Part::bytes(b"%PDF".to_vec())
                .file_name("a.pdf")
                .mime_str("application/pdf")
                .unwrap();
            let v: Value = app
                .http
                .post(format!("{}/api/v1/canned_responses/{id}/files", app.url))
                .bearer_auth(token)
                .multipart(reqwest::multipart::Form::new().part("file", part))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (
                id.to_string(),
                v["files"][0]["id"].as_str().unwrap().to_string(),
            )
        }
    };
    let new_tag = |name: String| {
        let (app, token) = (&app, &admin_token);
        let body = json!({"name": name, "colour": "green"});
        async move {
            app.api_ok(token, Method::POST, "/tags", Some(body)).await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let tag = new_tag("Постоянный".into()).await;
    let contact = app
        .api_ok(
            &admin_token,
            Method::POST,
            "/contacts",
            Some(json!({"name": "Клиент из CRM"})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    // A webhook of the project's, to a closed port on this machine (no traffic leaves it), with
    // one delivery in its log; and one to remove per caller.
    let hook = |id: String| {
        let (app, token) = (&app, &admin_token);
        let body = json!({"id": id, "kind": "webhook", "config": {
            "url": "http://127.0.0.1:9/hook", "secret": "access-test-secret-1", "events": ["contact_updated"]}});
        async move {
            app.api_ok(token, Method::POST, "/integrations", Some(body))
                .await["integration"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let kept_hook = hook("kept-hook".into()).await;
    app.api_ok(
        &admin_token,
        Method::PATCH,
        &format!("/contacts/{contact}"),
        Some(json!({"name": "Клиент из CRM (изменён)"})),
    )
    .await;
    let delivery = app
        .api_ok(
            &admin_token,
            Method::GET,
            &format!("/integrations/{kept_hook}/deliveries"),
            None,
        )
        .await["data"][0]["id"]
        .as_i64()
        .expect("a delivery in the log");
    let fill = |p: &str| {
        p.replace("{conv}", &conv.to_string())
            .replace("{listed}", &listed.to_string())
            .replace("{file}", &file.to_string())
            .replace("{chan_id}", &chan_id.to_string())
            .replace("{chan}", &chan)
            .replace("{team}", &team_id.to_string())
            .replace("{operator}", &operator.to_string())
            .replace("{canned}", &canned.to_string())
            .replace("{tag}", &tag.to_string())
            .replace("{contact}", &contact.to_string())
            .replace("{hook}", &kept_hook)
            .replace("{delivery}", &delivery.to_string())
    };
    let mut callers = Vec::new();
    for (name, email, password, access) in [
        (
            "another project's admin",
            "stranger@example.com",
            "password-2222",
            None,
        ),
        (
            "settings",
            "settings@example.com",
            "password-1111",
            Some(Access::of(&[Role::Settings])),
        ),
        (
            "analytics",
            "analytics@example.com",
            "password-1111",
            Some(Access::of(&[Role::Analytics])),
        ),
        (
            "operator",
            "operator@example.com",
            "password-1111",
            Some(Access::of(&[Role::Operator])),
        ),
        // Last: what an admin may do includes the rows that delete things.
        (
            "admin",
            ADMIN_EMAIL,
            crate::support::ADMIN_PASSWORD,
            Some(Access::of(&[Role::Admin])),
        ),
    ] {
        let token = app.api_token(email).await;
        app.api_token(email).await;
        let spare_token = app
            .store()
            .read(move |c| {
                let u = perepiska::store::users::by_email(c, email)?.unwrap();
                let p = perepiska::store::members::projects_of(c, u.id)?[0].0.id;
                perepiska::store::users::api_tokens_of(c, u.id, p)
            })
            .await
            .unwrap()[0]
            .id;
        callers.push(Caller {
            name,
            console: app.login(email, password).await,
            token,
            spare_token,
            access,
        });
    }
    let mut wrong = Vec::new();
    for (i, c) in callers.iter().enumerate() {
        // Each caller tries the rows that delete things on things of their own.
        let (filed, doomed_file) = canned_with_file(format!("filed-{i}")).await;
        let doomed = [
            ("{filed_canned}", filed),
            ("{doomed_canned_file}", doomed_file),
            ("{doomed_chan2}", channel(&format!("Old {i}b")).await),
            ("{doomed_chan}", channel(&format!("Old {i}")).await),
            (
                "{doomed_team2}",
                team(&format!("Old {i}b")).await.to_string(),
            ),
            ("{doomed_team}", team(&format!("Old {i}")).await.to_string()),
            (
                "{doomed2}",
                member(format!("doomed-{i}b@example.com")).await.to_string(),
            ),
            (
                "{doomed}",
                member(format!("doomed-{i}@example.com")).await.to_string(),
            ),
            ("{own_token}", c.spare_token.to_string()),
            ("{doomed_hook2}", hook(format!("old-hook-{i}b")).await),
            ("{doomed_hook}", hook(format!("old-hook-{i}")).await),
            (
                "{doomed_tag2}",
                new_tag(format!("Старая {i}b")).await.to_string(),
            ),
            (
                "{doomed_tag}",
                new_tag(format!("Старая {i}")).await.to_string(),
            ),
            (
                "{doomed_canned2}",
                canned_reply(format!("old-{i}b")).await.to_string(),
            ),
            (
                "{doomed_canned}",
                canned_reply(format!("old-{i}")).await.to_string(),
            ),
            (
                "{doomed_conv}",
                listed_conv(format!("{i}a")).await.0.to_string(),
            ),
            (
                "{doomed_listed2}",
                listed_conv(format!("{i}c")).await.1.to_string(),
            ),
            (
                "{doomed_listed}",
                listed_conv(format!("{i}b")).await.1.to_string(),
            ),
        ];
        for (method, _, template, need) in ROUTES {
            if *need == Need::Public {
                continue;
            }
            let path = doomed
                .iter()
                .fold(fill(template), |p, (k, v)| p.replace(k, v));
            // The first admin owns the server.
            let owner = c.name == "admin";
            let want = expect(c.access, owner, *need, template, c.access.is_some());
            let (status, body) = call(&app, c, method, &path).await;
            let got = match status {
                403 => Expect::Forbidden,
                404 => Expect::NotFound,
                303 if body == "Location: /console/settings" => Expect::ToSettings,
                401 => Expect::Forbidden,
                303 if body == "Location: /login" => Expect::Forbidden,
                _ => Expect::Allowed,
            };
            if got != want {
                wrong.push(format!(
                    "{} {method} {path}: wanted {want:?}, got {status} {}",
                    c.name,
                    body.chars().take(120).collect::<String>()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} routes answered wrongly:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
