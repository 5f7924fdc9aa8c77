//! Which `env` values of a server are plain-text secrets: by name (the redaction rules of the audit log,
//! `audit::redact::is_secret_key`), by shape (`looks_like_secret`: `ghp_…`, `xoxb-…`, a URL with a password),
//! or named by the caller (`--vault KEY`). A reference is not one; thoth's own THOTH_* settings are left to
//! `thoth set-api-key`, since `thoth run` reads them before any reference could be resolved.

use serde_json::Value;

use super::referenced;

/// Is this `KEY=value` a secret in plain text?
pub fn is_plaintext_secret(key: &str, value: &str, named: &[String]) -> bool {
    if value.is_empty() || referenced(value).is_some() || key.starts_with("THOTH_") {
        return false;
    }
    named.iter().any(|k| k == key)
        || crate::audit::redact::is_secret_key(key)
        || crate::audit::redact::looks_like_secret(value)
}

/// The keys of `env` (in file order) whose string values are plain-text secrets.
pub fn plaintext_keys(env: &[(String, Value)], named: &[String]) -> Vec<String> {
    env.iter()
        .filter(|(key, value)| {
            value
                .as_str()
                .is_some_and(|v| is_plaintext_secret(key, v, named))
        })
        .map(|(key, _)| key.clone())
        .collect()
}

/// A plain-text secret in a governed server's `env` (its key, never its value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub server: String,
    pub key: String,
}

/// The plain-text secrets of the `governed` servers of the config at `path` (none when it cannot be read:
/// `status` and `health` report that on their own).
pub fn in_config(path: &std::path::Path, governed: &[String]) -> Vec<Finding> {
    use crate::wrap::entry::{self, Entry};
    let Ok(text) = crate::wrap::inspect::read_text(path) else {
        return Vec::new();
    };
    let Ok(doc) = crate::wrap::document::Document::parse(path, &text) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (server, prop) in doc.server_props() {
        let Entry::Stdio(fields) = entry::read(&prop) else {
            continue;
        };
        if !governed.contains(&server) {
            continue;
        }
        for key in plaintext_keys(&fields.env.unwrap_or_default(), &[]) {
            found.push(Finding {
                server: server.clone(),
                key,
            });
        }
    }
    found
}

/// Under THOTH_REQUIRE_VAULTED_SECRETS, the findings of the config; empty when the setting is off.
pub fn required_findings(
    settings: Option<&crate::settings::Settings>,
    path: &std::path::Path,
    governed: &[String],
) -> Vec<Finding> {
    if !required(settings) {
        return Vec::new();
    }
    in_config(path, governed)
}

/// The findings in words: `github: GITHUB_PERSONAL_ACCESS_TOKEN, slack: SLACK_BOT_TOKEN`.
pub fn describe(found: &[Finding]) -> String {
    let keys: Vec<String> = found
        .iter()
        .map(|f| format!("{}: {}", f.server, f.key))
        .collect();
    format!(
        "plain-text secrets in governed servers' env ({}), and THOTH_REQUIRE_VAULTED_SECRETS is on: run \
         `thoth wrap-config --vault-secrets` to move them to the secret store",
        keys.join(", ")
    )
}

/// Is THOTH_REQUIRE_VAULTED_SECRETS on?
pub fn required(settings: Option<&crate::settings::Settings>) -> bool {
    settings
        .and_then(|s| s.get("THOTH_REQUIRE_VAULTED_SECRETS"))
        .is_some_and(|v| crate::settings::validate::boolean(&v.value).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_checks_secrets_are_found_and_the_harmless_values_are_not() {
        let named: &[String] = &[];
        for (key, value) in [
            (
                "GITHUB_PERSONAL_ACCESS_TOKEN",
                "ghp_0123456789abcdefghijABCDEFGHIJ012345",
            ),
            (
                "DATABASE_URL",
                "postgres://app:s3cr3t-pw@db.internal:5432/prod",
            ),
            (
                "SLACK_BOT_TOKEN",
                "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx",
            ),
            ("UPSTREAM", "ghp_0123456789abcdefghijABCDEFGHIJ012345"),
        ] {
            assert!(is_plaintext_secret(key, value, named), "{key}");
        }
        for (key, value) in [
            ("LOG_LEVEL", "debug"),
            ("PATH", "/usr/local/bin:/usr/bin:/bin"),
            ("PGCONNECT_TIMEOUT", "10"),
            ("SLACK_TEAM_ID", "T01234567"),
            ("NODE_ENV", "production"),
            ("GITHUB_TOKEN", "thoth-secret:github/GITHUB_TOKEN"),
            ("THOTH_API_KEY", "tk_live_0123456789"),
        ] {
            assert!(!is_plaintext_secret(key, value, named), "{key}");
        }
        assert!(is_plaintext_secret("ODD", "x", &["ODD".into()]));
    }

    proptest! {
        // A reference is never a finding, whatever the key or name.
        #[test]
        fn references_are_never_plaintext(key in "[A-Z_]{1,20}", name in "[ -~]{0,40}") {
            let value = format!("thoth-secret:{name}");
            prop_assert!(!is_plaintext_secret(&key, &value, std::slice::from_ref(&key)));
        }
    }
}
