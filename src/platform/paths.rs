//! Where thoth keeps its files. The `~/.thoth` layout, documented once (DESIGN.md §6):
//!
//! ```text
//! ~/.thoth/                          0700
//!   config.json                      profile settings (flat object of setting names), optional
//!   policy.json                      local policy, optional
//!   intent_map.json                  {server name: session intent}, created as {}
//!   proxy_api_key.json               {api_key, key_id}, 0600
//!   sessions/<tenant>--<govapi-host>--admin-token.jwt   0600
//!   state/endpoint.json              last GovAPI results, for `thoth health`
//!   state/update.json                last `thoth update` attempt (update::state), 0600
//!   audit/                           0700
//!     audit-<start UTC>-<pid>.jsonl  one hash-chained decision log per `thoth run` process, 0600
//!   spool/                           0700
//!     <20-digit sequence>.json       one batch of events waiting for the enforcer, 0600
//!   logs/thoth.log
//! ```

use std::path::{Path, PathBuf};

pub fn thoth_dir(home: &Path) -> PathBuf {
    home.join(".thoth")
}

/// `~/.thoth/audit`: the hash-chained decision logs (`audit::log`).
pub fn audit_dir(thoth_dir: &Path) -> PathBuf {
    thoth_dir.join("audit")
}

/// `~/.thoth/spool`: event batches waiting for the enforcer (`audit::spool`).
pub fn spool_dir(thoth_dir: &Path) -> PathBuf {
    thoth_dir.join("spool")
}
