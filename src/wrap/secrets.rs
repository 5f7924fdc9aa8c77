//! thoth's own secrets inside a client config (`--embed-api-key` puts THOTH_API_KEY / THOTH_AUTH_TOKEN into
//! servers' `env`): the names that count, their values in a document, and masking them in a dry run's diff
//! (issue 12 §5). Which files hold one, read in every client's format, is `clients::private`. Only THOTH_* credentials
//! count: the user's own server tokens are theirs, kept as they were.

use super::document::Document;
use super::entry::{self, Entry};

/// What a masked secret reads as.
pub const MASK: &str = "***";

/// Is this env key one of thoth's own secrets?
pub fn is_ours(key: &str) -> bool {
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
    use std::path::Path;

    const WITH_KEY: &str = r#"{"mcpServers": {
  "a": {"command": "x", "env": {"THOTH_API_KEY": "tk_\"live\"", "GITHUB_TOKEN": "ghp_mine"}},
  "b": {"url": "https://x"}
}}"#;

    #[test]
    fn finds_and_masks_only_thoths_secrets() {
        let doc = Document::parse(Path::new("c.json"), WITH_KEY).unwrap();
        assert_eq!(values(&doc), ["tk_\"live\""]);
        let diff = mask(&format!("+ {WITH_KEY}"), &values(&doc));
        assert!(
            !diff.contains("tk_") && diff.contains(r#""THOTH_API_KEY": "***""#),
            "{diff}"
        );
    }
}
