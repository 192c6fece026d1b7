//! Forms with files (a reply, a canned reply): read within limits, then the files written to
//! storage, all or none.

use actix_multipart::Multipart;
use futures_util::StreamExt;

use crate::error::Error;
use crate::store::attachments::StoredFile;
use crate::web::State;

/// A form's text fields and its files, in memory until saved.
#[derive(Default)]
pub struct FileForm {
    fields: Vec<(String, String)>,
    files: Vec<(String, Option<String>, Vec<u8>)>,
}

impl FileForm {
    /// Reads the whole form: at most `max_files` non-empty files under `file_field`, each
    /// within the server's attachment limit.
    pub async fn read(
        state: &State,
        mut payload: Multipart,
        file_field: &str,
        max_files: usize,
    ) -> Result<FileForm, Error> {
        let max = state.inbox.files.max_bytes as usize;
        let budget = max * max_files + 1024 * 1024;
        let mut total = 0usize;
        let mut form = FileForm::default();
        while let Some(field) = payload.next().await {
            let mut field = field.map_err(|e| Error::invalid(format!("bad form: {e}")))?;
            let name = field.name().unwrap_or("").to_string();
            let file_name = field
                .content_disposition()
                .and_then(|cd| cd.get_filename().map(str::to_string));
            let content_type = field.content_type().map(|m| m.to_string());
            let mut data = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|e| Error::invalid(format!("bad form: {e}")))?;
                total += chunk.len();
                if total > budget {
                    return Err(Error::invalid("the form is too large"));
                }
                if data.len() + chunk.len() > max + 1 {
                    return Err(Error::invalid(format!(
                        "the file is larger than the limit of {} MB",
                        max / 1024 / 1024
                    )));
                }
                data.extend_from_slice(&chunk);
            }
            if name == file_field {
                if let Some(f) = file_name.filter(|f| !f.is_empty())
                    && !data.is_empty()
                {
                    if form.files.len() == max_files {
                        return Err(Error::invalid(format!("at most {max_files} files at once")));
                    }
                    form.files.push((f, content_type, data));
                }
            } else {
                form.fields
                    .push((name, String::from_utf8_lossy(&data).into_owned()));
            }
        }
        Ok(form)
    }

    pub fn has_files(&self) -> bool {
        !self.files.is_empty()
    }

    /// The first value of a text field; empty when absent.
    pub fn field(&self, name: &str) -> &str {
        crate::web::settings::field(&self.fields, name)
    }

    /// Every value of a repeated field (checkboxes).
    pub fn all(&self, name: &str) -> Vec<&str> {
        crate::web::settings_team::all(&self.fields, name)
    }

    /// The first file's bytes, taken out of the form (a file that is read, not stored).
    pub fn take_file(&mut self) -> Option<Vec<u8>> {
        (!self.files.is_empty()).then(|| self.files.remove(0).2)
    }

    /// Writes the files to storage; if one fails, those written are removed again.
    pub async fn save_files(&mut self, state: &State) -> Result<Vec<StoredFile>, Error> {
        let mut saved = Vec::new();
        for (name, ct, data) in std::mem::take(&mut self.files) {
            match state.inbox.files.save(data, &name, ct.as_deref()).await {
                Ok(f) => saved.push(f),
                Err(e) => {
                    state.inbox.files.discard(&saved).await;
                    return Err(e);
                }
            }
        }
        Ok(saved)
    }
}
