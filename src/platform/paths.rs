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
//!   audit/*.jsonl                    hash-chained decision log
//!   spool/                           events waiting for the enforcer
//!   logs/thoth.log
//! ```

use std::path::{Path, PathBuf};

pub fn thoth_dir(home: &Path) -> PathBuf {
    home.join(".thoth")
}
