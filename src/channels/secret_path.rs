//! For platforms that sign nothing (OK, Avito): the webhook URL carries an unguessable
//! per-channel secret, and a request without it is refused.

use super::{RawRequest, WebhookError};

pub fn check(req: &RawRequest, secret: &str) -> Result<(), WebhookError> {
    match req.path_secret.as_deref() {
        Some(s) if crate::crypto::secure_eq(s, secret) => Ok(()),
        _ => Err(WebhookError::Unauthorized("unknown webhook address".into())),
    }
}

/// The webhook_secret key: long enough not to be guessed, safe in a URL path.
pub fn from_config(config: &serde_json::Value, kind: &str) -> Result<String, String> {
    let s = config
        .get("webhook_secret")
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("webhook_secret is required for kind \"{kind}\" (it becomes part of the webhook URL)"))?;
    if s.len() < 16
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(
            "webhook_secret must be at least 16 characters of letters, digits, '-' or '_'".into(),
        );
    }
    Ok(s.to_string())
}
