//! The one small trait every backend implements, and what the index keeps of each secret (never its value,
//! unless the backend is the file itself).

use serde::{Deserialize, Serialize};

use super::{Error, Value};

/// Where values live. Names and creation times are always kept in `~/.thoth/secrets/` (an OS store cannot
/// list thoth's items portably); the value is kept by the backend.
pub trait Backend {
    /// `file`, `macos-keychain`, `windows-credential-manager`.
    fn name(&self) -> &'static str;
    /// Keep `value` under `name`. Returns what the index file must hold itself (the file backend: the value;
    /// an OS backend: nothing).
    fn put(&self, name: &str, value: &str) -> Result<Option<String>, Error>;
    /// The value of `name`; `inline` is what the index file held.
    fn get(&self, name: &str, inline: Option<String>) -> Result<Option<Value>, Error>;
    /// Forget `name` (nothing to do when the backend never had it).
    fn remove(&self, name: &str) -> Result<(), Error>;
}

/// One stored secret as `secrets list` shows it (schemas/secrets-list.schema.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub backend: String,
    /// RFC 3339 UTC.
    pub created: String,
}
