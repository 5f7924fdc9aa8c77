//! Renew the saved SSO session before `thoth run` or `thoth checkin` uses it: when the credential in use is
//! the session and its JWT has expired (or expires within `MARGIN_SECONDS`), exchange the refresh token at
//! the issuer's token endpoint, save the new access token and the rotated refresh token, and resolve the
//! settings again so the new token is the credential. One process at a time refreshes (the session lock);
//! one that waited finds the session already renewed and uses it. No refresh token: a refusal, so nothing
//! is ever sent with an expired token.

use super::oauth::Provider;
use super::store::SessionFiles;
use super::{jwt, Error};
use crate::settings::{credentials, Settings};

/// A token this close to its `exp` is renewed first (clock skew, and the request's own time).
pub const MARGIN_SECONDS: i64 = 30;

/// `settings` with a fresh session credential (the same settings when the session is not in use or valid).
pub fn ensure_fresh(settings: Settings) -> Result<Settings, Error> {
    let Some(path) = credentials::session_in_use(&settings) else {
        return Ok(settings);
    };
    let files = SessionFiles::at(path);
    match files.read()? {
        Some(session) if jwt::is_expired(session.claims.as_ref(), MARGIN_SECONDS) => {}
        _ => return Ok(settings),
    }
    {
        let _lock = files.lock()?;
        // Read again under the lock: another process may have renewed it meanwhile.
        let session = files.read()?.ok_or_else(|| Error::SessionExpired {
            path: files.jwt.clone(),
        })?;
        if jwt::is_expired(session.claims.as_ref(), MARGIN_SECONDS) {
            let refresh = session.refresh.ok_or_else(|| Error::SessionExpired {
                path: files.jwt.clone(),
            })?;
            let http = super::oauth::http(&settings)?;
            let tokens = super::block_on(async {
                Provider::discover(&settings, http)
                    .await?
                    .refresh(&refresh)
                    .await
            })
            .map_err(|e| Error::RefreshFailed {
                path: files.jwt.clone(),
                detail: e.to_string(),
            })?;
            files.save(&tokens.access, tokens.refresh.as_ref())?;
            tracing::info!(session = %files.jwt.display(), "renewed the expired SSO session");
        } else {
            tracing::debug!(session = %files.jwt.display(), "the SSO session was renewed by another thoth process");
        }
    }
    Ok(crate::settings::resolve::resolve(settings.inputs.clone())?)
}
