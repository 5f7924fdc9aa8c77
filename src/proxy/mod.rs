//! `thoth run`: the stdio sidecar between an MCP client and its server (DESIGN.md §2).
//! framing (bytes -> lines) | envelope (the few JSON fields read) | router (pure routing) |
//! session (the I/O loop) | outlet (writers) | upstream (the child).

pub mod envelope;
pub mod framing;
pub mod outlet;
pub mod router;
pub mod session;
pub mod upstream;

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use crate::cli::RunArgs;
use crate::error::Hint;
use crate::policy::local::{LocalPolicy, Scope};
use crate::policy::Mode;
use crate::settings::{Environment, Settings};
use crate::{platform, Exit};

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
    #[error(
        "thoth is running as root (uid 0) or elevated, and THOTH_ENV={0} requires a normal user"
    )]
    Root(&'static str),
    #[error("could not start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("I/O on the MCP pipes failed: {0}")]
    Io(std::io::Error),
}

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::NoServerCommand => Some("usage: thoth run [flags] -- <server command...>".into()),
            Error::Spawn { .. } => Some("check the server command after `--` and that it is on PATH (Claude Desktop starts servers with a bare PATH: use an absolute path)".into()),
            Error::Root(_) => Some("run thoth as the logged-in user (as Claude Desktop does), or set THOTH_REQUIRE_NON_ROOT=false, or THOTH_ENV=dev on a developer machine".into()),
            Error::Runtime(_) | Error::Io(_) => None,
        }
    }
}

/// `thoth run` resolved: everything the session needs.
struct RunPlan {
    session: session::SessionConfig,
    policy: LocalPolicy,
    command: Vec<OsString>,
    unguarded: bool,
}

fn plan(args: RunArgs, settings: &Settings) -> RunPlan {
    let agent_id = args
        .agent_id
        .unwrap_or_else(|| default_agent_id(&args.server));
    let mode = args.enforcement_mode.unwrap_or(Mode::Block);
    let scope: HashSet<String> = args
        .approved_scope
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let environment = settings.environment.value;
    let (scope, unguarded) = if scope.is_empty() {
        (
            Scope::Unconfigured(environment),
            environment == Environment::Dev,
        )
    } else {
        (Scope::Tools(scope), false)
    };
    tracing::debug!(agent_id, mode = mode.as_str(), tenant_id = ?args.tenant_id, session_intent = ?args.session_intent, "thoth run");
    RunPlan {
        session: session::SessionConfig {
            agent_id,
            max_line_bytes: args.max_line_bytes.max(1),
            max_pending: args.max_pending.max(1),
            shutdown_grace: Duration::from_millis(args.shutdown_grace_ms),
        },
        policy: LocalPolicy::new(scope, mode),
        command: args.server,
        unguarded,
    }
}

/// The agent id when none is given: the server program's file name (`server-everything`, `python3`).
fn default_agent_id(server: &[OsString]) -> String {
    server
        .first()
        .and_then(|p| Path::new(p).file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "mcp-server".into())
}

/// Run `thoth run` to completion.
pub fn run(args: RunArgs, settings: &Settings) -> Result<Exit, crate::Error> {
    platform::tune_allocator();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let result = runtime.block_on(serve(args, settings));
    // A blocking stdin read (non-pipe stdin) must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

async fn serve(args: RunArgs, settings: &Settings) -> Result<Exit, crate::Error> {
    let plan = plan(args, settings);
    if settings.require_non_root.value && platform::is_root() {
        return refuse(Error::Root(settings.environment.value.as_str())).await;
    }
    let scrub = crate::settings::secret_env_names();
    let upstream = match upstream::spawn(&plan.command, &scrub) {
        Ok(upstream) => upstream,
        Err(err) => return refuse(err).await,
    };
    if plan.unguarded {
        tracing::warn!("THOTH_ENV=dev and no policy is configured: every tool is approved and nothing governs this session");
    }
    Ok(session::run(plan.session, Box::new(plan.policy), upstream).await?)
}

/// Report on stderr, answer the client's requests with the same reason, exit 1.
async fn refuse(err: Error) -> Result<Exit, crate::Error> {
    let hint = err.hint();
    let message = err.to_string();
    crate::output::report(&crate::Error::from(err));
    session::refuse(&message, hint.as_deref()).await;
    Ok(Exit::Failure)
}
