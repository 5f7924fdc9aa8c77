//! The audit module's error: the spool's files (the audit log itself never fails its caller: it counts and
//! logs what it could not write). Each variant says what to do (`Hint`, STYLE.md §2).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot use {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A spooled batch that is not the JSON thoth wrote (edited, or cut short by a crash).
    #[error("the spooled batch {} is not valid: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    /// One batch larger than the whole spool may hold.
    #[error("a batch of {bytes} bytes does not fit in the spool (at most {max_bytes} bytes)")]
    TooLarge { bytes: u64, max_bytes: u64 },
}

impl crate::hint::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => Some(
                "free some disk space; thoth keeps going and counts what it could not write".into(),
            ),
            Error::Io { path, .. } => Some(format!(
                "check that {} is writable by the user thoth runs as",
                path.display()
            )),
            Error::Corrupt { path, .. } => Some(format!(
                "the batch is dropped; remove {} if it is still there",
                path.display()
            )),
            Error::TooLarge { .. } => None,
        }
    }
}

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}
