//! Where a remote server's OAuth tokens are kept: one record per (server URL, client), in the secret store
//! (`secrets::Store`: the Keychain / Credential Manager, or `~/.thoth/secrets/` 0600 on Linux) under the name
//! `remote-oauth-<hash>/TOKENS`; when the store cannot be used, a 0600 file `~/.thoth/oauth/<hash>.json`
//! written through `home::write_file`. The record is never logged; its `Debug` masks the tokens.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use zeroize::Zeroizing;

/// What a sign-in left for later runs.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// The `resource` the tokens were issued for (RFC 8707).
    pub resource: String,
    pub issuer: String,
    pub token_endpoint: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Unix seconds; None when the server did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("resource", &self.resource)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("access_token", &"***")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Seconds before `expires_at` a token counts as expired (clock skew, the request's own time).
pub const MARGIN_SECONDS: i64 = 30;

impl Record {
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| now + MARGIN_SECONDS >= at)
    }
}

/// The tokens of one (server URL, client) pair.
pub struct TokenStore {
    thoth_dir: Option<PathBuf>,
    key: String,
}

impl TokenStore {
    /// `client`: the configured client id, or None for a dynamically registered one.
    pub fn new(thoth_dir: Option<&Path>, server_url: &str, client: Option<&str>) -> TokenStore {
        let digest = sha2::Sha256::digest(
            format!("{server_url}\n{}", client.unwrap_or("(registered)")).as_bytes(),
        );
        let key = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        TokenStore {
            thoth_dir: thoth_dir.map(Path::to_path_buf),
            key,
        }
    }

    /// The secret store's name for the record.
    pub fn secret_name(&self) -> String {
        crate::secrets::name_for(&format!("remote-oauth-{}", self.key), "TOKENS")
    }

    /// The fallback file.
    pub fn file(&self) -> Option<PathBuf> {
        self.thoth_dir
            .as_ref()
            .map(|d| d.join("oauth").join(format!("{}.json", self.key)))
    }

    pub fn load(&self) -> Option<Record> {
        let text = match self.store().map(|s| s.get(&self.secret_name())) {
            Some(Ok(Some(value))) => Some(value),
            Some(Err(err)) => {
                tracing::warn!(error = %err, "the secret store cannot be read; trying the OAuth token file");
                None
            }
            _ => None,
        }
        .or_else(|| {
            let file = self.file()?;
            std::fs::read_to_string(file).ok().map(Zeroizing::new)
        })?;
        match serde_json::from_str(&text) {
            Ok(record) => Some(record),
            Err(_) => {
                tracing::warn!("the saved OAuth tokens are not readable; a new sign-in is needed");
                None
            }
        }
    }

    /// Keep `record` (secret store first, else the 0600 file); a failure is a warning (the session goes on).
    pub fn save(&self, record: &Record) {
        let text = Zeroizing::new(serde_json::to_string(record).unwrap_or_default());
        let stored = match self.store() {
            Some(store) => match store.set(&self.secret_name(), &text) {
                Ok(()) => true,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot keep the OAuth tokens in the secret store; using a 0600 file");
                    false
                }
            },
            None => false,
        };
        if stored {
            // A stale fallback copy would outlive a rotation.
            if let Some(file) = self.file() {
                let _ = std::fs::remove_file(file);
            }
            return;
        }
        let Some(file) = self.file() else {
            tracing::warn!("no home folder: the OAuth tokens are kept for this run only");
            return;
        };
        let saved = file
            .parent()
            .map(crate::home::create_private_dir)
            .transpose()
            .map_err(|e| e.to_string())
            .and_then(|_| {
                crate::home::write_private(&file, text.as_bytes()).map_err(|e| e.to_string())
            });
        if let Err(err) = saved {
            tracing::warn!(error = %err, file = %file.display(), "cannot keep the OAuth tokens");
        }
    }

    fn store(&self) -> Option<crate::secrets::Store> {
        crate::secrets::Store::open(self.thoth_dir.as_deref()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            resource: "https://mcp.example/mcp".into(),
            issuer: "https://id.example".into(),
            token_endpoint: "https://id.example/token".into(),
            client_id: "c1".into(),
            client_secret: None,
            access_token: "at-very-secret".into(),
            refresh_token: Some("rt-very-secret".into()),
            expires_at: Some(1000),
            scope: None,
        }
    }

    #[test]
    fn records_round_trip_per_server_and_client_and_debug_masks_tokens() {
        let home = tempfile::tempdir().unwrap();
        let a = TokenStore::new(Some(home.path()), "https://mcp.example/mcp", None);
        let b = TokenStore::new(Some(home.path()), "https://mcp.example/mcp", Some("c1"));
        assert_ne!(a.secret_name(), b.secret_name());
        assert!(crate::secrets::check_name(&a.secret_name()).is_ok());
        a.save(&record());
        assert_eq!(a.load(), Some(record()));
        assert_eq!(b.load(), None);
        let shown = format!("{:?}", record());
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(record().is_expired(1000 - MARGIN_SECONDS));
        assert!(!record().is_expired(1000 - MARGIN_SECONDS - 1));
    }
}
