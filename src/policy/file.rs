//! The local policy file (DESIGN.md §3, §6): its format, its validation and its loading. It owns the text
//! and the types; what a call gets is decided in `local.rs`, lexical path containment in `under.rs`. It must
//! not guess: an unknown key, a bad glob or a relative `under` folder is an error naming the line and column.
//!
//! Where it comes from: `--policy FILE`, else a managed (MDM) policy, else `~/.thoth/policy.json`. Schema:
//! `schemas/policy.schema.json`; example: `mdm/policy.example.json`.
//!
//! ```json
//! {
//!   "version": 1,
//!   "default_mode": "block",
//!   "agents": {
//!     "filesystem": {
//!       "approved_tools": ["read_*", "list_directory"],
//!       "step_up_tools": ["write_file"],
//!       "denied_tools": ["delete_*"],
//!       "intents": { "code-review": ["read_*", "search_files"] },
//!       "arguments": { "read_*": [{ "argument": "path", "under": "/Users/alice/projects" }] }
//!     },
//!     "*": { "approved_tools": ["echo"] }
//!   }
//! }
//! ```
//!
//! Keys: `version` (required, `1`), `default_mode` (`observe|block|step_up|progressive`, used when neither
//! `--enforcement-mode` nor a managed setting names one; else `block`), `agents` (agent id or `*` -> entry),
//! and `description` / `$schema` (ignored). An entry: `approved_tools`, `step_up_tools`, `denied_tools`
//! (tool-name globs: `*` any run, `?` one character, case-sensitive), `intents` (intent -> globs),
//! `arguments` (tool glob -> constraints `{argument, under}`), `description`. Unknown keys, duplicate keys
//! and duplicate agent, intent or tool-glob keys are errors.
//!
//! Rules (applied by `LocalPolicy::from_file`):
//! - The entry is the agent id's, else `*`'s, else none. No entry (or `agents` empty) approves nothing: every
//!   call is out of scope and the mode decides. A file is a policy, so the `THOTH_ENV=dev` approve-all rule
//!   for "no policy at all" never applies to it.
//! - In order: `denied_tools` -> BLOCK; a failed argument constraint -> BLOCK; `step_up_tools` -> STEP_UP;
//!   approved -> ALLOW; anything else is out of scope and the mode decides (as with `--approved-scope`).
//! - Denied tools and argument constraints are hard rules: BLOCK in every mode, `observe` included. The mode
//!   governs what is merely unapproved; a user who may pick `--enforcement-mode observe` must not thereby
//!   lift an administrator's "never". In `observe` a step-up tool is forwarded (and logged).
//! - Approved = `approved_tools`, narrowed by the session intent: with an intent the entry's `intents` names,
//!   a tool must match both `approved_tools` and that intent's list (an intent narrows, never widens). An
//!   intent the entry does not name counts as no intent (with a warning). `--approved-scope` names (exact)
//!   are added to the approved set; step-up and denied lists still win over them.
//! - Constraints apply to every call whose tool matches the glob key (all matching constraints must hold):
//!   `argument` names a top-level argument or a nested one by a dotted path (`options.path`); `under` is one
//!   absolute folder or a list (any may match). The value must be a string, or an array of strings that are
//!   all inside; missing, any other type, or arguments that are not JSON fail. See `under.rs` for the path
//!   rules: relative values are relative to the folder, so a server that resolves them against its working
//!   directory should be started there.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{under, Error, Mode};

/// The only format version this thoth reads.
pub const VERSION: u64 = 1;
/// Larger files are refused: a policy is a few kilobytes.
pub const MAX_POLICY_BYTES: u64 = 1024 * 1024;
/// The most parts of a dotted argument path (`a.b.c` has 3).
pub const MAX_ARGUMENT_DEPTH: usize = 8;

/// A parsed, validated policy file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// The schema URL editors use; ignored.
    #[serde(rename = "$schema", default)]
    pub schema: Option<String>,
    /// Always 1.
    #[serde(deserialize_with = "version")]
    pub version: u64,
    #[serde(default)]
    pub description: Option<String>,
    /// The mode when no flag or managed setting names one.
    #[serde(default)]
    pub default_mode: Option<Mode>,
    /// Agent id (or `*`) -> its entry.
    #[serde(default, deserialize_with = "unique_map")]
    pub agents: BTreeMap<String, AgentPolicy>,
}

/// What one agent may call.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentPolicy {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub approved_tools: Vec<ToolGlob>,
    #[serde(default)]
    pub step_up_tools: Vec<ToolGlob>,
    #[serde(default)]
    pub denied_tools: Vec<ToolGlob>,
    /// Session intent -> the tools approved for it (narrowing `approved_tools`).
    #[serde(default, deserialize_with = "unique_map")]
    pub intents: BTreeMap<String, Vec<ToolGlob>>,
    /// Tool glob -> constraints on its arguments.
    #[serde(default, deserialize_with = "unique_map")]
    pub arguments: BTreeMap<ToolGlob, Vec<Constraint>>,
}

