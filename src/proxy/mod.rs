//! `thoth run`: the stdio sidecar between an MCP client and its server (DESIGN.md §2).
//! framing (bytes -> lines) | envelope (the few JSON fields read) | router (pure routing) |
//! session (the I/O loop) | pause (what is read when) | dispatch (where routes go) | outlet (writers) |
//! upstream (the child) | refuse (thoth refusing to start, still speaking MCP).

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

use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::RunArgs;
use crate::fleet::govapi::DecisionCounter;
use crate::hint::Hint;
use crate::policy::select::{self, PolicySource};
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

/// `thoth run`'s own flags as settings keys: they take part in resolution (a managed value still wins).
fn setting_flags(args: &RunArgs) -> Vec<(&'static str, String)> {
    let mut flags = Vec::new();
    if let Some(tenant) = &args.tenant_id {
        flags.push(("THOTH_TENANT_ID", tenant.clone()));
    }
    if let Some(mode) = args.enforcement_mode {
        flags.push(("THOTH_ENFORCEMENT_MODE", mode.as_str().to_owned()));
    }
    if let Some(policy) = &args.policy {
        flags.push(("THOTH_POLICY_FILE", policy.display().to_string()));
    }
    flags
}

/// The agent id when none is given: the server program's file name (`server-everything`, `python3`), with
/// anything an id may not hold replaced by `-`.
fn default_agent_id(server: &[OsString]) -> String {
    let stem = server
        .first()
        .and_then(|p| Path::new(p).file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cleaned: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned
        .trim_start_matches(['.', '-'])
        .chars()
        .take(128)
        .collect::<String>();
    crate::settings::validate::id(&cleaned).unwrap_or_else(|_| "mcp-server".into())
}

/// The agent id of a bridged server when none is given: its host name.
fn remote_agent_id(url: &str) -> String {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    default_agent_id(&[OsString::from(host.replace(':', "-"))])
}

/// `--agent-id` (it goes into enforcer requests, events and the audit log), else the default.
fn agent_id(args: &RunArgs) -> Result<String, Error> {
    match &args.agent_id {
        Some(id) => crate::settings::validate::id(id).map_err(|expected| Error::AgentId {
            value: id.clone(),
            expected,
        }),
        None if args.url.is_some() => Ok(remote_agent_id(args.url.as_deref().unwrap_or(""))),
        None => Ok(default_agent_id(&args.server)),
    }
}

/// Run `thoth run` to completion.
pub fn run(
    args: RunArgs,
    settings: Result<Settings, crate::settings::Error>,
) -> Result<Exit, crate::Error> {
    platform::tune_allocator();
    // Everything that reads files happens here, before the event loop exists.
    let prepared = prepare(&args, settings);
    // The server is our child, as the same user: it must not find the secrets in our environment block.
    crate::settings::scrub_process_secrets();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let result = runtime.block_on(async {
        match prepared {
            Ok(prepared) => serve(prepared, &args).await,
            Err(err) => refuse(err).await,
        }
    });
    // A blocking stdin read (non-pipe stdin) must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

/// What `thoth run` decided before starting the server.
struct Prepared {
    agent_id: String,
    policy: Box<dyn crate::policy::Decide>,
    source: PolicySource,
    /// Decisions come from the remote enforcer (after the local policy).
    remote: bool,
    mode: crate::policy::Mode,
    /// `~/.thoth`, for the audit log and the event spool (none without a home folder).
    thoth_dir: Option<std::path::PathBuf>,
    /// Where TOOL_CALL_PRE / POST events go (with an enforcer), and their offline spool.
    events: Option<(crate::policy::layered::Events, crate::audit::spool::Spool)>,
    /// GovAPI registration and heartbeats (with a GovAPI configured), and the counts they report.
    heartbeat: Option<(crate::fleet::heartbeat::Heartbeat, Arc<DecisionCounter>)>,
    /// `--lock` (or a managed lock dir): the pinned tool set, read and verified before the server starts.
    lock: Option<crate::lock::guard::Guard>,
    /// How large the audit files grow and how long they are kept.
    audit_retention: crate::audit::Retention,
    /// `thoth-secret:` references of the server's environment, resolved (wiped when dropped after spawn).
    secret_env: crate::secrets::resolve::Resolved,
    /// `--url`: the bridge, checked and ready before the session starts (remote edge, issue 18).
    bridge: Option<(
        crate::remote::bridge::Options,
        reqwest::Client,
        Box<dyn crate::remote::auth::Authorizer>,
    )>,
}

fn prepare(
    args: &RunArgs,
    settings: Result<Settings, crate::settings::Error>,
) -> Result<Prepared, crate::Error> {
    let settings = settings.and_then(|s| s.with_flags(&setting_flags(args)))?;
    // An expired SSO session is renewed (or refused) before anything is sent with it.
    let settings = crate::auth::refresh::ensure_fresh(settings)?;
    // A host IT does not allow is refused first, naming the host and THOTH_ALLOWED_REMOTE_HOSTS, whoever runs.
    let remote_url = match &args.url {
        Some(url) => {
            let allowed = settings
                .get("THOTH_ALLOWED_REMOTE_HOSTS")
                .map(|v| v.value.as_str());
            Some(
                crate::remote::allow::check(url, allowed)
                    .map_err(|e| Error::Remote(e.to_string()))?,
            )
        }
        None => None,
    };
    let user = crate::runtime_user::check(&settings);
    if !user.ok() {
        return Err(Error::RuntimeUser(user.problems).into());
    }
    if let Some(dir) = &settings.thoth_dir {
        if let Err(err) = crate::home::bootstrap(dir) {
            tracing::warn!(error = %err, "could not prepare ~/.thoth; going on without it");
        }
    }
    let agent_id = agent_id(args)?;
    let secret_env =
        crate::secrets::resolve::references(std::env::vars_os(), settings.thoth_dir.as_deref())?;
    let lock_flags = crate::lock::setup::LockFlags {
        lock: args.lock.as_deref(),
        mode: args.lock_mode,
        pubkeys: &args.lock_pubkey,
    };
    let lock = crate::lock::setup::resolve(&lock_flags, &settings, &agent_id)?;
    let selected = select::select(
        &settings,
        &agent_id,
        args.session_intent.as_deref(),
        &args.approved_scope,
    )?;
    tracing::debug!(
        agent_id,
        mode = selected.mode.value.as_str(),
        policy = ?selected.source,
        session_intent = ?selected.session_intent.as_ref().map(|i| &i.value),
        "thoth run"
    );
    let remote = settings.enforcer_url.is_some() && settings.enforcer_credential.is_some();
    let built = crate::policy::layered::build(
        &settings,
        &agent_id,
        selected.session_intent.as_ref().map(|i| i.value.as_str()),
        selected.mode.value,
        selected.policy,
        args.step_up_wait.map(Duration::from_secs),
    )?;
    let bridge = match remote_url {
        Some(url) => Some(remote_bridge(args, url, &settings)?),
        None => None,
    };
    let counter = Arc::new(DecisionCounter::default());
    let heartbeat = crate::fleet::heartbeat::Heartbeat::new(&settings, &agent_id, counter.clone())
        .map(|heartbeat| (heartbeat, counter));
    Ok(Prepared {
        secret_env,
        bridge,
        lock,
        heartbeat,
        agent_id,
        policy: built.policy,
        source: selected.source,
        remote,
        mode: selected.mode.value,
        thoth_dir: settings.thoth_dir.clone(),
        audit_retention: crate::audit::Retention::from_settings(&settings),
        events: built
            .events
            .and_then(|events| Some((events, open_spool(settings.thoth_dir.as_deref()?)?))),
    })
}

async fn serve(prepared: Prepared, args: &RunArgs) -> Result<Exit, crate::Error> {
    let scrub = crate::settings::secret_env_names();
    let upstream = match prepared.bridge {
        Some((options, http, auth)) => crate::remote::bridge::start(options, http, auth),
        None => {
            let upstream = upstream::spawn_with(&args.server, &scrub, &prepared.secret_env);
            drop(prepared.secret_env);
            match upstream {
                Ok(upstream) => upstream,
                Err(err) => return refuse(err.into()).await,
            }
        }
    };
    if !prepared.remote && prepared.source == PolicySource::Unconfigured(Environment::Dev) {
        tracing::warn!("THOTH_ENV=dev and no policy is configured: every tool is approved and nothing governs this session");
    }
    let config = session::SessionConfig {
        agent_id: prepared.agent_id,
        max_line_bytes: args.max_line_bytes.max(1),
        max_pending: args.max_pending.max(1),
        shutdown_grace: Duration::from_millis(args.shutdown_grace_ms),
        lock: prepared.lock.map(lock_hook::LockHook::new),
    };
    let warm_up = prepared.policy.warm_up();
    let session_id = prepared
        .events
        .as_ref()
        .map_or_else(|| crate::policy::new_id("s"), |(e, _)| e.session_id.clone());
    let audit = prepared.thoth_dir.as_deref().map(|dir| {
        crate::audit::Audit::start_with(
            platform::paths::audit_dir(dir),
            &session_id,
            &config.agent_id,
            crate::audit::AuditConfig {
                retention: prepared.audit_retention,
                ..Default::default()
            },
        )
    });
    let events = prepared
        .events
        .map(|(events, spool)| start_events(events, spool, &config.agent_id));
    let (heartbeat, counter) = prepared.heartbeat.unzip();
    let governance = governance::Governance::new(prepared.policy, prepared.mode, audit, events)
        .with_counter(counter);
    let session = session::run(config, governance, upstream);
    // The warm-up and the GovAPI heartbeat run beside the session and are dropped when it ends.
    let background = async move {
        let warm_up = async {
            if let Some(warm_up) = warm_up {
                warm_up.await
            }
        };
        let heartbeat = async {
            if let Some(heartbeat) = heartbeat {
                heartbeat.run().await
            }
        };
        futures_util::future::join(warm_up, heartbeat).await;
    };
    tokio::pin!(session);
    let exit = tokio::select! {
        exit = &mut session => exit,
        () = background => session.await,
    };
    Ok(exit?)
}

/// `--url` (its host already allowed): the headers parsed, the HTTP client built with the enforcer's TLS settings.
fn remote_bridge(
    args: &RunArgs,
    parsed: url::Url,
    settings: &Settings,
) -> Result<
    (
        crate::remote::bridge::Options,
        reqwest::Client,
        Box<dyn crate::remote::auth::Authorizer>,
    ),
    Error,
> {
    // `parsed` passed THOTH_ALLOWED_REMOTE_HOSTS in `prepare`, before the runtime-user check.
    let given = args.url.clone().unwrap_or_else(|| parsed.to_string());
    let url = given.as_str();
    let headers = crate::remote::headers::parse(&args.headers, |name| std::env::var(name).ok())
        .map_err(|e| Error::Remote(e.to_string()))?;
    let timeouts = crate::net::Timeouts {
        connect: Duration::from_secs(10),
        total: Duration::from_secs(86400),
        stall: None,
    };
    let http = crate::net::NetClient::new(settings, timeouts)
        .map_err(|e| Error::Remote(format!("cannot build the HTTP client for {url}: {e}")))?
        .http()
        .clone();
    let options = crate::remote::bridge::Options {
        given: url.to_owned(),
        url: parsed,
        headers,
        transport: args.transport,
        max_line_bytes: args.max_line_bytes.max(1),
    };
    Ok((options, http, crate::remote::auth::for_run(settings)))
}

/// `~/.thoth/spool`, where events wait while the enforcer is unreachable.
fn open_spool(thoth_dir: &Path) -> Option<crate::audit::spool::Spool> {
    use crate::audit::spool::{Spool, SpoolLimits};
    match Spool::open(
        &platform::paths::spool_dir(thoth_dir),
        SpoolLimits::default(),
    ) {
        Ok(spool) => Some(spool),
        Err(err) => {
            tracing::warn!(error = %err, "cannot open the event spool: events are not sent this session");
            None
        }
    }
}

/// The event sink: batches off the hot path, spools while the enforcer is unreachable, replays in order.
fn start_events(
    events: crate::policy::layered::Events,
    spool: crate::audit::spool::Spool,
    agent_id: &str,
) -> crate::audit::events::EventSink {
    use crate::audit::events::{EventContext, EventSink, SinkConfig};
    let ctx = EventContext {
        agent_id: agent_id.to_owned(),
        session_id: events.session_id,
        endpoint_id: events.endpoint_id,
    };
    EventSink::start(events.transport, spool, ctx, SinkConfig::default())
}

/// Report on stderr, answer the client's requests with the same reason, exit 1.
async fn refuse(err: crate::Error) -> Result<Exit, crate::Error> {
    let hint = err.hint();
    let message = err.to_string();
    crate::output::report(&err);
    session::refuse(&message, hint.as_deref()).await;
    Ok(Exit::Failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_agent_ids_are_valid_ids() {
        let id = |p: &str| default_agent_id(&[OsString::from(p)]);
        assert_eq!(
            id("/usr/local/bin/mcp-server-everything"),
            "mcp-server-everything"
        );
        assert_eq!(id("/usr/bin/npx.cmd"), "npx");
        assert_eq!(id("/opt/my server (beta)"), "my-server--beta-");
        assert_eq!(id("/opt/..."), "mcp-server");
        assert_eq!(id(""), "mcp-server");
    }
}
