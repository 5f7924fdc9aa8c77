//! `thoth auth login|status|logout` (also as `thothctl auth`): the dispatch, `status` rendered as text or JSON
//! (schemas/auth-status.schema.json) and `logout` (revoke at the issuer, then delete the session). The sign-in
//! itself is `auth::login::run`.

use crate::auth::cli_args::{AuthArgs, AuthCommand, StatusArgs};
use crate::auth::oauth::Provider;
use crate::auth::{self, login};
use crate::settings::Settings;
use crate::Exit;

/// `thoth auth ...`.
pub fn run(
    args: AuthArgs,
    settings: Result<Settings, crate::settings::Error>,
) -> Result<Exit, crate::Error> {
    let settings = settings?;
    match args.command {
        AuthCommand::Login(args) => login::run(args, &settings),
        AuthCommand::Status(args) => status(args, &settings),
        AuthCommand::Logout(_) => logout(&settings),
    }
}

/// `thoth auth status`: 0 when the session is valid, 1 when it is missing or expired (never refreshes).
pub fn status(args: StatusArgs, settings: &Settings) -> Result<Exit, crate::Error> {
    let (files, tenant) = auth::session_files(settings)?;
    let report = auth::status::inspect(&files, &tenant)?;
    crate::output::render(args.json, &report, auth::status::render);
    Ok(if report.state == "valid" {
        Exit::Ok
    } else {
        Exit::Failure
    })
}

/// `thoth auth logout`: revoke at the issuer (refresh token, then access token) when it has a revocation
/// endpoint, then delete the session whatever the issuer said (a failed revocation is a warning).
pub fn logout(settings: &Settings) -> Result<Exit, crate::Error> {
    let (files, tenant) = auth::session_files(settings)?;
    let _lock = files.lock()?;
    let Some(session) = files.read().ok().flatten() else {
        files.delete()?;
        crate::output::message(&format!("not signed in to tenant {tenant}; nothing to do"));
        return Ok(Exit::Ok);
    };
    let http = auth::oauth::http(settings)?;
    let revoked = auth::block_on(async {
        let provider = Provider::discover(settings, http).await?;
        if provider.metadata.revocation_endpoint.is_none() {
            return Ok(false);
        }
        if let Some(refresh) = &session.refresh {
            provider.revoke(refresh, "refresh_token").await?;
        }
        provider.revoke(&session.access, "access_token").await?;
        Ok(true)
    });
    files.delete()?;
    match revoked {
        Ok(true) => crate::output::message(&format!("signed out of tenant {tenant}: the session was revoked at the issuer and deleted")),
        Ok(false) => crate::output::message(&format!("signed out of tenant {tenant}: the session was deleted (the issuer has no revocation endpoint)")),
        Err(err) => {
            tracing::warn!(error = %err, "could not revoke the session at the issuer");
            crate::output::message(&format!("signed out of tenant {tenant}: the session was deleted, but the issuer could not revoke it ({err})"));
        }
    }
    Ok(Exit::Ok)
}
