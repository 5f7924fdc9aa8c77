//! Where thoth keeps its files. The `~/.thoth` layout, documented once (DESIGN.md §6):
//!
//! ```text
//! ~/.thoth/                          0700
//!   config.json                      profile settings (flat object of setting names), optional
//!   policy.json                      local policy, optional
//!   intent_map.json                  {server name: session intent}, created as {}
//!   proxy_api_key.json               {api_key, key_id}, 0600
//!   sessions/<tenant>--<govapi-host>--admin-token.jwt   0600
//!   sessions/<tenant>--<govapi-host>--admin-token.refresh   its refresh token, 0600 (auth::store)
//!   sessions/<tenant>--<govapi-host>--admin-token.lock      locked while one process logs in, refreshes or logs out
//!   state/                           0700
//!     endpoint.json                  last GovAPI registration / check-in / error, for `thoth health`
//!     heartbeat.lock                 held (OS file lock) by the one `thoth run` that sends heartbeats
//!     agents/<pid>.json              a live `thoth run`: its agent id and decision counts
//!     agents/<pid>.lock              locked while that process lives (an unlockable one is stale)
//!     update.json                    the last `thoth update` attempt (update::state), 0600; read by `health`
//!     audit-head.json                the audit chain's head, HMAC-signed (audit::head), 0600
//!     audit.key                      that HMAC's key, 0600
//!     audit.lock                     held (OS file lock) by the `thoth run` appending to the audit chain
//!   audit/                           0700
//!     audit-<start UTC>-<pid>.jsonl  the user's one hash chain, rotated by size, pruned by age/size, 0600
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

/// `~/.thoth/state`: GovAPI results, the heartbeat leader lock and the live agents (`fleet::heartbeat`).
pub fn state_dir(thoth_dir: &Path) -> PathBuf {
    thoth_dir.join("state")
}
