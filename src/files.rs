//! Attachment storage under the data dir. Files are written before the message that refers
//! to them is committed, so an accepted attachment is never lost.

use std::path::{Path, PathBuf};

use crate::crypto;
use crate::domain::text::clean_file_name;
use crate::error::{Error, Result};
use crate::store::attachments::StoredFile;

#[derive(Clone)]
pub struct FileStore {
    root: PathBuf,
    pub max_bytes: u64,
}

/// Types a browser may show inline; everything else is served as a download.
pub const INLINE_TYPES: [&str; 5] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
];

pub fn guess_type(name: &str, declared: Option<&str>) -> String {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    let by_ext = match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" | "log" => "text/plain",
        "ogg" | "oga" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "",
    };
    if !by_ext.is_empty() {
        return by_ext.to_string();
    }
    match declared.map(str::trim) {
        Some(d)
            if !d.is_empty() && d.len() < 100 && d.contains('/') && !d.contains(['\r', '\n']) =>
        {
            d.to_string()
        }
        _ => "application/octet-stream".to_string(),
    }
}

/// The public address of an operator's attachment: the storage key is 128 random bits, so
/// the URL is unguessable; the name is only there for platforms that show it.
pub fn media_url(public_base: &str, storage_key: &str, file_name: &str) -> String {
    let id = storage_key.rsplit('/').next().unwrap_or(storage_key);
    let name: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}/media/{id}/{name}", public_base.trim_end_matches('/'))
}

/// The storage key behind a media URL's id (see `media_url`), if the id is well formed.
pub fn media_key(id: &str) -> Option<String> {
    (id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| format!("{}/{id}", &id[..2]))
}

impl FileStore {
    pub fn new(data_dir: &Path, max_bytes: u64) -> FileStore {
        FileStore {
            root: data_dir.join("attachments"),
            max_bytes,
        }
    }

    pub fn path(&self, storage_key: &str) -> Result<PathBuf> {
        // Keys are made here (hex and '/'); refuse anything else so a key can never escape.
        if storage_key.is_empty()
            || !storage_key
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == '/')
        {
            return Err(Error::invalid("bad storage key"));
        }
        Ok(self.root.join(storage_key))
    }

    pub fn check_size(&self, len: u64) -> Result<()> {
        if len > self.max_bytes {
            return Err(Error::invalid(format!(
                "the file is larger than the limit of {} MB",
                self.max_bytes / (1024 * 1024)
            )));
        }
        if len == 0 {
            return Err(Error::invalid("the file is empty"));
        }
        Ok(())
    }

    /// A file still on the platform, as the row that waits for it (see `fetcher`).
    pub fn pending(
        channel_id: crate::domain::ChannelId,
        name: &str,
        declared_type: Option<&str>,
        size: Option<u64>,
        source: String,
    ) -> StoredFile {
        let file_name = clean_file_name(name);
        StoredFile {
            content_type: guess_type(&file_name, declared_type),
            file_name,
            size: size.map(|s| s.min(i64::MAX as u64) as i64).unwrap_or(0),
            storage_key: String::new(),
            source: Some((channel_id, source)),
        }
    }

    /// Removes files that no row refers to (their message was refused or was a redelivery).
    pub async fn discard(&self, files: &[StoredFile]) {
        for f in files.iter().filter(|f| f.source.is_none()) {
            if let Ok(path) = self.path(&f.storage_key)
                && let Err(e) = tokio::fs::remove_file(&path).await
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(file = %f.storage_key, error = %e, "unreferenced file not removed");
            }
        }
    }

    /// A copy of a stored file under a key of its own (a canned reply's file sent in a
    /// message: either may be removed later without the other).
    pub async fn copy(&self, f: &StoredFile) -> Result<StoredFile> {
        let path = self.path(&f.storage_key)?;
        let bytes = tokio::fs::read(&path).await.map_err(|e| {
            Error::internal(format!("the file {} cannot be read: {e}", f.file_name))
        })?;
        self.save(bytes, &f.file_name, Some(&f.content_type)).await
    }

    /// Removes one stored file (a replaced picture); a file already gone is fine.
    pub async fn remove(&self, storage_key: &str) {
        if let Ok(path) = self.path(storage_key)
            && let Err(e) = tokio::fs::remove_file(&path).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %storage_key, error = %e, "file not removed");
        }
    }

    /// Removes files no row refers to: written for a message whose commit never happened (a
    /// crash between the two) or half-written. Only files between an hour and two days old
    /// are looked at: younger ones may still be waiting for their commit, older ones were
    /// looked at before. Returns how many were removed.
    pub async fn sweep_orphans(&self, store: &crate::store::Store) -> Result<usize> {
        let root = self.root.clone();
        let candidates = tokio::task::spawn_blocking(move || -> Vec<(String, PathBuf)> {
            let now = std::time::SystemTime::now();
            let aged = |p: &Path| {
                std::fs::metadata(p)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|age| {
                        age >= std::time::Duration::from_secs(3600)
                            && age <= std::time::Duration::from_secs(2 * 86_400)
                    })
            };
            let mut out = Vec::new();
            let Ok(dirs) = std::fs::read_dir(&root) else {
                return out;
            };
            for dir in dirs.flatten() {
                let prefix = dir.file_name().to_string_lossy().into_owned();
                let Ok(files) = std::fs::read_dir(dir.path()) else {
                    continue;
                };
                for f in files.flatten() {
                    let path = f.path();
                    if aged(&path) {
                        let name = f.file_name().to_string_lossy().into_owned();
                        out.push((format!("{prefix}/{name}"), path));
                    }
                }
            }
            out
        })
        .await?;
        let keys: Vec<String> = candidates
            .iter()
            .filter(|(k, _)| !k.ends_with(".part"))
            .map(|(k, _)| k.clone())
            .collect();
        // Attachments, members' pictures, canned replies' files and a blacklisted contact's
        // kept files.
        let known: std::collections::HashSet<String> = store
            .read(move |c| {
                let mut known = crate::store::attachments::known_keys(c, &keys)?;
                known.extend(crate::store::users::known_avatars(c, &keys)?);
                known.extend(crate::store::canned::known_file_keys(c, &keys)?);
                known.extend(crate::store::withheld::recent_file_keys(c, 3)?);
                Ok(known)
            })
            .await?
            .into_iter()
            .collect();
        let mut removed = 0;
        for (key, path) in candidates {
            if !known.contains(&key) && tokio::fs::remove_file(&path).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Writes the bytes durably (temp file, fsync, rename) and returns what the row needs.
    pub async fn save(
        &self,
        bytes: Vec<u8>,
        name: &str,
        declared_type: Option<&str>,
    ) -> Result<StoredFile> {
        self.check_size(bytes.len() as u64)?;
        let file_name = clean_file_name(name);
        let content_type = guess_type(&file_name, declared_type);
        let id = crypto::random_hex(16)?;
        let key = format!("{}/{}", &id[..2], id);
        let path = self.path(&key)?;
        let size = bytes.len() as i64;
        tokio::task::spawn_blocking(move || -> Result<()> {
            use std::io::Write;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension("part");
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            Ok(())
        })
        .await??;
        Ok(StoredFile {
            file_name,
            content_type,
            size,
            storage_key: key,
            source: None,
        })
    }
}
