//! `perepiska backup` and `restore`: one file holding a consistent copy of the SQLite
//! database, every attachment and the key that opens the stored channel secrets (so guard the
//! archive like the server), made while the server runs. Attachments are written before
//! the rows that name them and never changed, so copying the folder after the database
//! snapshot captures every file the snapshot refers to.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use crate::error::{Error, Result};
use crate::store;

const DB_NAME: &str = "perepiska.db";

/// An I/O failure that names the file it concerns.
fn at(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::internal(format!("{}: {e}", path.display()))
}
const FILES: &str = "attachments";

pub struct Summary {
    pub files: usize,
    pub bytes: u64,
}

/// Writes the archive to `to` (through a temporary file, so a half-written backup never
/// replaces a good one).
pub fn backup(database_url: &str, data_dir: &Path, to: &Path) -> Result<Summary> {
    let work = tempfile_dir(to)?;
    let snapshot = work.join(DB_NAME);
    store::snapshot_sqlite(database_url, &snapshot)?;
    let partial = to.with_extension("partial");
    let mut files = 0;
    {
        let out = BufWriter::new(File::create(&partial).map_err(at(&partial))?);
        let mut tar = tar::Builder::new(out);
        tar.append_path_with_name(&snapshot, DB_NAME)
            .map_err(at(&snapshot))?;
        // The archive restores on its own: with the key that opens the channels' secrets.
        let key = data_dir.join(crate::crypto::SECRET_KEY_FILE);
        if key.is_file() {
            tar.append_path_with_name(&key, crate::crypto::SECRET_KEY_FILE)
                .map_err(at(&key))?;
        }
        let root = data_dir.join(FILES);
        if root.is_dir() {
            for dir in std::fs::read_dir(&root)? {
                let dir = dir?;
                if !dir.file_type()?.is_dir() {
                    continue;
                }
                for f in std::fs::read_dir(dir.path())? {
                    let f = f?;
                    let name = f.file_name().to_string_lossy().into_owned();
                    // Half-written uploads (.part) belong to no message.
                    if !f.file_type()?.is_file() || name.ends_with(".part") {
                        continue;
                    }
                    let inside = format!("{FILES}/{}/{name}", dir.file_name().to_string_lossy());
                    tar.append_path_with_name(f.path(), inside)
                        .map_err(at(&f.path()))?;
                    files += 1;
                }
            }
        }
        let out = tar.into_inner()?;
        out.into_inner()
            .map_err(|e| Error::internal(e.to_string()))?
            .sync_all()?;
    }
    std::fs::rename(&partial, to).map_err(at(to))?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(Summary {
        files,
        bytes: std::fs::metadata(to)?.len(),
    })
}

/// Unpacks an archive into `data_dir`, which must not hold a database yet (unless `force`).
pub fn restore(from: &Path, data_dir: &Path, force: bool) -> Result<Summary> {
    let db = data_dir.join(DB_NAME);
    if db.exists() && !force {
        return Err(Error::Conflict(format!(
            "{} already holds a database; stop the server and pass --force to replace it",
            data_dir.display()
        )));
    }
    std::fs::create_dir_all(data_dir)?;
    let mut archive = tar::Archive::new(BufReader::new(File::open(from)?));
    let mut files = 0;
    let mut has_db = false;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let name = path.to_string_lossy().into_owned();
        let allowed = name == DB_NAME
            || name == crate::crypto::SECRET_KEY_FILE
            || (name.starts_with("attachments/")
                && path.components().count() == 3
                && path
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))));
        if !allowed {
            return Err(Error::invalid(format!(
                "{} is not a perepiska backup (it holds {name})",
                from.display()
            )));
        }
        if name == DB_NAME {
            has_db = true;
            let tmp = data_dir.join(format!("{DB_NAME}.restoring"));
            entry.unpack(&tmp)?;
            for old in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(data_dir.join(format!("{DB_NAME}{old}")));
            }
            std::fs::rename(&tmp, &db)?;
        } else if name == crate::crypto::SECRET_KEY_FILE {
            let target = data_dir.join(&path);
            entry.unpack(&target)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))?;
            }
        } else {
            let target = data_dir.join(&path);
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)?;
            }
            entry.unpack(&target)?;
            files += 1;
        }
    }
    if !has_db {
        return Err(Error::invalid(format!(
            "{} holds no database",
            from.display()
        )));
    }
    Ok(Summary {
        files,
        bytes: std::fs::metadata(&db)?.len(),
    })
}

fn tempfile_dir(beside: &Path) -> Result<std::path::PathBuf> {
    let parent = beside
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = parent.join(format!(
        ".perepiska-backup-{}",
        crate::crypto::random_hex(6)?
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
