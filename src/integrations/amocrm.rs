//! amoCRM with an account's subdomain and a long-lived token: a new conversation becomes a
//! lead with its contact (an existing contact found by phone or e-mail instead of a second
//! one) in the chosen pipeline and stage, its first message and the closing transcript as
//! notes; the responsible user follows the conversation's assignee by e-mail.

use serde_json::{Value, json};

use super::crm::{self, Answer, Common, Facts, Failure};
use crate::channels::download::Downloader;

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub subdomain: String,
    pub token: String,
    pub pipeline_id: Option<i64>,
    pub status_id: Option<i64>,
    /// Where the API is called (https://<subdomain>.amocrm.ru unless set: tests, amoCRM's
    /// other regions).
    pub api_base: reqwest::Url,
    pub common: Common,
}

pub const KEYS: &[&str] = &["subdomain", "token", "pipeline_id", "status_id", "api_base"];

/// 7 requests a second per account (more is answered 429).
const LIMIT: crm::Limit = crm::Limit {
    per_sec: 7.0,
    burst: 7.0,
};

impl Config {
    pub fn from_config(v: &Value, allow_private: bool) -> Result<Config, String> {
        crm::known_keys(v, "amocrm", KEYS)?;
        let raw = v["subdomain"]
            .as_str()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .ok_or("subdomain is required: the account's name in <name>.amocrm.ru")?;
        let subdomain = raw
            .strip_prefix("https://")
            .unwrap_or(&raw)
            .trim_end_matches('/')
            .trim_end_matches(".amocrm.ru")
            .trim_end_matches(".kommo.com")
            .to_string();
        if subdomain.is_empty()
            || subdomain.len() > 63
            || !subdomain
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "subdomain \"{raw}\" must be the account's name in <name>.amocrm.ru (letters, digits, '-')"
            ));
        }
        let token = v["token"]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or("token is required: a long-lived token (amoCRM → Settings → Integrations → your integration → Keys and access)")?;
        if token.len() < 20 || token.chars().any(char::is_whitespace) {
            return Err("token does not look like an amoCRM long-lived token".into());
        }
        let api_base = match v["api_base"]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(raw) => {
                let mut u = super::target(raw, "api_base", allow_private)?;
                if !u.path().ends_with('/') {
                    let path = format!("{}/", u.path());
                    u.set_path(&path);
                }
                u
            }
            None => {
                let raw = format!("https://{subdomain}.amocrm.ru/");
                super::target(&raw, "subdomain", allow_private)?
            }
        };
        let pipeline_id = crm::optional_id(v, "pipeline_id")?;
        let status_id = crm::optional_id(v, "status_id")?;
        if status_id.is_some() && pipeline_id.is_none() {
            return Err("status_id needs pipeline_id: a stage belongs to a pipeline".into());
        }
        Ok(Config {
            subdomain,
            token: token.to_string(),
            pipeline_id,
            status_id,
            api_base,
            common: Common::from_config(v)?,
        })
    }

    /// Where a person opens a lead.
    pub fn lead_url(&self, id: i64) -> String {
        format!("{}/leads/detail/{id}", account_url(&self.subdomain))
    }
}

/// Where a person opens the account.
pub fn account_url(subdomain: &str) -> String {
    format!("https://{subdomain}.amocrm.ru")
}

