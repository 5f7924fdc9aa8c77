//! The secret store (issue 17): values that used to sit in plain text in client configs, kept by the OS
//! (macOS Keychain, Windows Credential Manager) or in `~/.thoth/secrets/` (folder 0700, files 0600), and
//! referenced from configs as `thoth-secret:<server>/<KEY>`. `thoth run` resolves references at spawn only
//! (`resolve`). A store that is open to group or others is refused, never repaired.

pub mod backend;
pub mod file;
pub mod findings;
pub mod os;
pub mod resolve;

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

pub use backend::{Backend, Entry};

/// What a config holds in place of a vaulted value: `thoth-secret:<name>`.
pub const REFERENCE_PREFIX: &str = "thoth-secret:";

/// The stored value: wiped from memory when dropped.
pub type Value = Zeroizing<String>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{} is open to group or others (mode {mode:o}): thoth will not read secrets from it",
        path.display()
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("secret store {}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("secret store {}: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("{backend}: {detail}")]
    Backend {
        backend: &'static str,
        detail: String,
    },
    #[error("secret name {name:?} is not <server>/<KEY>: {why}")]
    BadName { name: String, why: &'static str },
    #[error("no secret named {name} in the store")]
    NotFound { name: String },
    #[error(
        "secret {REFERENCE_PREFIX}{name} (env {env}) is not in the store; set it with: thoth secrets set {name} --from-stdin"
    )]
    MissingReference { name: String, env: String },
    #[error("env {env}: {source}")]
    Reference {
        env: String,
        #[source]
        source: Box<Error>,
    },
    #[error("no home folder is known, so ~/.thoth/secrets cannot be used")]
    NoHome,
    #[error("{0}")]
    Usage(String),
}

impl crate::hint::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::TooOpen { path, .. } => Some(format!(
                "make it private again (chmod 700 the folder, chmod 600 its files: {}); thoth does not repair it \
                 because someone else may already have read it (rotate the secrets if so)",
                path.display()
            )),
            Error::Io { .. } => Some("check that ~/.thoth/secrets belongs to the user thoth runs as".into()),
            Error::Corrupt { .. } => Some(
                "remove the damaged file and set the secret again with `thoth secrets set NAME --from-stdin`"
                    .into(),
            ),
            Error::NotFound { name } => Some(format!(
                "store it with: thoth secrets set {name} --from-stdin (the value is read from stdin)"
            )),
            Error::MissingReference { .. } => Some(
                "the value is read from stdin (one trailing newline dropped); then restart the MCP client".into(),
            ),
            Error::Reference { source, .. } => source.hint(),
            Error::NoHome => Some("set HOME (USERPROFILE on Windows)".into()),
            Error::BadName { .. } => Some("names look like github/GITHUB_PERSONAL_ACCESS_TOKEN".into()),
            Error::Backend { .. } | Error::Usage(_) => None,
        }
    }
}

/// Is `name` a valid `<server>/<KEY>`? The server part is the config's server name (no `/`); the key is an
/// environment variable name (no `=`, no NUL). No control characters anywhere.
pub fn check_name(name: &str) -> Result<(), Error> {
    let bad = |why| Error::BadName {
        name: name.to_owned(),
        why,
    };
    let Some((server, key)) = name.split_once('/') else {
        return Err(bad("it has no '/'"));
    };
    if server.is_empty() || key.is_empty() {
        return Err(bad("the server or the key is empty"));
    }
    if key.contains('/') {
        return Err(bad("the key holds a '/'"));
    }
    if key.contains('=') {
        return Err(bad("the key holds a '='"));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("it holds a control character"));
    }
    if name.len() > 512 {
        return Err(bad("it is longer than 512 bytes"));
    }
    Ok(())
}

/// `thoth-secret:<server>/<KEY>`.
pub fn reference(name: &str) -> String {
    format!("{REFERENCE_PREFIX}{name}")
}

/// The name a whole value refers to, when it is a reference.
pub fn referenced(value: &str) -> Option<&str> {
    value.strip_prefix(REFERENCE_PREFIX)
}

/// `<server>/<KEY>`.
pub fn name_for(server: &str, key: &str) -> String {
    format!("{server}/{key}")
}

/// The store of one user: the index folder `~/.thoth/secrets` and the backend holding the values.
pub struct Store {
    dir: PathBuf,
    backend: Box<dyn Backend>,
}

impl Store {
    /// The store under this `~/.thoth`, with the backend this machine offers (`os::pick`).
    pub fn open(thoth_dir: Option<&Path>) -> Result<Store, Error> {
        let thoth_dir = thoth_dir.ok_or(Error::NoHome)?;
        let dir = crate::platform::paths::secrets_dir(thoth_dir);
        Ok(Store {
            backend: os::pick(&dir),
            dir,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// Every stored secret (name, backend, created), sorted by name; empty when there is no store yet.
    pub fn list(&self) -> Result<Vec<Entry>, Error> {
        file::check_private(&self.dir)?;
        file::entries(&self.dir)
    }

    pub fn get(&self, name: &str) -> Result<Option<Value>, Error> {
        check_name(name)?;
        file::check_private(&self.dir)?;
        match file::read_entry(&self.dir, name)? {
            None => Ok(None),
            Some((entry, inline)) => self.backend_for(&entry).get(name, inline),
        }
    }

    /// Store (or replace) a value.
    pub fn set(&self, name: &str, value: &str) -> Result<(), Error> {
        check_name(name)?;
        file::check_private(&self.dir)?;
        file::ensure_dir(&self.dir)?;
        let inline = self.backend.put(name, value)?;
        let entry = Entry {
            name: name.to_owned(),
            backend: self.backend.name().to_owned(),
            created: now(),
        };
        file::write_entry(&self.dir, &entry, inline.as_deref())
    }

    /// Remove a secret; false when there was none.
    pub fn remove(&self, name: &str) -> Result<bool, Error> {
        check_name(name)?;
        file::check_private(&self.dir)?;
        let Some((entry, _)) = file::read_entry(&self.dir, name)? else {
            return Ok(false);
        };
        self.backend_for(&entry).remove(name)?;
        file::remove_entry(&self.dir, name)?;
        Ok(true)
    }

    /// The backend an entry was stored with (a store moved between backends keeps reading old entries).
    fn backend_for(&self, entry: &Entry) -> Box<dyn Backend> {
        os::by_name(&self.dir, &entry.backend)
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_server_slash_key() {
        assert!(check_name("github/GITHUB_PERSONAL_ACCESS_TOKEN").is_ok());
        assert!(check_name("my server (beta)/API_KEY").is_ok());
        for bad in ["", "x", "/K", "s/", "s/a/b", "s/K=V", "s/K\n", "s\u{0}/K"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(referenced(&reference("a/B")), Some("a/B"));
        assert_eq!(referenced("ghp_x"), None);
    }
}