/// A tool-name glob: `*` matches any run of characters, `?` one; everything else is literal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ToolGlob(String);

/// One argument constraint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    /// The argument, a dotted path for nested ones (`options.path`).
    #[serde(deserialize_with = "argument_path")]
    pub argument: String,
    /// Absolute folders; the argument must be inside one of them.
    #[serde(deserialize_with = "folders")]
    pub under: Vec<String>,
}

impl PolicyFile {
    /// The entry for `agent_id`: its own, else `*`, else none. Returns the key that matched.
    pub fn agent(&self, agent_id: &str) -> Option<(&str, &AgentPolicy)> {
        self.agents
            .get_key_value(agent_id)
            .or_else(|| self.agents.get_key_value("*"))
            .map(|(key, entry)| (key.as_str(), entry))
    }
}

impl ToolGlob {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks a glob's text: non-empty, no whitespace, and none of the wildcard syntax we do not support
    /// (which would otherwise match literally and silently never apply).
    pub fn new(text: &str) -> Result<ToolGlob, String> {
        if text.is_empty() {
            return Err("a tool glob is empty".into());
        }
        if let Some(c) = text
            .chars()
            .find(|c| c.is_whitespace() || matches!(c, '[' | ']' | '{' | '}' | '!' | '\\'))
        {
            return Err(format!(
                "tool glob `{text}` contains {c:?}: only `*` (any run) and `?` (one character) are wildcards"
            ));
        }
        Ok(ToolGlob(text.to_owned()))
    }
}

impl fmt::Display for ToolGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ToolGlob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ToolGlob::new(&text).map_err(de::Error::custom)
    }
}

/// Read and parse the policy file at `path`.
pub fn load(path: &Path) -> Result<PolicyFile, Error> {
    let read_error = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut text = String::new();
    file.take(MAX_POLICY_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read_error)?;
    if text.len() as u64 > MAX_POLICY_BYTES {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            max_bytes: MAX_POLICY_BYTES,
        });
    }
    parse(&text, &path.display().to_string())
}

/// `load`, but a missing file is `None` (for the optional `~/.thoth/policy.json`).
pub fn load_optional(path: &Path) -> Result<Option<PolicyFile>, Error> {
    match load(path) {
        Ok(file) => Ok(Some(file)),
        Err(Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Parse policy text; `origin` (a path, or "managed policy") names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<PolicyFile, Error> {
    // MDM tools and Windows editors may write a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str(text).map_err(|e| parse_error(&e, origin))
}

fn parse_error(e: &serde_json::Error, origin: &str) -> Error {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    Error::Parse {
        origin: origin.to_owned(),
        line: e.line(),
        column: e.column(),
        message,
    }
}

fn version<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if v == VERSION {
        Ok(v)
    } else {
        Err(de::Error::custom(format!(
            "unsupported policy version {v}: this thoth reads version {VERSION}"
        )))
    }
}

fn argument_path<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let path = String::deserialize(d)?;
    if path.split('.').any(str::is_empty) {
        return Err(de::Error::custom(format!(
            "argument `{path}` is not a name or a dotted path such as `options.path`"
        )));
    }
    if path.split('.').count() > MAX_ARGUMENT_DEPTH {
        return Err(de::Error::custom(format!(
            "argument `{path}` is nested more than {MAX_ARGUMENT_DEPTH} levels deep"
        )));
    }
    Ok(path)
}

/// `"under": "/a"` or `"under": ["/a", "/b"]`: at least one folder, each absolute.
fn folders<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Folders;
    impl<'de> Visitor<'de> for Folders {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an absolute folder or a list of them")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![v.to_owned()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(folder) = seq.next_element::<String>()? {
                out.push(folder);
            }
            Ok(out)
        }
    }
    let folders = d.deserialize_any(Folders)?;
    if folders.is_empty() {
        return Err(de::Error::custom("`under` needs at least one folder"));
    }
    match folders.iter().find(|f| !under::is_absolute(f)) {
        Some(f) => Err(de::Error::custom(format!(
            "`under` folder `{f}` is not absolute (`/srv/data`, `C:\\Users\\me\\work` or `\\\\server\\share`)"
        ))),
        None => Ok(folders),
    }
}

/// A JSON object as a map that refuses duplicate keys (serde_json would keep the last one silently).
fn unique_map<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord + fmt::Display,
    V: Deserialize<'de>,
{
    struct Unique<K, V>(PhantomData<(K, V)>);
    impl<'de, K, V> Visitor<'de> for Unique<K, V>
    where
        K: Deserialize<'de> + Ord + fmt::Display,
        V: Deserialize<'de>,
    {
        type Value = BTreeMap<K, V>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<K>()? {
                if out.contains_key(&key) {
                    return Err(de::Error::custom(format!("duplicate key `{key}`")));
                }
                let value = map.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique(PhantomData))
}

#[cfg(test)]
mod tests;
