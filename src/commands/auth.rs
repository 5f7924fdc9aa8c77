//! `thoth auth login|status|logout` (also as `thothctl auth`): the dispatch, `status` rendered as text or JSON
//! (schemas/auth-status.schema.json) and `logout` (revoke at the issuer, then delete the session). The sign-in
//! itself (the code and device grants) is `auth::login`.

use crate::auth::cli_args::{AuthArgs, AuthCommand, LoginArgs, StatusArgs};
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
        AuthCommand::Login(args) => login(args, &settings),
        AuthCommand::Status(args) => status(args, &settings),
        AuthCommand::Logout(_) => logout(&settings),
    }
}

/// `thoth auth login`: sign in at the tenant's issuer (`auth::login`), then save the session; nothing is saved
/// unless the sign-in completes.
pub fn login(args: LoginArgs, settings: &Settings) -> Result<Exit, crate::Error> {
    let mut flags = Vec::new();
    if let Some(tenant) = &args.tenant_id {
        flags.push(("THOTH_TENANT_ID", tenant.clone()));
    }
    if let Some(issuer) = &args.issuer {
        flags.push(("THOTH_AUTH_ISSUER", issuer.clone()));
    }
    let settings = settings.with_flags(&flags)?;
    let (files, tenant) = auth::session_files(&settings)?;
    let login_hint = match &args.admin_email {
        Some(email) => Some(crate::settings::validate::email(email).map_err(|expected| {
            crate::Error::Input(format!(
                "--admin-email {email:?} is not valid: expected {expected}"
            ))
        })?),
        None => settings.get("THOTH_USER_ID").map(|v| v.value.clone()),
    };
    let http = auth::oauth::http(&settings)?;
    let tokens = auth::block_on(async {
        let provider = Provider::discover(&settings, http).await?;
        if args.device {
            login::device(&provider).await
        } else {
            login::code(&provider, login_hint.as_deref(), !args.no_browser).await
        }
    })?;
    {
        let _lock = files.lock()?;
        files.save(&tokens.access, tokens.refresh.as_ref())?;
    }
    let report = auth::status::inspect(&files, &tenant)?;
    crate::output::message(&format!(
        "signed in{} (tenant {tenant}); session saved to {}{}",
        report
            .email
            .as_ref()
            .or(report.subject.as_ref())
            .map(|who| format!(" as {who}"))
            .unwrap_or_default(),
        files.jwt.display(),
        report
            .expires_at
            .as_ref()
            .map(|at| format!(", valid until {at}"))
            .unwrap_or_default()
    ));
    if args.json {
        crate::output::json(&report);
    }
    Ok(Exit::Ok)
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
