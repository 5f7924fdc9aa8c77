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
//!   secrets/                         the secret store's file backend (secrets::file), 0700
//!   logs/thoth.log
//! ```

use std::path::{Path, PathBuf};

pub fn thoth_dir(home: &Path) -> PathBuf {
    home.join(THOTH_DIR_NAME)
}

/// `~/.thoth/audit`: the hash-chained decision logs (`audit::log`).
pub fn audit_dir(thoth_dir: &Path) -> PathBuf {
    thoth_dir.join(AUDIT_DIR_NAME)
}

/// `~/.thoth/spool`: event batches waiting for the enforcer (`audit::spool`).
pub fn spool_dir(thoth_dir: &Path) -> PathBuf {
    thoth_dir.join("spool")
}

/// `~/.thoth/state`: GovAPI results, the heartbeat leader lock and the live agents (`fleet::heartbeat`).
pub fn state_dir(thoth_dir: &Path) -> PathBuf {
    thoth_dir.join(STATE_DIR_NAME)
}

// Every file name of the layout above, once: callers join through these, never a string literal.

/// `~/.thoth/config.json`: the profile settings (`settings::inputs`).
pub fn config_file(thoth_dir: &Path) -> PathBuf {
    thoth_dir.join("config.json")
}

/// `~/.thoth/policy.json`: the default local policy (`policy::select`).
pub fn policy_file(thoth_dir: &Path) -> PathBuf {
    thoth_dir.join("policy.json")
}

/// `~/.thoth/intent_map.json`: `{server name: session intent}` (`home::read_intent_map`).
pub fn intent_map_file(thoth_dir: &Path) -> PathBuf {
    thoth_dir.join("intent_map.json")
}

/// `~/.thoth/proxy_api_key.json`: `thoth set-api-key`'s key (`home::save_api_key`, `settings::inputs`).
pub fn proxy_api_key_file(thoth_dir: &Path) -> PathBuf {
    thoth_dir.join("proxy_api_key.json")
}

/// `~/.thoth/secrets`: the file backend of the secret store (`secrets::file`).
pub fn secrets_dir(thoth_dir: &Path) -> PathBuf {
    thoth_dir.join("secrets")
}

/// `~/.thoth/sessions`: SSO sessions (`auth::store`).
pub fn sessions_dir(thoth_dir: &Path) -> PathBuf {
    thoth_dir.join("sessions")
}

/// `~/.thoth/state/endpoint.json`: the GovAPI state (`fleet::endpoint_state`).
pub fn endpoint_state_file(thoth_dir: &Path) -> PathBuf {
    state_dir(thoth_dir).join("endpoint.json")
}

/// `~/.thoth/state/update.json`: the last `thoth update` attempt (`update::state`).
pub fn update_state_file(thoth_dir: &Path) -> PathBuf {
    state_dir(thoth_dir).join("update.json")
}

/// `~/.thoth/state/agents`: one record and lock per live `thoth run` (`fleet::agents`).
pub fn agents_dir(thoth_dir: &Path) -> PathBuf {
    state_dir(thoth_dir).join("agents")
}

/// `<state>/heartbeat.lock`: held by the heartbeat leader (`fleet::agents`). Takes the state folder.
pub fn heartbeat_lock_in(state_dir: &Path) -> PathBuf {
    state_dir.join("heartbeat.lock")
}

/// `<state>/audit-head.json`, `audit.key`, `audit.lock` (`audit::head`). Take the state folder.
pub fn audit_head_in(state_dir: &Path) -> PathBuf {
    state_dir.join("audit-head.json")
}

pub fn audit_key_in(state_dir: &Path) -> PathBuf {
    state_dir.join("audit.key")
}

pub fn audit_lock_in(state_dir: &Path) -> PathBuf {
    state_dir.join("audit.lock")
}

/// `.thoth`, the folder in the user's home.
pub const THOTH_DIR_NAME: &str = ".thoth";
/// The folder `audit` holding the audit logs, and `state` beside it (`audit::head`).
pub const AUDIT_DIR_NAME: &str = "audit";
pub const STATE_DIR_NAME: &str = "state";
