//! `~/.thoth/secrets/`: one `<hex of the name>.json` per secret (`{name, backend, created, value?}`), folder
//! 0700, files 0600, written atomically (`home::write_private`). The value is in the file only for the file
//! backend. Every read first checks the modes: a folder or file open to group or others is refused, naming
//! it; it is never tightened here (someone may already have read it).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::backend::{Backend, Entry};
use super::{Error, Value};

/// The file backend: the value sits in the index file itself, protected by its mode only.
pub struct FileBackend;

impl Backend for FileBackend {
    fn name(&self) -> &'static str {
        "file"
    }

    fn put(&self, _name: &str, value: &str) -> Result<Option<String>, Error> {
        Ok(Some(value.to_owned()))
    }

    fn get(&self, _name: &str, inline: Option<String>) -> Result<Option<Value>, Error> {
        Ok(inline.map(Zeroizing::new))
    }

    fn remove(&self, _name: &str) -> Result<(), Error> {
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    name: String,
    backend: String,
    created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |error| Error::Io {
        path: path.to_owned(),
        error,
    }
}

/// Refuse when the folder, or anything in it, is open to group or others. A missing folder is fine.
pub fn check_private(dir: &Path) -> Result<(), Error> {
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io(dir)(error)),
    };
    if !meta.is_dir() {
        return Err(Error::Corrupt {
            path: dir.to_owned(),
            detail: "is not a folder".into(),
        });
    }
    too_open(dir, &meta)?;
    for item in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = item.map_err(io(dir))?.path();
        // Not followed: a symlink (mode 777) in the store is refused like an open file.
        let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
        too_open(&path, &meta)?;
    }
    Ok(())
}

#[cfg(unix)]
fn too_open(path: &Path, meta: &std::fs::Metadata) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 || meta.file_type().is_symlink() {
        return Err(Error::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// Windows: the profile folder's ACL is what protects the files (the OS backend is the default there).
#[cfg(not(unix))]
fn too_open(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), Error> {
    Ok(())
}

/// Create the folder 0700 when it is missing (an existing one was checked, not changed).
pub fn ensure_dir(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    crate::home::create_private_dir(dir).map_err(io(dir))
}

fn path_of(dir: &Path, name: &str) -> PathBuf {
    let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{hex}.json"))
}

fn read(path: &Path) -> Result<Option<OnDisk>, Error> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io(path)(error)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Corrupt {
            path: path.to_owned(),
            detail: format!("not a thoth secret file ({})", e.classify_kind()),
        })
}

trait Classify {
    fn classify_kind(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    // Never the error's text: it may quote part of the value.
    fn classify_kind(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "unexpected fields",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

/// The entry of `name` and the value its file holds (file backend only).
pub fn read_entry(dir: &Path, name: &str) -> Result<Option<(Entry, Option<String>)>, Error> {
    let path = path_of(dir, name);
    let Some(disk) = read(&path)? else {
        return Ok(None);
    };
    if disk.name != name {
        return Err(Error::Corrupt {
            path,
            detail: format!("holds {:?}, not {name:?}", disk.name),
        });
    }
    let entry = Entry {
        name: disk.name,
        backend: disk.backend,
        created: disk.created,
    };
    Ok(Some((entry, disk.value)))
}

pub fn write_entry(dir: &Path, entry: &Entry, value: Option<&str>) -> Result<(), Error> {
    let disk = OnDisk {
        name: entry.name.clone(),
        backend: entry.backend.clone(),
        created: entry.created.clone(),
        value: value.map(str::to_owned),
    };
    let mut bytes = Zeroizing::new(serde_json::to_vec_pretty(&disk).unwrap_or_default());
    bytes.push(b'\n');
    let value = Zeroizing::new(disk.value);
    drop(value);
    let path = path_of(dir, &entry.name);
    crate::home::write_private(&path, &bytes).map_err(|e| match e {
        crate::home::Error::Io { path, error } => Error::Io { path, error },
        other => Error::Io {
            path: path.clone(),
            error: std::io::Error::other(other.to_string()),
        },
    })
}

pub fn remove_entry(dir: &Path, name: &str) -> Result<(), Error> {
    let path = path_of(dir, name);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io(&path)(error)),
    }
}

/// Every entry, sorted by name (values not kept in memory).
pub fn entries(dir: &Path) -> Result<Vec<Entry>, Error> {
    let items = match std::fs::read_dir(dir) {
        Ok(items) => items,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io(dir)(error)),
    };
    let mut found = Vec::new();
    for item in items {
        let path = item.map_err(io(dir))?.path();
        let is_entry = path.extension().is_some_and(|e| e == "json")
            && !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !is_entry {
            continue;
        }
        if let Some(disk) = read(&path)? {
            found.push(Entry {
                name: disk.name,
                backend: disk.backend,
                created: disk.created,
            });
            drop(Zeroizing::new(disk.value));
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn refuses_open_modes_and_never_repairs_them() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".thoth/secrets");
        check_private(&dir).unwrap();
        ensure_dir(&dir).unwrap();
        let entry = Entry {
            name: "s/K".into(),
            backend: "file".into(),
            created: "2026-12-03T09:00:00Z".into(),
        };
        write_entry(&dir, &entry, Some("v a$\"\\ü")).unwrap();
        let file = path_of(&dir, "s/K");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&dir), mode(&file)), (0o700, 0o600));
        let (read, value) = read_entry(&dir, "s/K").unwrap().unwrap();
        assert_eq!((read, value.as_deref()), (entry, Some("v a$\"\\ü")));
        for (path, wide) in [(&file, 0o640), (&file, 0o604), (&dir, 0o750), (&dir, 0o701)] {
            let before = mode(path);
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(wide)).unwrap();
            let err = check_private(&dir).unwrap_err();
            assert!(err.to_string().contains(".thoth/secrets"), "{err}");
            assert_eq!(mode(path), wide, "not repaired");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(before)).unwrap();
            check_private(&dir).unwrap();
        }
    }
}
