//! The sign-in of `thoth auth login` (`commands::auth::login`): sign in at the tenant's issuer and save the session. Default: authorization code with
//! PKCE S256 (RFC 7636) over the loopback redirect (RFC 8252), the URL printed on stderr and opened in the
//! browser; `--device`: the device authorization grant (RFC 8628). Nothing is saved unless the sign-in
//! completes, so a failed login leaves the previous session as it was.

use std::time::Duration;

use oauth2::{
    AuthUrl, AuthorizationCode, CsrfToken, DeviceAuthorizationUrl, PkceCodeChallenge, RedirectUrl,
    Scope, StandardDeviceAuthorizationResponse,
};

use super::callback::{Callback, Outcome};
use super::oauth::{self, Provider, Tokens};
use super::Error;

/// Longest wait for the browser to come back.
pub const CALLBACK_TIMEOUT: Duration = Duration::from_secs(300);

/// Authorization code + PKCE S256 over the loopback redirect.
pub async fn code(
    provider: &Provider,
    login_hint: Option<&str>,
    open: bool,
) -> Result<Tokens, Error> {
    let authorization_endpoint = provider
        .metadata
        .authorization_endpoint
        .clone()
        .ok_or(Error::NoEndpoint("authorization_endpoint", "--device"))?;
    let callback = Callback::bind().await?;
    let redirect_uri = callback.redirect_uri();
    let client = provider
        .client()?
        .set_auth_uri(
            AuthUrl::new(authorization_endpoint)
                .map_err(|e| provider.bad("authorization_endpoint", e))?,
        )
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri.clone()).map_err(|e| provider.bad("redirect_uri", e))?,
        );
    // Fresh per login, from the OS CSPRNG (the crate's `rand`): a 43-character verifier and 22-character state.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(oauth::SCOPES.iter().map(|s| Scope::new((*s).to_owned())))
        .set_pkce_challenge(challenge);
    if let Some(hint) = login_hint {
        request = request.add_extra_param("login_hint", hint);
    }
    let (url, state) = request.url();
    crate::output::message(&format!(
        "sign in with your browser at this URL (waiting up to {} s for it to come back to {redirect_uri}):\n\n    {url}\n",
        CALLBACK_TIMEOUT.as_secs()
    ));
    if open {
        if let Err(err) = crate::platform::opener::open(url.as_str()) {
            tracing::warn!(error = %err, "could not open a browser; open the URL above yourself");
        }
    }
    let code = match callback.wait(state.secret(), CALLBACK_TIMEOUT).await? {
        Outcome::Code(code) => code,
        Outcome::Refused(why) if why.starts_with("access_denied") => {
            return Err(Error::Denied(why))
        }
        Outcome::Refused(why) => {
            return Err(Error::Server {
                step: "authorization",
                detail: why,
            })
        }
    };
    let response = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&provider.http)
        .await
        .map_err(|e| oauth::token_error("code exchange", e))?;
    Ok(Tokens::from_response(&response))
}

/// The device authorization grant: show the code, poll the token endpoint.
pub async fn device(provider: &Provider) -> Result<Tokens, Error> {
    let endpoint = provider
        .metadata
        .device_authorization_endpoint
        .clone()
        .ok_or(Error::NoEndpoint(
            "device_authorization_endpoint",
            "the browser sign-in (without --device)",
        ))?;
    let client = provider.client()?.set_device_authorization_url(
        DeviceAuthorizationUrl::new(endpoint)
            .map_err(|e| provider.bad("device_authorization_endpoint", e))?,
    );
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(oauth::SCOPES.iter().map(|s| Scope::new((*s).to_owned())))
        .request_async(&provider.http)
        .await
        .map_err(|e| oauth::token_error("device authorization", e))?;
    let uri = details
        .verification_uri_complete()
        .map(|u| u.secret().to_owned())
        .unwrap_or_else(|| details.verification_uri().to_string());
    crate::output::message(&format!(
        "to sign in, open {uri}\n       and enter the code: {}\n       (waiting up to {} s)",
        details.user_code().secret(),
        details.expires_in().as_secs()
    ));
    // RFC 8628 §3.5: wait `interval` before each poll, the first included.
    tokio::time::sleep(details.interval()).await;
    let response = client
        .exchange_device_access_token(&details)
        .request_async(&provider.http, tokio::time::sleep, None)
        .await
        .map_err(|e| oauth::token_error("device token", e))?;
    Ok(Tokens::from_response(&response))
}
