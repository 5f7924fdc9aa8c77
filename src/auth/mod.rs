//! SSO sign-in (issue 19) for `thoth auth login|status|logout` (also as `thothctl`; the command is
//! `commands::auth`, `login::run` still here), and the refresh of the
//! saved session before `thoth run` and `thoth checkin` use it. `metadata` discovers the issuer's endpoints,
//! `oauth` talks to them (the `oauth2` crate over the hardened client), `callback` is the loopback redirect,
//! `store` owns the session files and their lock, `jwt` reads claims (unverified: the services verify).
//! Tokens are never printed or logged.

pub mod callback;
pub mod cli_args;
pub mod jwt;
pub mod login;
pub mod metadata;
pub mod oauth;
pub mod refresh;
pub mod status;
pub mod store;

use std::path::PathBuf;

use store::SessionFiles;

use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("no tenant is set, so the session has no name")]
    NoTenant,
    #[error(
        "no GovAPI URL is set (the session is named after its host, and it is the default issuer)"
    )]
    NoGovApi,
    #[error("no home folder is known, so ~/.thoth/sessions cannot be used")]
    NoHome,
    #[error("no issuer is set")]
    NoIssuer,
    #[error("no authorization server metadata was found for the issuer {issuer} ({detail})")]
    Discovery { issuer: String, detail: String },
    #[error("the authorization server metadata at {url} is not usable: {reason}")]
    Metadata { url: String, reason: String },
    #[error("the issuer's metadata has no {0}")]
    NoEndpoint(&'static str, &'static str),
    #[error("the sign-in was denied ({0})")]
    Denied(String),
    #[error("the sign-in code expired before the sign-in was completed ({0})")]
    CodeExpired(String),
    #[error("the authorization server refused the {step}: {detail}")]
    Server { step: &'static str, detail: String },
    #[error("the {step} request to the authorization server failed: {detail}")]
    Network { step: &'static str, detail: String },
    #[error("cannot listen for the sign-in callback on 127.0.0.1: {0}")]
    Callback(std::io::Error),
    #[error("the browser did not come back within {0} s")]
    CallbackTimeout(u64),
    #[error("the saved session {} holds no token", path.display())]
    BadSession { path: PathBuf },
    #[error("the saved SSO session {} has expired and cannot be refreshed (no refresh token)", path.display())]
    SessionExpired { path: PathBuf },
    #[error("the saved SSO session {} has expired and its refresh failed: {detail}", path.display())]
    RefreshFailed { path: PathBuf, detail: String },
    #[error("cannot use {}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Home(#[from] crate::home::Error),
    #[error(transparent)]
    Net(#[from] crate::net::Error),
    #[error(transparent)]
    Settings(#[from] crate::settings::Error),
    #[error("could not start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl crate::hint::Hint for Error {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NoTenant => "pass --tenant-id (or set THOTH_TENANT_ID)".into(),
            Error::NoGovApi | Error::NoIssuer => "set THOTH_GOVAPI_URL (or THOTH_TENANT_ID and THOTH_APEX_DOMAIN); pass --issuer or set THOTH_AUTH_ISSUER when the identity provider lives elsewhere".into(),
            Error::NoHome => "set HOME (USERPROFILE on Windows)".into(),
            Error::Discovery { .. } | Error::Metadata { .. } => "check --issuer / THOTH_AUTH_ISSUER: it must be the OAuth issuer URL, serving /.well-known/oauth-authorization-server or /.well-known/openid-configuration".into(),
            Error::NoEndpoint(_, other) => format!("use {other}, or ask your administrator to enable this sign-in flow at the identity provider"),
            Error::Denied(_) => "sign in again with `thoth auth login`, and approve the request; ask your administrator if you are not allowed".into(),
            Error::CodeExpired(_) => "run `thoth auth login --device` again and enter the code sooner".into(),
            Error::Server { .. } => "run `thoth auth login` again; check THOTH_AUTH_CLIENT_ID with your administrator if it keeps failing".into(),
            Error::Network { .. } => "check the network path to the issuer and the TLS settings (THOTH_TLS_CA_BUNDLE, THOTH_TLS_PINNED_CERT_SHA256) with `thoth doctor`".into(),
            Error::Callback(_) => "use `thoth auth login --device` instead".into(),
            Error::CallbackTimeout(_) => "run `thoth auth login` again (or `--no-browser` and open the URL yourself; `--device` on a machine without a browser)".into(),
            Error::BadSession { .. } | Error::SessionExpired { .. } | Error::RefreshFailed { .. } => "sign in again: `thoth auth login`".into(),
            Error::Io { path, .. } => format!("check that {} is writable by you", path.display()),
            Error::Home(e) => return e.hint(),
            Error::Net(e) => return e.hint(),
            Error::Settings(e) => return e.hint(),
            Error::Runtime(_) => return None,
        })
    }
}

/// The session files for the tenant of `settings`, and the tenant.
pub fn session_files(settings: &Settings) -> Result<(SessionFiles, String), Error> {
    let tenant = settings
        .tenant_id
        .as_ref()
        .ok_or(Error::NoTenant)?
        .value
        .clone();
    let govapi = settings.govapi_url.as_ref().ok_or(Error::NoGovApi)?;
    let dir = settings.thoth_dir.as_deref().ok_or(Error::NoHome)?;
    let files = SessionFiles::of(dir, &tenant, &govapi.value).ok_or(Error::NoGovApi)?;
    Ok((files, tenant))
}

/// Run `future` on a runtime of its own (the commands here are one-shot and synchronous).
pub fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?
        .block_on(future)
}
