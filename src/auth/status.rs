//! The session summary `thoth auth status` (`commands::auth`), `doctor` and `health` show: who,
//! tenant, expiry, refreshable, never the token (schema: `schemas/auth-status.schema.json`).

use serde::Serialize;

use super::store::SessionFiles;
use super::Error;
use crate::settings::Settings;

pub const SCHEMA_VERSION: u32 = 1;

/// The saved session, described.
#[derive(Debug, Clone, Serialize)]
pub struct SessionStatus {
    pub schema_version: u32,
    /// valid | expired | missing
    pub state: &'static str,
    pub tenant: String,
    pub email: Option<String>,
    pub subject: Option<String>,
    /// The JWT `exp`, RFC 3339 UTC (null for a token without one).
    pub expires_at: Option<String>,
    /// The same, seconds since the epoch.
    pub expires_at_epoch: Option<i64>,
    /// A refresh token is saved: `thoth run` and `thoth checkin` renew the session when it expires.
    pub refreshable: bool,
    pub path: String,
}

/// Describe the session in `files`.
pub fn inspect(files: &SessionFiles, tenant: &str) -> Result<SessionStatus, Error> {
    let session = files.read()?;
    let claims = session.as_ref().and_then(|s| s.claims.clone());
    let exp = claims.as_ref().and_then(|c| c.exp);
    Ok(SessionStatus {
        schema_version: SCHEMA_VERSION,
        state: match &session {
            None => "missing",
            Some(s) if s.is_expired() => "expired",
            Some(_) => "valid",
        },
        tenant: tenant.to_owned(),
        email: claims.as_ref().and_then(|c| c.email.clone()),
        subject: claims.as_ref().and_then(|c| c.sub.clone()),
        expires_at: exp.and_then(rfc3339),
        expires_at_epoch: exp,
        refreshable: session.is_some_and(|s| s.refresh.is_some()),
        path: files.jwt.display().to_string(),
    })
}

fn rfc3339(epoch: i64) -> Option<String> {
    crate::time::epoch_rfc3339(epoch)
}

pub fn render(r: &SessionStatus) -> String {
    if r.state == "missing" {
        return format!(
            "not signed in to tenant {} (no session at {}); run `thoth auth login`\n",
            r.tenant, r.path
        );
    }
    let who = r
        .email
        .as_deref()
        .or(r.subject.as_deref())
        .unwrap_or("(unknown)");
    let until = r
        .expires_at
        .as_deref()
        .unwrap_or("(no expiry in the token)");
    let state = match (r.state, r.refreshable) {
        ("expired", true) => "expired (it will be refreshed on next use)",
        ("expired", false) => "expired; run `thoth auth login`",
        _ => "valid",
    };
    format!(
        "tenant:      {}\nsigned in:   {who}\nexpires at:  {until}\nstate:       {state}\nrefreshable: {}\nsession:     {}\n",
        r.tenant, r.refreshable, r.path
    )
}

/// The session of the tenant of `settings` under `thoth_dir` (another user's, for `health --for-user`), or
/// None when no tenant, GovAPI URL or home folder names one. For `doctor` and `health`.
pub fn of_settings(
    settings: &Settings,
    thoth_dir: Option<&std::path::Path>,
) -> Option<SessionStatus> {
    let tenant = &settings.tenant_id.as_ref()?.value;
    let govapi = &settings.govapi_url.as_ref()?.value;
    let files = SessionFiles::of(thoth_dir?, tenant, govapi)?;
    inspect(&files, tenant).ok()
}

/// What is wrong with a saved session, if anything: expired with no refresh token to renew it.
pub fn problem(s: &SessionStatus) -> Option<String> {
    (s.state == "expired" && !s.refreshable).then(|| {
        format!(
            "the SSO session of tenant {} expired at {} and cannot be refreshed: thoth refuses to use it",
            s.tenant,
            s.expires_at.as_deref().unwrap_or("(unknown)")
        )
    })
}

/// One line for the human forms of `doctor` and `health`.
pub fn summary(s: &SessionStatus) -> String {
    let who = s
        .email
        .as_deref()
        .or(s.subject.as_deref())
        .unwrap_or("(unknown)");
    match s.state {
        "missing" => format!(
            "SSO session: none for tenant {} (`thoth auth login`)",
            s.tenant
        ),
        state => format!(
            "SSO session: {who}, tenant {}, {state} (until {}), refreshable: {}",
            s.tenant,
            s.expires_at.as_deref().unwrap_or("no expiry"),
            s.refreshable
        ),
    }
}
