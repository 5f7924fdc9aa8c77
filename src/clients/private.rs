//! Which files hold one of thoth's secrets, read in every client's format (issue 15): those are written
//! 0600, backups included (`wrap::save` asks through `SaveOptions`), and an unwrap's backup keeps them masked
//! (`redact`). Here, not in `wrap`, because it reads every client's format, which is built on
//! `wrap::document`; `commands::wrap_config` and `fleet::drift` both save through it.

use std::path::Path;

use crate::wrap::document::{Document, Layout};
use crate::wrap::record::Records;
use crate::wrap::secrets::{is_ours, MASK};

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

/// Keep the unwrap records beside `config` (`<name>.thoth-wrap.json`), owned like it and 0600 when one holds
/// a secret; no records, no file.
pub fn save_records(
    config: &Path,
    records: &Records,
    new_owner: Option<&crate::platform::users::TargetUser>,
) -> Result<(), crate::wrap::Error> {
    let path = crate::wrap::record::path_for(config);
    if records.servers.is_empty() {
        return match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(crate::wrap::Error::Write { path, error }),
        };
    }
    let like = std::fs::metadata(config).ok();
    crate::wrap::save::write_as(
        &path,
        &records.to_json(),
        like.as_ref(),
        new_owner,
        record_holds_secret(records),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITH_KEY: &str = r#"{"mcpServers": {
  "a": {"command": "x", "env": {"THOTH_API_KEY": "tk_\"live\"", "GITHUB_TOKEN": "ghp_mine"}},
  "b": {"url": "https://x"}
}}"#;

    #[test]
    fn finds_and_redacts_only_thoths_secrets() {
        assert!(holds_secret(WITH_KEY.as_bytes()));
        assert!(!holds_secret(
            br#"{"mcpServers":{"a":{"command":"x","env":{"GITHUB_TOKEN":"g"}}}}"#
        ));
        assert!(holds_secret(b"{not json THOTH_API_KEY"));
        let redacted = String::from_utf8(redact(WITH_KEY.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            redacted,
            WITH_KEY.replace(r#""tk_\"live\"""#, r#""***""#),
            "only the value changes"
        );
        assert!(redact(b"{oops").is_none());
    }
}
