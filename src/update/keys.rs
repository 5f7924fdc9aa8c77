//! The release public keys thoth trusts: the list compiled in from `installers/release-keys.pub` (several, so
//! keys can rotate), plus THOTH_UPDATE_PUBKEY in dev only (checked by `config`). An empty list refuses every
//! update with `Error::NoKeys`: a build without the organisation's key must never install anything.

use minisign_verify::PublicKey;

use super::Error;

/// The committed key list, read at build time.
pub const COMPILED_IN: &str = include_str!("../../installers/release-keys.pub");

#[derive(Debug, Clone)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
}

impl TrustedKeys {
    /// The compiled-in keys plus `extra` (THOTH_UPDATE_PUBKEY, already allowed by the caller).
    pub fn load(extra: Option<&str>) -> Result<TrustedKeys, Error> {
        let mut keys = parse_list(COMPILED_IN);
        if let Some(text) = extra {
            let line = key_lines(text).next().unwrap_or_default();
            let key = PublicKey::from_base64(line).map_err(|e| Error::BadPubkey {
                reason: e.to_string(),
            })?;
            keys.push(key);
        }
        Ok(TrustedKeys { keys })
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }
}

/// The keys of a key list file; lines that are not keys are skipped with a warning (a broken line must not
/// hide the others, and it never adds trust).
pub fn parse_list(text: &str) -> Vec<PublicKey> {
    key_lines(text)
        .filter_map(|line| match PublicKey::from_base64(line) {
            Ok(key) => Some(key),
            Err(err) => {
                tracing::warn!(line, error = %err, "ignoring a line of the release key list that is not a minisign public key");
                None
            }
        })
        .collect()
}

fn key_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("untrusted comment:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // A minisign public key (from minisign's own documentation).
    const KEY: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";

    #[test]
    fn the_list_skips_comments_and_broken_lines() {
        let text =
            format!("# comment\n\nuntrusted comment: minisign public key\n{KEY}\nnot-a-key\n");
        assert_eq!(parse_list(&text).len(), 1);
        assert!(parse_list("# only comments\n").is_empty());
    }

    #[test]
    fn an_extra_key_must_be_a_key() {
        let with = TrustedKeys::load(Some(KEY)).unwrap();
        assert_eq!(with.keys().len(), parse_list(COMPILED_IN).len() + 1);
        assert!(matches!(
            TrustedKeys::load(Some("RWnope")),
            Err(Error::BadPubkey { .. })
        ));
    }
}
