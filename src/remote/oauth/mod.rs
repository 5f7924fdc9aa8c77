//! OAuth 2.1 for remote MCP servers (MCP authorization, 2025-06-18), behind `remote::auth::Authorizer`.
//! On a 401: the kept token (refreshed first when it is about to expire); when the server refused the token
//! it was given, the refresh grant; then a browser sign-in (discovery, registration, PKCE, `resource`), only
//! where a browser can open. Tokens live in `store`; nothing here logs a token.
//! discover (401 -> authorization server) | flow (registration, code + PKCE, refresh) | store (tokens kept).

pub mod discover;
pub mod flow;
pub mod store;

use std::path::PathBuf;

use tokio::sync::Mutex;

use super::auth::{AuthError, AuthFuture, Authorizer, Challenge};
use store::{Record, TokenStore};

/// What the authorizer is built from (resolved once, at start).
pub struct Config {
    /// The hardened client with the authorization server's timeouts.
    pub http: reqwest::Client,
    pub thoth_dir: Option<PathBuf>,
    /// `--oauth-client-id`: a client registered at the authorization server (else dynamic registration).
    pub client_id: Option<String>,
    /// Why no browser sign-in can happen here (None: it can).
    pub no_browser: Option<String>,
    /// Starts the browser on a URL.
    pub open: fn(&str) -> std::io::Result<()>,
}

pub struct OAuth {
    config: Config,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The record in use (loaded from the store on the first 401).
    current: Option<Record>,
    loaded: bool,
    /// The access token last handed to the bridge: a 401 after it means the server refused it.
    given: Option<String>,
}

impl OAuth {
    pub fn new(config: Config) -> OAuth {
        OAuth {
            config,
            state: Mutex::new(State::default()),
        }
    }

