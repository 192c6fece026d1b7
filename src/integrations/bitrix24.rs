//! Bitrix24 through a portal's incoming webhook (`https://<portal>/rest/<user>/<key>/`): a
//! new conversation becomes a lead, or a contact with a deal, found by phone and e-mail before
//! one is made; later messages and the closing transcript go to its timeline; the responsible
//! person follows the conversation's assignee by e-mail.

use serde_json::{Value, json};

use super::crm::{self, Answer, Common, Facts, Failure};
use crate::channels::download::Downloader;

/// What a conversation becomes in the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    Lead,
    /// A contact (found or made) with a deal.
    Deal,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Lead => "lead",
            Entity::Deal => "deal",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Ends with "/": method names are joined to it.
    pub webhook_url: reqwest::Url,
    pub entity: Entity,
    /// The lead's or deal's source (SOURCE_ID); "OTHER" unless set.
    pub source_id: String,
    pub common: Common,
}

pub const KEYS: &[&str] = &["webhook_url", "entity", "source_id"];

/// 2 requests a second per portal after a burst of 50 (more is QUERY_LIMIT_EXCEEDED).
const LIMIT: crm::Limit = crm::Limit {
    per_sec: 2.0,
    burst: 50.0,
};

impl Config {
    pub fn from_config(v: &Value, allow_private: bool) -> Result<Config, String> {
        crm::known_keys(v, "bitrix24", KEYS)?;
        let raw = v["webhook_url"]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or("webhook_url is required: the portal's incoming webhook, https://<portal>/rest/<user>/<key>/")?;
        let mut url = super::target(raw, "webhook_url", allow_private)?;
        let parts: Vec<&str> = url
            .path()
            .trim_matches('/')
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        let shaped = parts.len() >= 3
            && parts[parts.len() - 3] == "rest"
            && parts[parts.len() - 2].chars().all(|c| c.is_ascii_digit())
            && !parts[parts.len() - 1].is_empty();
        if !shaped || url.query().is_some() {
            return Err(format!(
                "webhook_url \"{raw}\" is not an incoming webhook: it looks like https://<portal>/rest/<user>/<key>/ (Bitrix24 → Developer resources → Incoming webhook)"
            ));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        let entity = match v["entity"].as_str().map(str::trim) {
            None | Some("") | Some("lead") => Entity::Lead,
            Some("deal") => Entity::Deal,
            Some(other) => {
                return Err(format!(
                    "entity \"{other}\" must be \"lead\" or \"deal\" (a contact with a deal)"
                ));
            }
        };
        let source_id = match &v["source_id"] {
            Value::Null => "OTHER".to_string(),
            Value::String(s)
                if !s.trim().is_empty()
                    && s.trim().len() <= 50
                    && s.trim()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '|') =>
            {
                s.trim().to_string()
            }
            _ => {
                return Err(
                    "source_id must be a source's code in the portal, such as WEB or OTHER".into(),
                );
            }
        };
        Ok(Config {
            webhook_url: url,
            entity,
            source_id,
            common: Common::from_config(v)?,
        })
    }

    /// The portal's address, for links a person opens.
    pub fn portal(&self) -> String {
        self.webhook_url.origin().ascii_serialization()
    }
}

/// Calls a REST method; the answer's `result`, or the portal's refusal in its own words.
async fn call(
    dl: &Downloader,
    cfg: &Config,
    method: &str,
    params: Value,
) -> Result<(Value, Answer), Failure> {
    let url = cfg
        .webhook_url
        .join(method)
        .map_err(|e| Failure::new(format!("bad method {method}: {e}")))?;
    crm::pace(&cfg.portal(), LIMIT).await;
    let req = dl
        .post(url.as_str())
        .map_err(|e| Failure::new(e.message))?
        .json(&params);
    let a = crm::send(req).await?;
    let refusal = |a: &Answer| {
        let code = a.body["error"].as_str().unwrap_or_default();
        let text = a.body["error_description"].as_str().unwrap_or_default();
        let said = match (code, text) {
            ("", "") => format!("HTTP {}", a.status),
            ("", t) => t.to_string(),
            (c, "") => c.to_string(),
            (c, t) => format!("{t} ({c})"),
        };
        Failure {
            status: Some(i32::from(a.status)),
            response: Some(a.excerpt.clone()),
            error: format!("Bitrix24 {method}: {said}"),
        }
    };
    if !(200..300).contains(&a.status) || a.body.get("error").is_some() {
        return Err(refusal(&a));
    }
    match a.body.get("result") {
        Some(r) => Ok((r.clone(), a)),
        None => Err(refusal(&a)),
    }
}

