//! `thoth update` / `thoth self-update` (DESIGN.md §1): find the newest release on the channel, download the
//! asset for this machine through the hardened client, and install it only when its checksum, its minisign
//! signature by a compiled-in release key and the signed version/asset all agree; keep the old binary for
//! `--rollback`. Refusals happen before anything is swapped. Every attempt is recorded in `state`. The
//! command's composition (settings in, the report rendered) is `commands::update`.

pub mod archive;
pub mod cli_args;
pub mod config;
pub mod download;
pub mod error;
pub mod install;
pub mod keys;
pub mod package;
pub mod release;
pub mod report;
pub mod state;
pub mod status;
pub mod verify;

use std::time::Duration;

pub use error::Error;

/// The version of the running binary.
pub const CURRENT_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Connect timeout of lookups and downloads (the total one is THOTH_UPDATE_TIMEOUT_SECONDS).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
