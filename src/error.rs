//! The crate's error: one variant per module error, each able to say what the user should do (`Hint`).
//! `output::report` renders `error:`, `caused by:` and `hint:` lines on stderr (STYLE.md §2).

/// What to do about an error, in one sentence that names the flag, file or variable to change.
pub trait Hint {
    fn hint(&self) -> Option<String>;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Settings(#[from] crate::settings::Error),
    #[error(transparent)]
    Proxy(#[from] crate::proxy::Error),
    #[error("could not start logging: {0}")]
    Logging(String),
}

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Settings(e) => e.hint(),
            Error::Proxy(e) => e.hint(),
            Error::Logging(_) => Some(
                "check --log-level / THOTH_LOG and that the --log-file folder is writable".into(),
            ),
        }
    }
}

impl Error {
    pub fn exit(&self) -> crate::Exit {
        crate::Exit::Failure
    }
}
