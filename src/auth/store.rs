//! The saved SSO session (DESIGN.md §6): the access token at
//! `~/.thoth/sessions/<tenant>--<govapi-host>--admin-token.jwt` (the file the credential chain reads), the
//! refresh token beside it in `...--admin-token.refresh`, both 0600 in a 0700 folder, written through
//! `home::write_file`. Every change happens under the OS lock on `...--admin-token.lock`, so one process at
//! a time logs in, refreshes or logs out. A JSON session in the `.jwt` (`{"access_token", "refresh_token"}`)
//! is read too.

use std::path::{Path, PathBuf};

use super::jwt::{self, Claims};
use super::Error;
use crate::settings::{credentials, Secret};

/// The files of one tenant's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFiles {
    pub jwt: PathBuf,
    pub refresh: PathBuf,
    pub lock: PathBuf,
}

/// What a session file holds.
#[derive(Debug, Clone)]
pub struct Session {
    pub access: Secret,
    pub refresh: Option<Secret>,
    pub claims: Option<Claims>,
}

impl Session {
    pub fn is_expired(&self) -> bool {
        jwt::is_expired(self.claims.as_ref(), 0)
    }
}

/// The `.jwt` session file held alone (the lock is released when it is dropped).
#[derive(Debug)]
pub struct Locked(#[allow(dead_code)] std::fs::File);

impl SessionFiles {
    /// The files for the session at `jwt` (`...--admin-token.jwt`).
    pub fn at(jwt: PathBuf) -> SessionFiles {
        let stem = jwt
            .file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".jwt").to_owned())
            .unwrap_or_default();
        let dir = jwt.parent().map(Path::to_path_buf).unwrap_or_default();
        SessionFiles {
            refresh: dir.join(format!("{stem}.refresh")),
            lock: dir.join(format!("{stem}.lock")),
            jwt,
        }
    }

    /// The session of `tenant` at the GovAPI `govapi_url`, under `thoth_dir`.
    pub fn of(thoth_dir: &Path, tenant: &str, govapi_url: &str) -> Option<SessionFiles> {
        credentials::admin_session_path(Some(thoth_dir), Some(tenant), Some(govapi_url))
            .map(SessionFiles::at)
    }

    fn dir(&self) -> &Path {
        self.jwt.parent().unwrap_or(Path::new("."))
    }

    /// Hold the session alone until the result is dropped (blocks while another process holds it).
    pub fn lock(&self) -> Result<Locked, Error> {
        crate::home::create_private_dir(self.dir()).map_err(io(self.dir()))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .map_err(io(&self.lock))?;
        let _ = crate::platform::make_private(&self.lock);
        fs4::FileExt::lock(&file).map_err(io(&self.lock))?;
        Ok(Locked(file))
    }

    /// The saved session, or None when there is none.
    pub fn read(&self) -> Result<Option<Session>, Error> {
        let text = match std::fs::read_to_string(&self.jwt) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&self.jwt)(e)),
        };
        let Some(access) = credentials::token_from_text(&text, credentials::TOKEN_FIELDS) else {
            return Err(Error::BadSession {
                path: self.jwt.clone(),
            });
        };
        let refresh = match std::fs::read_to_string(&self.refresh) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&self.refresh)(e)),
        }
        .and_then(|t| credentials::token_from_text(&t, &["refresh_token"]))
        .or_else(|| {
            text.trim_start()
                .starts_with('{')
                .then(|| credentials::token_from_text(&text, &["refresh_token", "refreshToken"]))
                .flatten()
        });
        Ok(Some(Session {
            claims: jwt::claims(access.expose()),
            access,
            refresh,
        }))
    }

    /// Replace the session (hold the lock). The refresh token is written first: a crash in between leaves
    /// the old access token with the new refresh token, which the next refresh repairs; never a spent one.
    pub fn save(&self, access: &Secret, refresh: Option<&Secret>) -> Result<(), Error> {
        crate::home::create_private_dir(self.dir()).map_err(io(self.dir()))?;
        match refresh {
            Some(token) => write(&self.refresh, token)?,
            None => remove(&self.refresh)?,
        }
        write(&self.jwt, access)
    }

    /// Delete the session files (hold the lock). True when there was a session.
    pub fn delete(&self) -> Result<bool, Error> {
        let had = self.jwt.exists() || self.refresh.exists();
        remove(&self.refresh)?;
        remove(&self.jwt)?;
        Ok(had)
    }
}

fn write(path: &Path, token: &Secret) -> Result<(), Error> {
    let mut text = token.expose().as_bytes().to_vec();
    text.push(b'\n');
    crate::home::write_private(path, &text).map_err(Error::Home)
}

fn remove(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |error| Error::Io {
        path: path.to_owned(),
        error,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_session_is_saved_private_and_replaced_whole() {
        let home = tempfile::tempdir().unwrap();
        let files = SessionFiles::of(home.path(), "acme", "http://127.0.0.1:9").unwrap();
        assert_eq!(
            files.refresh.file_name().unwrap(),
            "acme--127.0.0.1--admin-token.refresh"
        );
        let _lock = files.lock().unwrap();
        files
            .save(&Secret::new("a1"), Some(&Secret::new("r1")))
            .unwrap();
        assert_eq!(mode(files.jwt.parent().unwrap()), 0o700);
        assert_eq!(mode(&files.jwt), 0o600);
        assert_eq!(mode(&files.refresh), 0o600);
        let s = files.read().unwrap().unwrap();
        assert_eq!(
            (s.access.expose(), s.refresh.unwrap().expose()),
            ("a1", "r1")
        );
        // A login without a refresh token leaves no stale one.
        files.save(&Secret::new("a2"), None).unwrap();
        assert!(!files.refresh.exists());
        assert!(files.read().unwrap().unwrap().refresh.is_none());
        assert!(files.delete().unwrap());
        assert!(files.read().unwrap().is_none());
        assert!(!files.delete().unwrap());
    }

    #[test]
    fn a_json_session_holds_both_tokens() {
        let home = tempfile::tempdir().unwrap();
        let files = SessionFiles::of(home.path(), "acme", "https://grid.acme.example").unwrap();
        std::fs::create_dir_all(files.jwt.parent().unwrap()).unwrap();
        std::fs::write(&files.jwt, r#"{"access_token":"a","refresh_token":"r"}"#).unwrap();
        let s = files.read().unwrap().unwrap();
        assert_eq!(s.refresh.unwrap().expose(), "r");
        std::fs::write(&files.jwt, "{}").unwrap();
        assert!(matches!(files.read(), Err(Error::BadSession { .. })));
    }
}