/// Calls the API; a 2xx answer, or amoCRM's refusal in its own words (a problem document).
async fn call(
    dl: &Downloader,
    cfg: &Config,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Answer, Failure> {
    let url = cfg
        .api_base
        .join(path)
        .map_err(|e| Failure::new(format!("bad path {path}: {e}")))?;
    crm::pace(cfg.api_base.as_str(), LIMIT).await;
    let mut req = dl
        .request(method, url.as_str())
        .map_err(|e| Failure::new(e.message))?
        .bearer_auth(&cfg.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let a = crm::send(req).await?;
    if (200..300).contains(&a.status) {
        return Ok(a);
    }
    let title = a.body["title"].as_str().unwrap_or_default();
    let detail = a.body["detail"].as_str().unwrap_or_default();
    let said = match (title, detail) {
        ("", "") => format!("HTTP {}", a.status),
        (t, "") => t.to_string(),
        ("", d) => d.to_string(),
        (t, d) => format!("{t}: {d}"),
    };
    let path = path.split('?').next().unwrap_or(path);
    Err(Failure {
        status: Some(i32::from(a.status)),
        response: Some(a.excerpt.clone()),
        error: format!("amoCRM /{path}: {said}"),
    })
}

/// Checks the token on save: the account's name, or amoCRM's refusal.
pub async fn check(dl: &Downloader, cfg: &Config) -> Result<String, String> {
    let a = call(dl, cfg, reqwest::Method::GET, "api/v4/account", None)
        .await
        .map_err(|f| f.error)?;
    Ok(format!(
        "{} ({}.amocrm.ru)",
        a.body["name"].as_str().unwrap_or_default(),
        a.body["subdomain"].as_str().unwrap_or(&cfg.subdomain)
    ))
}

fn embedded<'a>(body: &'a Value, what: &str) -> impl Iterator<Item = &'a Value> {
    body["_embedded"][what].as_array().into_iter().flatten()
}

