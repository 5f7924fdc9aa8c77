//! The `thoth audit` command line (clap derive), embedded by `cli.rs` as `Command::Audit`. Parsing only: the
//! command itself is `commands::audit::run` (DESIGN.md §6).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `thoth audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of the local audit logs: each file's record count and its first broken link
    /// (the line, and the hash expected and found). Exits 0 when every chain verifies, 1 otherwise.
    Verify {
        /// Print the report as JSON (schemas/audit-verify.schema.json).
        #[arg(long)]
        json: bool,
        /// Audit files, or folders of them, to check (default: every file in ~/.thoth/audit).
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}
