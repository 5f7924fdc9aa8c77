//! thoth's own secrets inside a client config (`--embed-api-key` puts THOTH_API_KEY / THOTH_AUTH_TOKEN into
//! servers' `env`): which files hold one (those are written 0600, backups included), masking them in a dry
//! run's diff, and taking them out of the backup `--unwrap` keeps (issue 12 §5). Only THOTH_* credentials
//! count: the user's own server tokens are theirs, kept as they were.

use std::path::Path;

use super::document::{Document, Layout};
use super::entry::{self, Entry};
use super::record::Records;

/// What a masked secret reads as.
pub const MASK: &str = "***";

pub(crate) fn is_ours(key: &str) -> bool {
    key.starts_with("THOTH_") && crate::settings::keys::is_secret_env(key)
}

/// The values of THOTH_* secrets in the servers' `env` (non-empty strings, as parsed).
pub fn values(doc: &Document) -> Vec<String> {
    let mut found = Vec::new();
    for (_, prop) in doc.server_props() {
        if let Entry::Stdio(fields) = entry::read(&prop) {
            for (key, value) in fields.env.unwrap_or_default() {
                match value {
                    serde_json::Value::String(s) if is_ours(&key) && !s.is_empty() => found.push(s),
                    _ => {}
                }
            }
        }
    }
    found
}

/// Does this config text hold a THOTH_* secret? Read in every client's format (issue 15); text no format
/// reads is judged by the key names alone (when unsure, treat it as holding one).
pub fn holds_secret(text: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(text) else {
        return true;
    };
    let mut read_by_one = false;
    for client in crate::clients::Client::ALL {
        if let Ok(parsed) = crate::clients::format(client).parse(Path::new("-"), text) {
            if !crate::clients::secret_values(&parsed).is_empty() {
                return true;
            }
            read_by_one = true;
        }
    }
    !read_by_one
        && crate::settings::keys::KEYS
            .iter()
            .filter(|k| k.is_secret())
            .any(|k| text.contains(k.name))
}

/// Does the unwrap record hold one (an `env` value `--env`/`--embed-api-key` replaced)?
pub fn record_holds_secret(records: &Records) -> bool {
    records.servers.values().any(|r| {
        r.env_replaced.keys().any(|k| is_ours(k))
            || r.original_text.as_ref().is_some_and(|text| {
                holds_secret(format!("{{\"mcpServers\": {{\"s\": {text}}}}}").as_bytes())
            })
    })
}

/// Every JSON client's servers objects, leniently (JSONC): what redaction walks.
const REDACT_LAYOUTS: [Layout; 3] = [
    Layout {
        client: "-",
        key: "mcpServers",
        projects: true,
        jsonc: true,
    },
    Layout {
        client: "-",
        key: "servers",
        projects: false,
        jsonc: true,
    },
    Layout {
        client: "-",
        key: "context_servers",
        projects: false,
        jsonc: true,
    },
];

/// The config text with every THOTH_* secret value replaced by `***`; `None` when it cannot be parsed (then
/// nothing holding it should be kept).
pub fn redact(text: &[u8]) -> Option<Vec<u8>> {
    let mut text = std::str::from_utf8(text).ok()?.to_owned();
    if Document::parse_as(Path::new("-"), &text, REDACT_LAYOUTS[0]).is_err() {
        return crate::clients::codex::redact(&text).map(String::into_bytes);
    }
    for layout in REDACT_LAYOUTS {
        let doc = Document::parse_as(Path::new("-"), &text, layout).ok()?;
        for (_, prop) in doc.server_props() {
            let Some(env) = prop.object_value().and_then(|o| o.object_value("env")) else {
                continue;
            };
            for var in env.properties() {
                let is_secret_string = var.decoded_name().is_some_and(|k| is_ours(&k))
                    && var
                        .value()
                        .and_then(|v| v.to_serde_value())
                        .is_some_and(|v| v.is_string());
                if is_secret_string {
                    var.set_value(MASK.into());
                }
            }
        }
        text = doc.to_text();
    }
    Some(text.into_bytes())
}

/// `text` (a diff) with each secret, as it is spelled inside a JSON string, replaced by `***`.
pub fn mask(text: &str, secrets: &[String]) -> String {
    let mut spelled: Vec<String> = secrets
        .iter()
        .filter_map(|s| serde_json::to_string(s).ok())
        .map(|quoted| quoted[1..quoted.len() - 1].to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    // Longest first, so a secret that contains another is masked whole.
    spelled.sort_by_key(|s| std::cmp::Reverse(s.len()));
    spelled.dedup();
    let mut out = text.to_owned();
    for secret in &spelled {
        out = out.replace(secret.as_str(), MASK);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITH_KEY: &str = r#"{"mcpServers": {
  "a": {"command": "x", "env": {"THOTH_API_KEY": "tk_\"live\"", "GITHUB_TOKEN": "ghp_mine"}},
  "b": {"url": "https://x"}
}}"#;

    #[test]
    fn finds_masks_and_redacts_only_thoths_secrets() {
        let doc = Document::parse(Path::new("c.json"), WITH_KEY).unwrap();
        assert_eq!(values(&doc), ["tk_\"live\""]);
        assert!(holds_secret(WITH_KEY.as_bytes()));
        assert!(!holds_secret(
            br#"{"mcpServers":{"a":{"command":"x","env":{"GITHUB_TOKEN":"g"}}}}"#
        ));
        assert!(holds_secret(b"{not json THOTH_API_KEY"));
        let diff = mask(&format!("+ {WITH_KEY}"), &values(&doc));
        assert!(
            !diff.contains("tk_") && diff.contains(r#""THOTH_API_KEY": "***""#),
            "{diff}"
        );
        let redacted = String::from_utf8(redact(WITH_KEY.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            redacted,
            WITH_KEY.replace(r#""tk_\"live\"""#, r#""***""#),
            "only the value changes"
        );
        assert!(redact(b"{oops").is_none());
    }
}
