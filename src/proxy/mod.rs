//! `thoth run`: the stdio sidecar between an MCP client and its server (DESIGN.md §2).
//! framing (bytes -> lines) | envelope (the few JSON fields read) | router (pure routing) |
//! session (the I/O loop) | pause (what is read when) | dispatch (where routes go) | outlet (writers) |
//! upstream (the child) | refuse (thoth refusing to start, still speaking MCP). The composition that turns
//! `thoth run`'s flags and settings into a session is `commands::run`; nothing here imports `cli` or a command.

pub mod budget;
mod dispatch;
pub mod envelope;
pub mod framing;
pub mod governance;
pub mod lock_hook;
pub mod outlet;
mod pause;
mod refuse;
pub mod router;
pub mod session;
pub mod upstream;

use crate::hint::Hint;

/// Default line cap: TypeScript MCP servers drop the connection past 10 MiB.
pub const MAX_LINE_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_PENDING: usize = 4096;
pub const SHUTDOWN_GRACE_MS: u64 = 2000;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no server command after `--`")]
    NoServerCommand,
    #[error("could not start the MCP server `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{}", .0.join("; "))]
    RuntimeUser(Vec<String>),
    #[error("--agent-id {value:?} is not valid: expected {expected}")]
    AgentId {
        value: String,
        expected: &'static str,
    },
    #[error("could not start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("I/O on the MCP pipes failed: {0}")]
    Io(std::io::Error),
    /// `--url`: a refused host, a bad header, a client that cannot be built (remote bridge, issue 18).
    #[error("{0}")]
    Remote(String),
}

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::NoServerCommand => Some("usage: thoth run [flags] -- <server command...>".into()),
            Error::Spawn { .. } => Some("check the server command after `--` and that it is on PATH (Claude Desktop starts servers with a bare PATH: use an absolute path)".into()),
            Error::RuntimeUser(_) => Some("run thoth as the logged-in user (as Claude Desktop does), or set THOTH_REQUIRE_NON_ROOT=false (THOTH_ENV=dev relaxes it on a developer machine); `thoth doctor` shows every check".into()),
            Error::AgentId { .. } => Some("fix --agent-id (in claude_desktop_config.json, the server's args)".into()),
            Error::Remote(_) => Some("check --url and --header; a managed THOTH_ALLOWED_REMOTE_HOSTS lists the hosts that may be bridged".into()),
            Error::Runtime(_) | Error::Io(_) => None,
        }
    }
}
