//! Attachments, served to operators (and through media/widget routes) with safe headers.

use actix_web::{HttpResponse, web};

use crate::error::Error;
use crate::store::attachments::{self};
use crate::web::State;
use crate::web::auth::Console;
use crate::web::errors::HtmlError;

pub(super) async fn attachment(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
) -> Result<HttpResponse, HtmlError> {
    console.require(crate::domain::Can::ReadDialogs)?;
    let (pid, id) = (console.project.id, path.into_inner());
    let a = state
        .inbox
        .store
        .read(move |c| attachments::by_id(c, pid, id))
        .await?;
    Ok(serve_file(&state, &a).await?)
}

/// Sends a stored attachment. Only known-safe types are shown inline; everything else is a
/// download, so an uploaded HTML file can never run in our origin.
pub async fn serve_file(state: &State, a: &attachments::Attachment) -> Result<HttpResponse, Error> {
    match a.state() {
        attachments::FileState::Ready => {}
        attachments::FileState::Pending => {
            return Err(Error::not_found(
                "the file is still being fetched from the platform",
            ));
        }
        attachments::FileState::Failed => {
            return Err(Error::not_found(format!(
                "the file could not be fetched from the platform: {}",
                a.error.as_deref().unwrap_or("unknown reason")
            )));
        }
    }
    let path = state.inbox.files.path(&a.storage_key)?;
    let bytes = tokio::fs::read(&path).await?;
    let inline = crate::files::INLINE_TYPES.contains(&a.content_type.as_str());
    use actix_web::http::header::{
        Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
    };
    let disposition = ContentDisposition {
        disposition: if inline {
            DispositionType::Inline
        } else {
            DispositionType::Attachment
        },
        parameters: vec![
            // Old clients read the plain name; the UTF-8 one carries the real name.
            DispositionParam::Filename(
                a.file_name
                    .replace(|c: char| !c.is_ascii() || c == '"' || c == '\\', "_"),
            ),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: a.file_name.as_bytes().to_vec(),
            }),
        ],
    };
    Ok(HttpResponse::Ok()
        .content_type(if inline {
            a.content_type.as_str()
        } else {
            "application/octet-stream"
        })
        .insert_header(disposition)
        .insert_header(("Content-Security-Policy", "sandbox"))
        // Not kept by the browser: after sign-out a customer's file must not be readable from
        // the cache.
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes))
}
