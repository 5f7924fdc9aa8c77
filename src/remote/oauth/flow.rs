//! The grants against the remote server's authorization server: dynamic client registration (RFC 7591) when
//! no client id is configured, the authorization code with PKCE S256 over the loopback redirect of
//! `auth::callback` (the URL on stderr and in the browser, never on stdout), and the refresh grant; every
//! authorization and token request carries `resource` (RFC 8707). Token requests go through the `oauth2`
//! crate over the hardened client; their errors never hold a token.

use std::time::Duration;

use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, PkceCodeChallenge, RedirectUrl,
    RefreshToken, TokenResponse, TokenUrl,
};
use serde::Deserialize;

use super::discover::Found;
use super::store::Record;
use crate::auth::callback::{Callback, Outcome};

/// Longest wait for the browser to come back (an MCP client waits for initialize about as long).
pub const CALLBACK_TIMEOUT: Duration = Duration::from_secs(180);

/// The client thoth signs in as.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: Option<String>,
}

#[derive(Deserialize)]
struct Registered {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
}

/// RFC 7591: register thoth as a native public client with this redirect URI.
pub async fn register(
    http: &reqwest::Client,
    endpoint: &str,
    redirect_uri: &str,
) -> Result<Client, String> {
    let body = serde_json::json!({
        "client_name": "thoth",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    });
    let response = http
        .post(endpoint)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| {
            format!(
                "the client registration at {endpoint} failed: {}",
                crate::net::describe(&e)
            )
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "the client registration at {endpoint} was refused (HTTP {})",
            status.as_u16()
        ));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| crate::net::describe(&e))?;
    let registered: Registered = serde_json::from_slice(&bytes).map_err(|_| {
        format!("the client registration at {endpoint} answered without a client_id")
    })?;
    if registered.client_id.trim().is_empty() {
        return Err(format!(
            "the client registration at {endpoint} gave an empty client_id"
        ));
    }
    Ok(Client {
        id: registered.client_id,
        secret: registered.client_secret.filter(|s| !s.is_empty()),
    })
}

fn oauth_client(
    client: &Client,
    token_endpoint: &str,
) -> Result<
    BasicClient<
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    String,
> {
    let token_url = TokenUrl::new(token_endpoint.to_owned())
        .map_err(|e| format!("the token_endpoint is not a URL: {e}"))?;
    let mut c = BasicClient::new(ClientId::new(client.id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(token_url);
    if let Some(secret) = &client.secret {
        c = c.set_client_secret(ClientSecret::new(secret.clone()));
    }
    Ok(c)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn record(
    found_issuer: &str,
    token_endpoint: &str,
    resource: &str,
    client: &Client,
    scope: Option<String>,
    response: &BasicTokenResponse,
    old_refresh: Option<&str>,
) -> Record {
    Record {
        resource: resource.to_owned(),
        issuer: found_issuer.to_owned(),
        token_endpoint: token_endpoint.to_owned(),
        client_id: client.id.clone(),
        client_secret: client.secret.clone(),
        access_token: response.access_token().secret().trim().to_owned(),
        refresh_token: response
            .refresh_token()
            .map(|r| r.secret().trim().to_owned())
            .filter(|r| !r.is_empty())
            .or_else(|| old_refresh.map(str::to_owned)),
        expires_at: response
            .expires_in()
            .map(|d| now() + i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)),
        scope,
    }
}

/// The browser sign-in. `open` starts the browser on the URL (`platform::opener::open` in thoth).
pub async fn authorize(
    http: &reqwest::Client,
    given: &str,
    found: &Found,
    configured: Option<&str>,
    open: fn(&str) -> std::io::Result<()>,
) -> Result<Record, String> {
    let authorization_endpoint = found
        .metadata
        .authorization_endpoint
        .clone()
        .unwrap_or_default();
    let callback = Callback::bind().await.map_err(|e| e.to_string())?;
    let redirect_uri = callback.redirect_uri();
    let client = match (configured, &found.metadata.registration_endpoint) {
        (Some(id), _) => Client {
            id: id.to_owned(),
            secret: None,
        },
        (None, Some(endpoint)) => register(http, endpoint, &redirect_uri).await?,
        (None, None) => {
            return Err(format!(
                "its authorization server {} offers no dynamic client registration; pass --oauth-client-id with a client id registered there (redirect http://127.0.0.1/callback, any port)",
                found.issuer
            ))
        }
    };
    // Fresh per sign-in from the OS CSPRNG: a 43-character verifier, a 22-character state.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = oauth2::CsrfToken::new_random();
    let mut url = url::Url::parse(&authorization_endpoint)
        .map_err(|e| format!("the authorization_endpoint is not a URL: {e}"))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &client.id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", state.secret())
            .append_pair("resource", &found.resource);
        if let Some(scope) = &found.scope {
            q.append_pair("scope", scope);
        }
    }
    crate::output::message(&format!(
        "the remote MCP server {given} asks for a sign-in: open this URL in your browser (waiting up to {} s for it to come back to {redirect_uri}):\n\n    {url}\n",
        CALLBACK_TIMEOUT.as_secs()
    ));
    if let Err(err) = open(url.as_str()) {
        return Err(format!(
            "no browser could be opened for the sign-in ({err})"
        ));
    }
    let code = match callback
        .wait(state.secret(), CALLBACK_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?
    {
        Outcome::Code(code) => code,
        Outcome::Refused(why) => return Err(format!("the sign-in was refused: {why}")),
    };
    let response = oauth_client(&client, &found.metadata.token_endpoint)?
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri).map_err(|e| format!("bad redirect URI: {e}"))?,
        )
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .add_extra_param("resource", found.resource.clone())
        .request_async(http)
        .await
        .map_err(|e| crate::auth::oauth::token_error("code exchange", e).to_string())?;
    Ok(record(
        &found.issuer,
        &found.metadata.token_endpoint,
        &found.resource,
        &client,
        found.scope.clone(),
        &response,
        None,
    ))
}

/// `grant_type=refresh_token` for `saved`; the new record (the refresh token kept when not rotated).
pub async fn refresh(http: &reqwest::Client, saved: &Record) -> Result<Record, String> {
    let Some(refresh_token) = &saved.refresh_token else {
        return Err("no refresh token is kept".into());
    };
    let client = Client {
        id: saved.client_id.clone(),
        secret: saved.client_secret.clone(),
    };
    let response = oauth_client(&client, &saved.token_endpoint)?
        .exchange_refresh_token(&RefreshToken::new(refresh_token.clone()))
        .add_extra_param("resource", saved.resource.clone())
        .request_async(http)
        .await
        .map_err(|e| crate::auth::oauth::token_error("refresh", e).to_string())?;
    Ok(record(
        &saved.issuer,
        &saved.token_endpoint,
        &saved.resource,
        &client,
        saved.scope.clone(),
        &response,
        Some(refresh_token),
    ))
}
