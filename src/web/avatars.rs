//! Members' pictures: uploaded on the profile, shown in the widget beside their answers. Kept
//! in the attachment storage and served at an address made of the file's random key.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;

use super::State;
use super::auth::{Console, CsrfForm};
use super::errors::{ApiError, HtmlError};
use super::settings::field;
use crate::error::Error;
use crate::store::users;

const MAX_BYTES: usize = 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/profile/avatar", web::post().to(upload))
        .route("/console/profile/avatar/remove", web::post().to(remove))
        .route("/avatars/{dir}/{id}", web::get().to(serve));
}

/// The image's type from its first bytes, whatever its name says.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

async fn refused(state: &State, console: &Console, why: String) -> Result<HttpResponse, HtmlError> {
    let mut p = super::profile::profile(state, console).await?;
    p.avatar_error = why;
    super::profile::html(actix_web::http::StatusCode::BAD_REQUEST, p)
}

async fn upload(
    state: web::Data<State>,
    console: Console,
    token: web::Query<CsrfForm>,
    mut payload: Multipart,
) -> Result<HttpResponse, HtmlError> {
    // The token rides in the form's URL: checked before the body is read.
    console.check_csrf(&token.csrf)?;
    let mut data = Vec::new();
    while let Some(part) = payload.next().await {
        let mut part = part.map_err(|e| Error::invalid(format!("bad form: {e}")))?;
        let is_avatar = part.name() == Some("avatar");
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|e| Error::invalid(format!("bad form: {e}")))?;
            if is_avatar {
                if data.len() + chunk.len() > MAX_BYTES {
                    return refused(&state, &console, "the picture is larger than 1 MB".into())
                        .await;
                }
                data.extend_from_slice(&chunk);
            }
        }
    }
    let Some(kind) = image_type(&data) else {
        return refused(&state, &console, "send a PNG, JPEG or WebP picture".into()).await;
    };
    let ext = kind.trim_start_matches("image/");
    let stored = state
        .inbox
        .files
        .save(data, &format!("avatar.{ext}"), Some(kind))
        .await?;
    let (uid, key) = (console.user.id, stored.storage_key.clone());
    let old = console.user.avatar.clone();
    state
        .inbox
        .store
        .write(move |c| users::set_avatar(c, uid, Some(&key)))
        .await?;
    if let Some(old) = old {
        state.inbox.files.remove(&old).await;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/console/profile?saved=1"))
        .finish())
}

async fn remove(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(field(&form, "csrf"))?;
    let uid = console.user.id;
    state
        .inbox
        .store
        .write(move |c| users::set_avatar(c, uid, None))
        .await?;
    if let Some(old) = console.user.avatar.clone() {
        state.inbox.files.remove(&old).await;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/console/profile?saved=1"))
        .finish())
}

/// A member's picture, for the widget (public: the address is the file's random key).
async fn serve(
    state: web::Data<State>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (dir, id) = path.into_inner();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(&dir, 2) || !hex(&id, 32) {
        return Err(Error::not_found("no such picture").into());
    }
    let key = format!("{dir}/{id}");
    let k2 = key.clone();
    state
        .inbox
        .store
        .read(move |c| users::by_avatar(c, &k2))
        .await?
        .ok_or_else(|| Error::not_found("no such picture"))?;
    let bytes = tokio::fs::read(state.inbox.files.path(&key)?)
        .await
        .map_err(Error::from)?;
    let kind = image_type(&bytes).unwrap_or("application/octet-stream");
    Ok(HttpResponse::Ok()
        .content_type(kind)
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .insert_header(("Content-Security-Policy", "sandbox"))
        .body(bytes))
}
