//! Credentials: a `Secret` that never prints, and the chains that pick the enforcer's and GovAPI's
//! credential from explicit variables, token files, the saved admin session and the saved API key.
//!
//! Enforcer order: THOTH_RUNTIME_BEARER_TOKEN; THOTH_API_KEY (env, flag or managed); THOTH_API_KEY_FILE;
//! THOTH_AUTH_TOKEN; THOTH_AUTH_TOKEN_FILE; `~/.thoth/sessions/<tenant>--<govapi-host>--admin-token.jwt`;
//! the key saved by `thoth set-api-key` (`~/.thoth/proxy_api_key.json`). GovAPI: THOTH_GOVAPI_BEARER_TOKEN;
//! THOTH_GOVAPI_API_KEY; then the enforcer's chain. A token file may hold the raw token or a JSON session.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use super::{Error, Source, Sourced};

/// A credential value: `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How thoth authenticates to a Thoth service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `x-api-key: <key>`.
    ApiKey(Secret),
}

impl Credential {
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Bearer(_) => "bearer",
            Credential::ApiKey(_) => "api_key",
        }
    }
}

type Values = BTreeMap<&'static str, Sourced<String>>;

/// The enforcer's credential, if any is configured.
pub fn enforcer(
    values: &Values,
    thoth_dir: Option<&Path>,
    tenant: Option<&str>,
    govapi_url: Option<&str>,
) -> Result<Option<Sourced<Credential>>, Error> {
    let explicit_key = values
        .get("THOTH_API_KEY")
        .filter(|v| !matches!(v.source, Source::Profile(_)));
    let saved_key = values
        .get("THOTH_API_KEY")
        .filter(|v| matches!(v.source, Source::Profile(_)));
    if let Some(v) = values.get("THOTH_RUNTIME_BEARER_TOKEN") {
        return Ok(Some(secret(v, Credential::Bearer)));
    }
    if let Some(v) = explicit_key {
        return Ok(Some(secret(v, Credential::ApiKey)));
    }
    if let Some(v) = values.get("THOTH_API_KEY_FILE") {
        let key = read_token_file(
            "THOTH_API_KEY_FILE",
            &v.value,
            &["api_key", "apiKey", "key"],
        )?;
        return Ok(Some(Sourced::new(
            Credential::ApiKey(key),
            v.source.clone(),
        )));
    }
    if let Some(v) = values.get("THOTH_AUTH_TOKEN") {
        return Ok(Some(secret(v, Credential::Bearer)));
    }
    if let Some(v) = values.get("THOTH_AUTH_TOKEN_FILE") {
        let token = read_token_file("THOTH_AUTH_TOKEN_FILE", &v.value, TOKEN_FIELDS)?;
        return Ok(Some(Sourced::new(
            Credential::Bearer(token),
            v.source.clone(),
        )));
    }
    if let Some(session) = admin_session_path(thoth_dir, tenant, govapi_url) {
        if session.is_file() {
            let path = session.display().to_string();
            let token = read_token_file("the saved admin session", &path, TOKEN_FIELDS)?;
            return Ok(Some(Sourced::new(
                Credential::Bearer(token),
                Source::Profile(path),
            )));
        }
    }
    Ok(saved_key.map(|v| secret(v, Credential::ApiKey)))
}

/// GovAPI's credential: its own variables, else the enforcer's.
pub fn govapi(
    values: &Values,
    enforcer: Option<&Sourced<Credential>>,
) -> Option<Sourced<Credential>> {
    if let Some(v) = values.get("THOTH_GOVAPI_BEARER_TOKEN") {
        return Some(secret(v, Credential::Bearer));
    }
    if let Some(v) = values.get("THOTH_GOVAPI_API_KEY") {
        return Some(secret(v, Credential::ApiKey));
    }
    enforcer.cloned()
}

pub(crate) const TOKEN_FIELDS: &[&str] =
    &["token", "access_token", "accessToken", "id_token", "jwt"];