    async fn authorize(&self, challenge: &Challenge) -> Result<Option<String>, AuthError> {
        let server = url::Url::parse(&challenge.url).map_err(|e| AuthError {
            message: format!("its URL is not valid: {e}"),
            hint: None,
        })?;
        let tokens = TokenStore::new(
            self.config.thoth_dir.as_deref(),
            &challenge.url,
            self.config.client_id.as_deref(),
        );
        let mut state = self.state.lock().await;
        if !state.loaded {
            state.loaded = true;
            state.current = tokens.load();
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if let Some(current) = state.current.clone() {
            let bearer = format!("Bearer {}", current.access_token);
            let refused = challenge.sent.as_deref() == Some(bearer.as_str());
            if challenge.sent.is_some() && !refused && state.given.is_some() {
                // Another request's 401 already replaced the token this one carried.
                return Ok(Some(bearer));
            }
            if !refused && !current.is_expired(now) {
                tracing::debug!(url = %challenge.url, "using the kept OAuth token");
                return Ok(Some(give(&mut state, current)));
            }
            if current.refresh_token.is_some() {
                match flow::refresh(&self.config.http, &current).await {
                    Ok(fresh) => {
                        tracing::info!(url = %challenge.url, "refreshed the OAuth token of the remote MCP server");
                        tokens.save(&fresh);
                        return Ok(Some(give(&mut state, fresh)));
                    }
                    Err(why) => {
                        tracing::warn!(url = %challenge.url, "the OAuth refresh failed ({why}); a new sign-in is needed")
                    }
                }
            }
        }
        let found = match discover::discover(&self.config.http, &server, &challenge.www_authenticate).await {
            Ok(found) => found,
            // A server that offers no OAuth: the plain 401 stands (with why, for the log).
            Err(discover::Failed::NotOffered(why)) => {
                tracing::info!(url = %challenge.url, "no OAuth sign-in: {why}");
                return Ok(None);
            }
            Err(discover::Failed::Broken(why)) => {
                return Err(AuthError {
                    message: format!("its OAuth sign-in cannot be used: {why}"),
                    hint: Some("tell the server's operator; meanwhile pass --header 'Authorization: Bearer <token>'".into()),
                })
            }
        };
        if let Some(why) = &self.config.no_browser {
            return Err(AuthError {
                message: format!(
                    "it needs an OAuth sign-in at {} and no browser sign-in can run here ({why})",
                    found.issuer
                ),
                hint: Some(sign_in_hint(&challenge.url)),
            });
        }
        let record = flow::authorize(
            &self.config.http,
            &challenge.url,
            &found,
            self.config.client_id.as_deref(),
            self.config.open,
        )
        .await
        .map_err(|why| AuthError {
            message: format!(
                "the OAuth sign-in at {} did not complete: {why}",
                found.issuer
            ),
            hint: Some(sign_in_hint(&challenge.url)),
        })?;
        tokens.save(&record);
        crate::output::message(&format!(
            "signed in to the remote MCP server {}",
            challenge.url
        ));
        Ok(Some(give(&mut state, record)))
    }
}

fn give(state: &mut State, record: Record) -> String {
    let value = format!("Bearer {}", record.access_token);
    state.given = Some(record.access_token.clone());
    state.current = Some(record);
    value
}

fn sign_in_hint(url: &str) -> String {
    format!(
        "sign in once where a browser can open (run the MCP client on a desktop session, or set BROWSER; unset THOTH_OAUTH_NONINTERACTIVE): the token is then kept for {url} and refreshed; or pass --header 'Authorization: Bearer <token>'"
    )
}

impl Authorizer for OAuth {
    fn on_unauthorized<'a>(&'a self, challenge: &'a Challenge) -> AuthFuture<'a> {
        Box::pin(self.authorize(challenge))
    }
}

/// Why a browser sign-in cannot run, from the environment: THOTH_OAUTH_NONINTERACTIVE set (not `0`/`false`),
/// or (Linux and BSD) no `BROWSER`, `DISPLAY` nor `WAYLAND_DISPLAY`.
pub fn no_browser(env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(v) = set("THOTH_OAUTH_NONINTERACTIVE") {
        if !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off"
        ) {
            return Some("THOTH_OAUTH_NONINTERACTIVE is set".into());
        }
    }
    let headless = cfg!(all(unix, not(target_os = "macos")))
        && set("BROWSER").is_none()
        && set("DISPLAY").is_none()
        && set("WAYLAND_DISPLAY").is_none();
    headless.then(|| "no BROWSER, DISPLAY or WAYLAND_DISPLAY".into())
}

/// The authorizer `thoth run --url` uses: OAuth 2.1 (`remote::oauth`), with the authorization server's own
/// HTTP client (the hardened one, its timeouts). Without that client, only the static headers.
pub fn for_run(
    settings: &crate::settings::Settings,
    client_id: Option<&str>,
) -> Box<dyn Authorizer> {
    let http = match crate::auth::oauth::http(settings) {
        Ok(http) => http,
        Err(err) => {
            tracing::warn!(error = %err, "no OAuth sign-in for the remote server: its HTTP client cannot be built");
            return Box::new(super::auth::NoAuth);
        }
    };
    Box::new(OAuth::new(Config {
        http,
        thoth_dir: settings.thoth_dir.clone(),
        client_id: client_id
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        no_browser: no_browser(|name| std::env::var(name).ok()),
        open: crate::platform::opener::open,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_sign_in_runs_only_where_one_can_open() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(no_browser(env(&[
            ("BROWSER", "firefox"),
            ("THOTH_OAUTH_NONINTERACTIVE", "1")
        ]))
        .is_some());
        assert!(no_browser(env(&[
            ("BROWSER", "firefox"),
            ("THOTH_OAUTH_NONINTERACTIVE", "false")
        ]))
        .is_none());
        assert!(no_browser(env(&[("BROWSER", "firefox")])).is_none());
        if cfg!(all(unix, not(target_os = "macos"))) {
            assert!(no_browser(env(&[])).is_some());
            assert!(no_browser(env(&[("WAYLAND_DISPLAY", "wayland-0")])).is_none());
        }
    }
}
