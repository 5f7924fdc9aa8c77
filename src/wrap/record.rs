//! What `--unwrap` cannot read back from a wrapped entry itself: whether the original had no `args` or no
//! `env` key, and which `env` entries `--env` added or replaced. Kept beside the config in
//! `<config>.thoth-wrap.json` (schemas/wrap-record.schema.json), only for servers that need it; without it,
//! unwrap still restores the command and args from the entry (and leaves `env` as it is).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::entry::Fields;
use super::Error;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(default)]
    pub args_absent: bool,
    #[serde(default)]
    pub env_absent: bool,
    #[serde(default)]
    pub env_added: Vec<String>,
    #[serde(default)]
    pub env_replaced: BTreeMap<String, Value>,
    /// The original entry's text, exactly as it was: unwrap puts it back when the restored entry means the
    /// same (so nothing else changed), giving the original bytes whatever their layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_text: Option<String>,
}

impl Record {
    /// Nothing to remember: the entry alone gives the original back.
    pub fn is_empty(&self) -> bool {
        !self.args_absent
            && self.env_added.is_empty()
            && self.env_replaced.is_empty()
            && self.original_text.is_none()
    }

    /// The original fields of a wrapped entry: `command`/`args` from after `--`, `env` with wrapping's
    /// changes taken out.
    pub fn restore(
        &self,
        command: String,
        args: Vec<String>,
        env: Option<&[(String, Value)]>,
    ) -> Fields {
        let args = if self.args_absent && args.is_empty() {
            None
        } else {
            Some(args)
        };
        let env = env.map(|entries| {
            entries
                .iter()
                .filter(|(k, _)| !self.env_added.contains(k))
                .map(|(k, v)| {
                    (
                        k.clone(),
                        self.env_replaced
                            .get(k)
                            .cloned()
                            .unwrap_or_else(|| v.clone()),
                    )
                })
                .collect::<Vec<_>>()
        });
        let env = match env {
            Some(entries) if entries.is_empty() && self.env_absent => None,
            other => other,
        };
        Fields { command, args, env }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Records {
    pub schema_version: u32,
    pub servers: BTreeMap<String, Record>,
}

/// `<config>.thoth-wrap.json` beside the config.
pub fn path_for(config: &Path) -> PathBuf {
    let mut name = config.file_name().unwrap_or_default().to_owned();
    name.push(".thoth-wrap.json");
    config.with_file_name(name)
}

/// The records beside a config; none when the file is absent. An unreadable record is reported, not trusted.
pub fn load(config: &Path) -> Result<Records, Error> {
    let path = path_for(config);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Syntax {
            path,
            detail: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Records::default()),
        Err(error) => Err(Error::Read { path, error }),
    }
}

impl Default for Records {
    fn default() -> Records {
        Records {
            schema_version: 1,
            servers: BTreeMap::new(),
        }
    }
}

impl Records {
    pub fn to_json(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(self).unwrap_or_default();
        text.push(b'\n');
        text
    }
}
