//! The OAuth client pieces over the `oauth2` crate: the public client `THOTH_AUTH_CLIENT_ID` at the
//! discovered endpoints, the token exchanges (code + PKCE, device code, refresh) and RFC 7009 revocation.
//! Requests go through the hardened client (`net`: rustls, CA bundle, pins, no redirects). Errors keep the
//! server's error code and description but never a response body (it may hold a token).

use std::time::Duration;

use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::{
    AuthType, ClientId, ErrorResponse, RefreshToken, RequestTokenError, StandardErrorResponse,
    TokenResponse, TokenUrl,
};

use super::metadata::Metadata;
use super::Error;
use crate::settings::{Secret, Settings};

/// THOTH_AUTH_CLIENT_ID when unset.
pub const DEFAULT_CLIENT_ID: &str = "thoth-cli";
/// Scopes asked for (the issuer may grant fewer).
pub const SCOPES: &[&str] = &["openid", "email", "offline_access"];
/// Each request to the authorization server (the device flow polls many times).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The tokens an exchange returned.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: Secret,
    pub refresh: Option<Secret>,
}

impl Tokens {
    pub fn from_response(response: &BasicTokenResponse) -> Tokens {
        Tokens {
            access: Secret::new(response.access_token().secret().trim()),
            refresh: response
                .refresh_token()
                .map(|r| Secret::new(r.secret().trim()))
                .filter(|r| !r.expose().is_empty()),
        }
    }
}

/// One authorization server, as thoth talks to it.
#[derive(Debug, Clone)]
pub struct Provider {
    pub issuer: String,
    pub client_id: String,
    pub metadata: Metadata,
    pub http: reqwest::Client,
}

/// The issuer for `settings`: THOTH_AUTH_ISSUER (flag, env or managed), else the GovAPI URL.
pub fn issuer(settings: &Settings) -> Option<String> {
    settings
        .get("THOTH_AUTH_ISSUER")
        .map(|v| v.value.clone())
        .or_else(|| settings.govapi_url.as_ref().map(|v| v.value.clone()))
}

/// The hardened HTTP client with the timeouts of the authorization server's requests.
pub fn http(settings: &Settings) -> Result<reqwest::Client, Error> {
    let timeouts = crate::net::Timeouts {
        connect: crate::net::CONNECT_TIMEOUT,
        total: REQUEST_TIMEOUT,
        stall: None,
    };
    Ok(crate::net::NetClient::new(settings, timeouts)?
        .http()
        .clone())
}

impl Provider {
    /// Discover the issuer of `settings`.
    pub async fn discover(settings: &Settings, http: reqwest::Client) -> Result<Provider, Error> {
        let issuer = issuer(settings).ok_or(Error::NoIssuer)?;
        let metadata = super::metadata::discover(&http, &issuer).await?;
        let client_id = settings
            .get("THOTH_AUTH_CLIENT_ID")
            .map(|v| v.value.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_owned());
        Ok(Provider {
            issuer,
            client_id,
            metadata,
            http,
        })
    }

    pub fn token_url(&self) -> Result<TokenUrl, Error> {
        TokenUrl::new(self.metadata.token_endpoint.clone())
            .map_err(|e| self.bad("token_endpoint", e))
    }

    pub fn bad(&self, name: &str, e: impl std::fmt::Display) -> Error {
        Error::Metadata {
            url: self.issuer.clone(),
            reason: format!("its {name} is not a URL: {e}"),
        }
    }

    /// The client with only the token endpoint set (client_id in the form: a public client).
    pub fn client(
        &self,
    ) -> Result<
        oauth2::basic::BasicClient<
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        Error,
    > {
        Ok(BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(self.token_url()?))
    }

    /// `grant_type=refresh_token`: the new access token, and the rotated refresh token (or the same one,
    /// when the issuer does not rotate).
    pub async fn refresh(&self, refresh: &Secret) -> Result<Tokens, Error> {
        let token = RefreshToken::new(refresh.expose().to_owned());
        let response = self
            .client()?
            .exchange_refresh_token(&token)
            .request_async(&self.http)
            .await
            .map_err(|e| token_error("refresh", e))?;
        let mut tokens = Tokens::from_response(&response);
        if tokens.refresh.is_none() {
            tokens.refresh = Some(refresh.clone());
        }
        Ok(tokens)
    }

    /// RFC 7009: revoke `token` (`hint`: refresh_token | access_token). A plain form POST: the `oauth2`
    /// crate refuses http revocation endpoints, and a loopback issuer is allowed here as everywhere.
    pub async fn revoke(&self, token: &Secret, hint: &str) -> Result<(), Error> {
        let Some(url) = &self.metadata.revocation_endpoint else {
            return Ok(());
        };
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token.expose())
            .append_pair("token_type_hint", hint)
            .append_pair("client_id", &self.client_id)
            .finish();
        let response = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| Error::Network {
                step: "revocation",
                detail: crate::net::describe(&e),
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(Error::Server {
            step: "revocation",
            detail: format!("HTTP {}", status.as_u16()),
        })
    }
}

/// A token request's failure, in words that hold no token: the server's error code and description, or
/// what failed on the way.
pub fn token_error<RE, T>(
    step: &'static str,
    err: RequestTokenError<RE, StandardErrorResponse<T>>,
) -> Error
where
    RE: std::error::Error + 'static,
    T: oauth2::ErrorResponseType + AsRef<str> + 'static,
    StandardErrorResponse<T>: ErrorResponse,
{
    match err {
        RequestTokenError::ServerResponse(response) => {
            let code = response.error().as_ref().to_owned();
            let description = response
                .error_description()
                .map(|d| format!(": {}", d.chars().take(300).collect::<String>()))
                .unwrap_or_default();
            match code.as_str() {
                "access_denied" => Error::Denied(format!("{code}{description}")),
                "expired_token" => Error::CodeExpired(format!("{code}{description}")),
                _ => Error::Server {
                    step,
                    detail: format!("{code}{description}"),
                },
            }
        }
        RequestTokenError::Request(e) => {
            let mut cause: &dyn std::error::Error = &e;
            let mut detail = e.to_string();
            while let Some(next) = cause.source() {
                detail = next.to_string();
                cause = next;
            }
            Error::Network { step, detail }
        }
        RequestTokenError::Parse(e, _body) => Error::Server {
            step,
            detail: format!("the answer is not a token response ({})", e.path()),
        },
        RequestTokenError::Other(detail) => Error::Server { step, detail },
    }
}
