//! Operators' attachments at unguessable public URLs, for platforms that fetch media by URL
//! (Viber has no upload API). Customers' files are never served here.

use actix_web::{HttpResponse, web};

use super::State;
use super::errors::ApiError;
use crate::error::Error;
use crate::store::attachments;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/media/{id}/{name}", web::get().to(media));
}

async fn media(
    state: web::Data<State>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, _name) = path.into_inner();
    let key = crate::files::media_key(&id).ok_or_else(|| Error::not_found("no such file"))?;
    let a = state
        .inbox
        .store
        .read(move |c| attachments::outgoing_by_key(c, &key))
        .await?;
    Ok(super::console::serve_file(&state, &a).await?)
}
