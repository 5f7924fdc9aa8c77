//! The crate's error: one variant per module error, each able to say what the user should do (`Hint`).
//! `output::report` renders `error:`, `caused by:` and `hint:` lines on stderr (STYLE.md §2).

pub use crate::hint::Hint;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Settings(#[from] crate::settings::Error),
    #[error(transparent)]
    Proxy(#[from] crate::proxy::Error),
    #[error(transparent)]
    Policy(#[from] crate::policy::Error),
    #[error(transparent)]
    Home(#[from] crate::home::Error),
    #[error(transparent)]
    Net(#[from] crate::net::Error),
    #[error(transparent)]
    Wrap(#[from] crate::wrap::Error),
    #[error(transparent)]
    Update(#[from] crate::update::Error),
    #[error(transparent)]
    Fleet(#[from] crate::fleet::Error),
    #[error(transparent)]
    Lock(#[from] crate::lock::Error),
    #[error(transparent)]
    Auth(#[from] crate::auth::Error),
    #[error(transparent)]
    Secrets(#[from] crate::secrets::Error),
    #[error(transparent)]
    Logging(#[from] crate::logging::Error),
    /// Bad input to a command (what was wrong, in words).
    #[error("{0}")]
    Input(String),
}

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Settings(e) => e.hint(),
            Error::Proxy(e) => e.hint(),
            Error::Policy(e) => e.hint(),
            Error::Home(e) => e.hint(),
            Error::Net(e) => e.hint(),
            Error::Wrap(e) => e.hint(),
            Error::Update(e) => e.hint(),
            Error::Fleet(e) => e.hint(),
            Error::Lock(e) => e.hint(),
            Error::Auth(e) => e.hint(),
            Error::Secrets(e) => e.hint(),
            Error::Logging(e) => e.hint(),
            Error::Input(_) => None,
        }
    }
}

impl Error {
    pub fn exit(&self) -> crate::Exit {
        crate::Exit::Failure
    }
}