async fn responsible(dl: &Downloader, cfg: &Config, f: &Facts) -> Result<Option<i64>, Failure> {
    if let Some(email) = &f.assignee_email {
        let a = call(
            dl,
            cfg,
            reqwest::Method::GET,
            "api/v4/users?limit=250",
            None,
        )
        .await?;
        let found = embedded(&a.body, "users").find(|u| {
            u["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        });
        if let Some(id) = found.and_then(|u| u["id"].as_i64()) {
            return Ok(Some(id));
        }
    }
    Ok(cfg.common.default_responsible)
}

async fn existing_contact(
    dl: &Downloader,
    cfg: &Config,
    f: &Facts,
) -> Result<Option<i64>, Failure> {
    let phone = f.phone.as_deref().and_then(crm::normalize_phone);
    for value in [phone, f.email.clone()].into_iter().flatten() {
        let mut url = cfg
            .api_base
            .join("api/v4/contacts")
            .map_err(|e| Failure::new(e.to_string()))?;
        url.query_pairs_mut().append_pair("query", &value);
        let path = format!("api/v4/contacts?{}", url.query().unwrap_or_default());
        // 204 No Content when nothing matched.
        let a = call(dl, cfg, reqwest::Method::GET, &path, None).await?;
        if let Some(id) = embedded(&a.body, "contacts")
            .filter_map(|c| c["id"].as_i64())
            .min()
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

async fn note(dl: &Downloader, cfg: &Config, lead: i64, text: String) -> Result<Answer, Failure> {
    call(
        dl,
        cfg,
        reqwest::Method::POST,
        &format!("api/v4/leads/{lead}/notes"),
        Some(json!([{ "note_type": "common", "params": { "text": text } }])),
    )
    .await
}

async fn create(dl: &Downloader, cfg: &Config, f: &mut Facts) -> Result<Answer, Failure> {
    f.link.entity = "lead".to_string();
    let assigned = responsible(dl, cfg, f).await?;
    if f.link.contact_id.is_none() {
        f.link.contact_id = existing_contact(dl, cfg, f).await?;
    }
    let contact = match f.link.contact_id {
        Some(id) => json!({ "id": id }),
        None => {
            let mut fields = Vec::new();
            if let Some(p) = &f.phone {
                let p = crm::normalize_phone(p).unwrap_or_else(|| p.clone());
                fields.push(json!({ "field_code": "PHONE", "values": [{ "value": p, "enum_code": "WORK" }] }));
            }
            if let Some(e) = &f.email {
                fields.push(json!({ "field_code": "EMAIL", "values": [{ "value": e, "enum_code": "WORK" }] }));
            }
            let mut c = json!({
                "name": if f.name.trim().is_empty() { "Клиент" } else { f.name.as_str() },
                "custom_fields_values": fields,
            });
            if let Some(a) = assigned {
                c["responsible_user_id"] = json!(a);
            }
            c
        }
    };
    let mut lead = json!({
        "name": f.title(&cfg.common.title),
        "_embedded": {
            "contacts": [contact],
            "tags": [{ "name": "perepiska" }, { "name": f.channel }],
        },
    });
    if let Some(p) = cfg.pipeline_id {
        lead["pipeline_id"] = json!(p);
    }
    if let Some(s) = cfg.status_id {
        lead["status_id"] = json!(s);
    }
    if let Some(a) = assigned {
        lead["responsible_user_id"] = json!(a);
    }
    let a = call(
        dl,
        cfg,
        reqwest::Method::POST,
        "api/v4/leads/complex",
        Some(json!([lead])),
    )
    .await?;
    let made = &a.body[0];
    let id = made["id"]
        .as_i64()
        .ok_or_else(|| Failure::new("leads/complex gave no lead id"))?;
    f.link.entity_id = Some(id);
    f.link.contact_id = made["contact_id"].as_i64().or(f.link.contact_id);
    f.link.url = Some(cfg.lead_url(id));
    Ok(a)
}

impl crm::Crm for Config {
    const FIRST_WITH_LEAD: bool = false;
    const EVERY_MESSAGE: bool = false;

    async fn create(&self, dl: &Downloader, f: &mut Facts) -> Result<Answer, Failure> {
        create(dl, self, f).await
    }

    async fn write(&self, dl: &Downloader, f: &Facts, text: String) -> Result<Answer, Failure> {
        note(dl, self, f.link.entity_id.unwrap_or_default(), text).await
    }

    async fn responsible(&self, dl: &Downloader, f: &Facts) -> Result<Option<i64>, Failure> {
        responsible(dl, self, f).await
    }

    async fn set_responsible(
        &self,
        dl: &Downloader,
        f: &Facts,
        user: i64,
    ) -> Result<Answer, Failure> {
        let lead = f.link.entity_id.unwrap_or_default();
        call(
            dl,
            self,
            reqwest::Method::PATCH,
            &format!("api/v4/leads/{lead}"),
            Some(json!({ "responsible_user_id": user })),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.long-lived";

    #[test]
    fn the_account_and_token_are_checked() -> Result<(), String> {
        let ok = |v: Value| Config::from_config(&v, false);
        let c = ok(
            json!({"subdomain": "Firm.amocrm.ru", "token": TOKEN, "pipeline_id": "12", "status_id": 34}),
        )?;
        assert_eq!(c.subdomain, "firm");
        assert_eq!(c.api_base.as_str(), "https://firm.amocrm.ru/");
        assert_eq!((c.pipeline_id, c.status_id), (Some(12), Some(34)));
        assert_eq!(c.lead_url(5), "https://firm.amocrm.ru/leads/detail/5");
        for (v, needle) in [
            (json!({"token": TOKEN}), "subdomain is required"),
            (json!({"subdomain": "firm"}), "token is required"),
            (json!({"subdomain": "firm", "token": "short"}), "token"),
            (json!({"subdomain": "my firm", "token": TOKEN}), "subdomain"),
            (
                json!({"subdomain": "firm", "token": TOKEN, "status_id": 3}),
                "pipeline_id",
            ),
            (
                json!({"subdomain": "firm", "token": TOKEN, "pipeline_id": -1}),
                "pipeline_id",
            ),
            (
                json!({"subdomain": "firm", "token": TOKEN, "api_base": "http://127.0.0.1:9"}),
                "https://",
            ),
            (
                json!({"subdomain": "firm", "token": TOKEN, "entity": "deal"}),
                "unknown key",
            ),
        ] {
            let e = ok(v.clone()).err().unwrap_or_default();
            assert!(e.contains(needle), "{v}: {e}");
        }
        let c = Config::from_config(
            &json!({"subdomain": "firm", "token": TOKEN, "api_base": "http://127.0.0.1:9"}),
            true,
        )?;
        assert_eq!(c.api_base.as_str(), "http://127.0.0.1:9/");
        Ok(())
    }
}