fn secret(v: &Sourced<String>, make: fn(Secret) -> Credential) -> Sourced<Credential> {
    Sourced::new(make(Secret::new(v.value.trim())), v.source.clone())
}

/// `~/.thoth/sessions/<tenant>--<govapi-host>--admin-token.jwt` (DESIGN.md §6).
pub fn admin_session_path(
    thoth_dir: Option<&Path>,
    tenant: Option<&str>,
    govapi_url: Option<&str>,
) -> Option<std::path::PathBuf> {
    let host = url::Url::parse(govapi_url?).ok()?.host_str()?.to_owned();
    Some(
        crate::platform::paths::sessions_dir(thoth_dir?)
            .join(format!("{}--{host}--admin-token.jwt", tenant?)),
    )
}

/// The saved admin session's path, when the enforcer's or GovAPI's credential is read from it (so an
/// expired session must be renewed before either is used: `auth::refresh`).
pub fn session_in_use(settings: &super::Settings) -> Option<std::path::PathBuf> {
    let session = admin_session_path(
        settings.thoth_dir.as_deref(),
        settings.tenant_id.as_ref().map(|t| t.value.as_str()),
        settings.govapi_url.as_ref().map(|u| u.value.as_str()),
    )?;
    let source = Source::Profile(session.display().to_string());
    [&settings.enforcer_credential, &settings.govapi_credential]
        .into_iter()
        .flatten()
        .any(|c| c.source == source)
        .then_some(session)
}

/// A token file: the raw token, or a JSON object with the token under one of `fields`.
fn read_token_file(name: &'static str, path: &str, fields: &[&str]) -> Result<Secret, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::File {
        name,
        path: path.to_owned(),
        error: e.to_string(),
    })?;
    token_from_text(&text, fields).ok_or_else(|| Error::File {
        name,
        path: path.to_owned(),
        error: format!("no token in it (expected the raw token, or JSON with one of {fields:?})"),
    })
}

pub(crate) fn token_from_text(text: &str, fields: &[&str]) -> Option<Secret> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(trimmed).ok()?;
        return fields.iter().find_map(|f| {
            object
                .get(*f)?
                .as_str()
                .filter(|t| !t.trim().is_empty())
                .map(|t| Secret::new(t.trim()))
        });
    }
    (!trimmed.is_empty() && !trimmed.contains(char::is_whitespace)).then(|| Secret::new(trimmed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let c = Credential::Bearer(Secret::new("tok-123"));
        assert_eq!(format!("{c:?}"), "Bearer(***)");
        assert_eq!(Secret::new("x").to_string(), "***");
    }

    #[test]
    fn token_files_hold_raw_tokens_or_json_sessions() {
        assert_eq!(
            token_from_text("  eyJ.abc.def\n", TOKEN_FIELDS)
                .unwrap()
                .expose(),
            "eyJ.abc.def"
        );
        assert_eq!(
            token_from_text(r#"{"access_token":"t1","expires_in":3}"#, TOKEN_FIELDS)
                .unwrap()
                .expose(),
            "t1"
        );
        assert_eq!(
            token_from_text(r#"{"api_key":"k1","key_id":"id"}"#, &["api_key"])
                .unwrap()
                .expose(),
            "k1"
        );
        assert!(token_from_text(r#"{"other":"x"}"#, TOKEN_FIELDS).is_none());
        assert!(token_from_text("two words", TOKEN_FIELDS).is_none());
        assert!(token_from_text("", TOKEN_FIELDS).is_none());
    }

    #[test]
    fn admin_session_path_is_named_by_tenant_and_govapi_host() {
        let p = admin_session_path(
            Some(Path::new("/h/.thoth")),
            Some("acme"),
            Some("https://grid.acme.example.com"),
        )
        .unwrap();
        assert_eq!(
            p,
            Path::new("/h/.thoth/sessions/acme--grid.acme.example.com--admin-token.jwt")
        );
        assert!(admin_session_path(Some(Path::new("/h")), None, Some("https://x.com")).is_none());
    }
}
