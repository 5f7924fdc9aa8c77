//! Which backend holds values on this machine: the macOS login Keychain and the Windows Credential Manager
//! through the `keyring` crate (one item per secret, service `thoth`, account `<server>/<KEY>`); everywhere
//! else (Linux, BSD) the file backend. Linux Secret Service is not used yet: its crates need a session bus
//! at run time and D-Bus libraries at build time, and a headless endpoint (the acceptance checks, a CI
//! runner) has neither.

use std::path::Path;

use super::backend::Backend;
use super::file::FileBackend;

/// The backend new secrets go to.
pub fn pick(_dir: &Path) -> Box<dyn Backend> {
    #[cfg(any(target_os = "macos", windows))]
    {
        Box::new(native::Native)
    }
    #[cfg(not(any(target_os = "macos", windows)))]
    {
        Box::new(FileBackend)
    }
}

/// The backend an existing entry names (an unknown name reads as the file backend, which then finds no
/// value and says the secret is missing).
pub fn by_name(dir: &Path, name: &str) -> Box<dyn Backend> {
    let picked = pick(dir);
    if picked.name() == name {
        return picked;
    }
    Box::new(FileBackend)
}

#[cfg(any(target_os = "macos", windows))]
mod native {
    use zeroize::Zeroizing;

    use super::super::backend::Backend;
    use super::super::{Error, Value};

    const SERVICE: &str = "thoth";

    pub struct Native;

    #[cfg(target_os = "macos")]
    const NAME: &str = "macos-keychain";
    #[cfg(windows)]
    const NAME: &str = "windows-credential-manager";

    fn entry(name: &str) -> Result<keyring::Entry, Error> {
        keyring::Entry::new(SERVICE, name).map_err(fail)
    }

    // keyring's errors never carry the secret itself.
    fn fail(err: keyring::Error) -> Error {
        Error::Backend {
            backend: NAME,
            detail: err.to_string(),
        }
    }

    impl Backend for Native {
        fn name(&self) -> &'static str {
            NAME
        }

        fn put(&self, name: &str, value: &str) -> Result<Option<String>, Error> {
            entry(name)?.set_password(value).map_err(fail)?;
            Ok(None)
        }

        fn get(&self, name: &str, _inline: Option<String>) -> Result<Option<Value>, Error> {
            match entry(name)?.get_password() {
                Ok(value) => Ok(Some(Zeroizing::new(value))),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(err) => Err(fail(err)),
            }
        }

        fn remove(&self, name: &str) -> Result<(), Error> {
            match entry(name)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(err) => Err(fail(err)),
            }
        }
    }
}
