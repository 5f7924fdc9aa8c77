//! `thoth lock` and `thoth diff` arguments (clap derive). Parsing only.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;

use super::drift::Severity;

/// `thoth lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// Where to write the lockfile.
    #[arg(long, short, value_name = "FILE", default_value = "thoth-lock.json")]
    pub output: PathBuf,
    /// Also write FILE.minisig with this minisign secret key (as `minisign -Sm FILE` would).
    #[arg(long, value_name = "SECRETKEYFILE")]
    pub sign: Option<PathBuf>,
    /// The MCP server to pin, after `--`.
    #[arg(last = true, required = true, value_name = "SERVER COMMAND")]
    pub server: Vec<OsString>,
}

/// `thoth diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The lockfile to compare with.
    #[arg(long, value_name = "FILE")]
    pub lock: PathBuf,
    /// Exit 1 when some drift is at or above this severity.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value = "moderate")]
    pub fail_on: Severity,
    /// Print the drift as JSON (schemas/diff.schema.json).
    #[arg(long)]
    pub json: bool,
    /// The live MCP server, after `--`.
    #[arg(last = true, required = true, value_name = "SERVER COMMAND")]
    pub server: Vec<OsString>,
}
