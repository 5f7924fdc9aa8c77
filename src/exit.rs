//! Process exit codes: the one place they are defined (documented in README.md, "Exit codes").

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Ok,
    /// 1: the command failed for a reason it explained (bad settings, refusal to start, I/O).
    Failure,
    /// 3: `status`: the config it inspects is missing or cannot be read (2 is clap's usage error).
    Unreadable,
    /// 2: `diff`: no comparison was possible (the lockfile or the server failed).
    NoComparison,
    /// 70: a bug in thoth (EX_SOFTWARE).
    Internal,
    /// `thoth run`: the upstream MCP server's own exit code (128 + signal when it was killed by one).
    Upstream(u8),
    /// 2: a usage error thoth finds itself (as clap's), e.g. `secrets set NAME VALUE`.
    Usage,
}

impl Exit {
    pub fn code(self) -> ExitCode {
        ExitCode::from(match self {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Unreadable => 3,
            Exit::NoComparison => 2,
            Exit::Internal => 70,
            Exit::Upstream(code) => code,
            Exit::Usage => 2,
        })
    }
}