fn id_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Checks the webhook on save: who it acts as, or the portal's refusal.
pub async fn check(dl: &Downloader, cfg: &Config) -> Result<String, String> {
    let (me, _) = call(dl, cfg, "profile", json!({}))
        .await
        .map_err(|f| f.error)?;
    let name = format!(
        "{} {}",
        me["NAME"].as_str().unwrap_or_default(),
        me["LAST_NAME"].as_str().unwrap_or_default()
    );
    let id = id_of(&me["ID"])
        .map(|i| format!(" (ID {i})"))
        .unwrap_or_default();
    Ok(format!(
        "{}{id}, {}",
        name.trim(),
        cfg.webhook_url.host_str().unwrap_or_default()
    ))
}

/// The portal user with the assignee's e-mail, else the default.
async fn responsible(dl: &Downloader, cfg: &Config, f: &Facts) -> Result<Option<i64>, Failure> {
    if let Some(email) = &f.assignee_email {
        let (users, _) = call(
            dl,
            cfg,
            "user.get",
            json!({ "FILTER": { "EMAIL": email, "ACTIVE": true } }),
        )
        .await?;
        let found = users.as_array().into_iter().flatten().find(|u| {
            u["EMAIL"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        });
        if let Some(id) = found.and_then(|u| id_of(&u["ID"])) {
            return Ok(Some(id));
        }
    }
    Ok(cfg.common.default_responsible)
}

/// The oldest contact with the customer's phone, else e-mail.
async fn existing_contact(
    dl: &Downloader,
    cfg: &Config,
    f: &Facts,
) -> Result<Option<i64>, Failure> {
    let phone = f.phone.as_deref().and_then(crm::normalize_phone);
    for (kind, value) in [("PHONE", phone), ("EMAIL", f.email.clone())] {
        let Some(value) = value else { continue };
        let (found, _) = call(
            dl,
            cfg,
            "crm.duplicate.findbycomm",
            json!({ "entity_type": "CONTACT", "type": kind, "values": [value] }),
        )
        .await?;
        // An object of id lists by entity type; an empty array when nothing matched.
        let oldest = found["CONTACT"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(id_of)
            .min();
        if oldest.is_some() {
            return Ok(oldest);
        }
    }
    Ok(None)
}

fn communications(f: &Facts) -> (Value, Value) {
    let phone = f
        .phone
        .as_deref()
        .map(|p| crm::normalize_phone(p).unwrap_or_else(|| p.to_string()));
    let list = |v: Option<String>| match v {
        Some(v) => json!([{ "VALUE": v, "VALUE_TYPE": "WORK" }]),
        None => json!([]),
    };
    (list(phone), list(f.email.clone()))
}

/// Makes the lead, or the contact and the deal, recording each step in `f.link` at once.
async fn create(dl: &Downloader, cfg: &Config, f: &mut Facts) -> Result<Answer, Failure> {
    f.link.entity = cfg.entity.as_str().to_string();
    let assigned = responsible(dl, cfg, f).await?;
    if f.link.contact_id.is_none() {
        f.link.contact_id = existing_contact(dl, cfg, f).await?;
    }
    let (phones, emails) = communications(f);
    let title = f.title(&cfg.common.title);
    let source = format!("perepiska: {}", f.channel);
    let mut fields = json!({
        "TITLE": title,
        "SOURCE_ID": cfg.source_id,
        "SOURCE_DESCRIPTION": source,
        "COMMENTS": f.description(),
        "OPENED": "Y",
    });
    if let Some(a) = assigned {
        fields["ASSIGNED_BY_ID"] = json!(a);
    }
    let method = match cfg.entity {
        Entity::Lead => {
            match f.link.contact_id {
                Some(c) => fields["CONTACT_ID"] = json!(c),
                None => {
                    fields["NAME"] = json!(f.name);
                    fields["PHONE"] = phones;
                    fields["EMAIL"] = emails;
                }
            }
            "crm.lead.add"
        }
        Entity::Deal => {
            if f.link.contact_id.is_none() {
                let mut contact = json!({
                    "NAME": if f.name.trim().is_empty() { "Клиент" } else { f.name.as_str() },
                    "PHONE": phones,
                    "EMAIL": emails,
                    "SOURCE_ID": cfg.source_id,
                    "SOURCE_DESCRIPTION": source,
                    "OPENED": "Y",
                });
                if let Some(a) = assigned {
                    contact["ASSIGNED_BY_ID"] = json!(a);
                }
                let (id, _) =
                    call(dl, cfg, "crm.contact.add", json!({ "fields": contact })).await?;
                f.link.contact_id =
                    Some(id_of(&id).ok_or_else(|| Failure::new("crm.contact.add gave no id"))?);
            }
            fields["CONTACT_ID"] = json!(f.link.contact_id);
            "crm.deal.add"
        }
    };
    let (id, answer) = call(
        dl,
        cfg,
        method,
        json!({ "fields": fields, "params": { "REGISTER_SONET_EVENT": "Y" } }),
    )
    .await?;
    let id = id_of(&id).ok_or_else(|| Failure::new(format!("{method} gave no id")))?;
    f.link.entity_id = Some(id);
    f.link.url = Some(format!(
        "{}/crm/{}/details/{id}/",
        cfg.portal(),
        cfg.entity.as_str()
    ));
    Ok(answer)
}

async fn comment(
    dl: &Downloader,
    cfg: &Config,
    f: &Facts,
    text: String,
) -> Result<Answer, Failure> {
    let (_, a) = call(
        dl,
        cfg,
        "crm.timeline.comment.add",
        json!({ "fields": {
            "ENTITY_ID": f.link.entity_id,
            "ENTITY_TYPE": f.link.entity,
            "COMMENT": text,
        }}),
    )
    .await?;
    Ok(a)
}

impl crm::Crm for Config {
    const FIRST_WITH_LEAD: bool = true;
    const EVERY_MESSAGE: bool = true;

    async fn create(&self, dl: &Downloader, f: &mut Facts) -> Result<Answer, Failure> {
        create(dl, self, f).await
    }

    async fn write(&self, dl: &Downloader, f: &Facts, text: String) -> Result<Answer, Failure> {
        comment(dl, self, f, text).await
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
        let method = format!("crm.{}.update", f.link.entity);
        let params = json!({ "id": f.link.entity_id, "fields": { "ASSIGNED_BY_ID": user } });
        Ok(call(dl, self, &method, params).await?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_url_must_be_an_incoming_webhook() -> Result<(), String> {
        let ok = |v: Value| Config::from_config(&v, false);
        let c = ok(json!({"webhook_url": "https://firm.bitrix24.ru/rest/1/abc123def"}))?;
        assert_eq!(
            c.webhook_url.as_str(),
            "https://firm.bitrix24.ru/rest/1/abc123def/"
        );
        assert_eq!(c.portal(), "https://firm.bitrix24.ru");
        assert_eq!(c.entity, Entity::Lead);
        assert_eq!(c.common.title, crm::DEFAULT_TITLE);
        for (v, needle) in [
            (json!({}), "webhook_url is required"),
            (
                json!({"webhook_url": "https://firm.bitrix24.ru/crm/"}),
                "incoming webhook",
            ),
            (
                json!({"webhook_url": "http://firm.bitrix24.ru/rest/1/abc/"}),
                "https://",
            ),
            (
                json!({"webhook_url": "https://10.0.0.1/rest/1/abc/"}),
                "inside",
            ),
            (
                json!({"webhook_url": "https://firm.bitrix24.ru/rest/1/abc/", "entity": "company"}),
                "lead",
            ),
            (
                json!({"webhook_url": "https://firm.bitrix24.ru/rest/1/abc/", "default_responsible": "Иван"}),
                "default_responsible",
            ),
            (
                json!({"webhook_url": "https://firm.bitrix24.ru/rest/1/abc/", "pipeline_id": 3}),
                "unknown key",
            ),
        ] {
            let e = ok(v.clone()).err().unwrap_or_default();
            assert!(e.contains(needle), "{v}: {e}");
        }
        let c = ok(
            json!({"webhook_url": "https://firm.bitrix24.ru/rest/1/abc/", "entity": "deal", "default_responsible": "7"}),
        )?;
        assert_eq!(
            (c.entity, c.common.default_responsible),
            (Entity::Deal, Some(7))
        );
        Ok(())
    }
}
