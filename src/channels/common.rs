//! Small pieces every adapter needs: reading keys from a channel's config (the one reader for
//! the platform's, the bot's and automation's keys), the text an operator's message is sent
//! as, and safe path segments.

use serde_json::Value;

use super::{Outbound, SendError};

/// An optional string key (numbers are accepted as their text, ids often are numbers).
pub fn opt_str(config: &Value, key: &str) -> Result<Option<String>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

pub fn required(config: &Value, key: &str, kind: &str) -> Result<String, String> {
    opt_str(config, key)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| format!("{key} is required for kind \"{kind}\""))
}

/// `api_base`, defaulting to the platform's real address; tests point it at a fake.
pub fn api_base(config: &Value, default: &str) -> Result<String, String> {
    let base = opt_str(config, "api_base")?
        .unwrap_or_else(|| default.to_string())
        .trim_end_matches('/')
        .to_string();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(format!(
            "api_base \"{base}\" must start with http:// or https://"
        ));
    }
    Ok(base)
}

pub fn flag(config: &Value, key: &str, default: bool) -> Result<bool, String> {
    Ok(opt_flag(config, key)?.unwrap_or(default))
}

/// true, false, or not set.
pub fn opt_flag(config: &Value, key: &str) -> Result<Option<bool>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("{key} must be true or false")),
    }
}

/// A text a person wrote (trimmed); blank counts as not set.
pub fn opt_text(config: &Value, key: &str) -> Result<Option<String>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(format!("{key} must be text")),
    }
}

/// One of a few words; `None` when not set, an error naming the choices otherwise.
pub fn choice<T: Copy>(
    config: &Value,
    key: &str,
    choices: &[(&str, T)],
) -> Result<Option<T>, String> {
    let Some(v) = opt_str(config, key)?.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    choices
        .iter()
        .find(|(name, _)| *name == v)
        .map(|(_, t)| Some(*t))
        .ok_or_else(|| {
            let names: Vec<String> = choices.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            format!("{key} \"{v}\" must be {}", names.join(" or "))
        })
}

/// The text to send: "Anna:\n…" when the channel shows operator names.
pub fn signed_text(out: &Outbound, show_operator_name: bool) -> String {
    match (&out.author_name, show_operator_name) {
        (Some(name), true) if !out.text.is_empty() => format!("{name}:\n{}", out.text),
        _ => out.text.clone(),
    }
}

/// An id from a payload as one URL path segment (RFC 3986 pchar, dots kept except as a
/// whole `.`/`..` segment): `../` or `?` in it cannot reach another
/// path of the platform's API with our token.
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        let plain = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~' | b':' | b'@');
        if plain || (b == b'.' && id != "." && id != "..") {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Refuses a webhook call whose `header` does not carry the secret we registered with the
/// platform (Telegram's and MAX's webhook secrets), compared in constant time.
pub fn header_secret(
    req: &super::RawRequest,
    header: &str,
    secret: &str,
) -> Result<(), super::WebhookError> {
    let given = req.header(header).unwrap_or("");
    if crate::crypto::secure_eq(given, secret) {
        Ok(())
    } else {
        Err(super::WebhookError::Unauthorized(format!(
            "wrong or missing {header}"
        )))
    }
}

/// A shared location as the thread shows it, with a map link operators can open.
pub fn location_text(latitude: f64, longitude: f64) -> String {
    format!(
        "📍 Геопозиция: {latitude:.6}, {longitude:.6} https://maps.google.com/?q={latitude:.6},{longitude:.6}"
    )
}

/// A phone as digits with a leading +, a Russian number as +7… however it was written (the
/// rule of `contact::phone_key`, which contacts are matched by).
pub fn normalize_phone(p: &str) -> String {
    format!(
        "+{}",
        crate::domain::contact::phone_key(p).unwrap_or_default()
    )
}

/// An operator's attachment as a multipart part, with its size (some platforms choose the
/// upload method by it).
pub async fn file_part(
    f: &super::OutboundFile,
) -> Result<(reqwest::multipart::Part, usize), SendError> {
    let bytes = tokio::fs::read(&f.path)
        .await
        .map_err(|e| SendError::permanent(format!("cannot read attachment {}: {e}", f.name)))?;
    let len = bytes.len();
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(f.name.clone())
        .mime_str(&f.content_type)
        .map_err(|e| SendError::permanent(format!("attachment {}: {e}", f.name)))?;
    Ok((part, len))
}

/// The body of a 2xx answer; any other status as the matching send error.
pub async fn body_if_ok(resp: reqwest::Response) -> Result<String, SendError> {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    if (200..300).contains(&status) {
        Ok(text)
    } else {
        Err(SendError::from_status(status, &text))
    }
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn ids_from_payloads_stay_one_path_segment() {
        assert_eq!(path_segment("u2i-abc~1"), "u2i-abc~1");
        assert_eq!(path_segment("chat:C3ecb9d02a600"), "chat:C3ecb9d02a600");
        assert_eq!(
            path_segment("../../core/v1/accounts/self"),
            "..%2F..%2Fcore%2Fv1%2Faccounts%2Fself"
        );
        assert_eq!(path_segment(".."), "%2E%2E");
        assert_eq!(path_segment("a?b#c"), "a%3Fb%23c");
    }
}
