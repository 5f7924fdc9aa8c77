//! The MCP server's edge: a spawned child (piped stdin/stdout, stderr passed through, THOTH_* secrets removed
//! from its environment, killed if thoth itself goes away: `platform::lifeline`), or — for `thoth run --url` —
//! the in-memory pipes of the remote bridge (`crate::remote`). The session sees both the same way.

use std::ffi::OsString;
use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use super::Error;
use crate::platform::lifeline::{self, Lifeline};
use crate::platform::Signal;

pub type Writer = Box<dyn AsyncWrite + Unpin + Send>;
pub type Reader = Box<dyn AsyncRead + Unpin + Send>;

pub struct Upstream {
    pub child: Process,
    pub stdin: Writer,
    pub stdout: Reader,
    /// Ties the server's life to thoth's; keep it as long as the child.
    pub lifeline: Option<Lifeline>,
}

/// What runs the server: a child process, or the remote bridge's task.
pub enum Process {
    Child(Box<Child>),
    /// The bridge reports its exit code once it is done (stdin EOF seen, DELETE sent); `stop` asks it to end now.
    Bridge {
        exit: Option<oneshot::Receiver<u8>>,
        stop: Option<oneshot::Sender<()>>,
    },
}

impl Process {
    /// Wait for the server to end (a bridge that vanished counts as failed).
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        match self {
            Process::Child(child) => child.wait().await,
            Process::Bridge { exit, .. } => {
                let code = match exit.as_mut() {
                    Some(rx) => rx.await.unwrap_or(1),
                    None => std::future::pending().await,
                };
                *exit = None;
                Ok(exit_status(code))
            }
        }
    }

    pub fn terminate(&mut self) {
        match self {
            Process::Child(child) => crate::platform::terminate(child),
            Process::Bridge { stop, .. } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
            }
        }
    }

    pub fn start_kill(&mut self) -> std::io::Result<()> {
        match self {
            Process::Child(child) => child.start_kill(),
            Process::Bridge { .. } => {
                self.terminate();
                Ok(())
            }
        }
    }

    /// Pass a signal on (the bridge treats every signal as "stop").
    pub fn forward(&mut self, signal: Signal) {
        match self {
            Process::Child(child) => crate::platform::forward(child, signal),
            Process::Bridge { .. } => self.terminate(),
        }
    }
}

/// An exit status carrying `code`, for a bridge (it has no process of its own).
fn exit_status(code: u8) -> ExitStatus {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        ExitStatus::from_raw(i32::from(code) << 8)
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::ExitStatusExt;
        ExitStatus::from_raw(u32::from(code))
    }
}

/// Start `command` (program and arguments). `scrub` names the environment variables it must not inherit.
pub fn spawn(command: &[OsString], scrub: &[OsString]) -> Result<Upstream, Error> {
    spawn_with(command, scrub, &[])
}

/// [`spawn`], with `set` (resolved `thoth-secret:` references) in the server's environment only.
pub fn spawn_with(
    command: &[OsString],
    scrub: &[OsString],
    set: &[(OsString, crate::secrets::Value)],
) -> Result<Upstream, Error> {
    let (program, args) = command.split_first().ok_or(Error::NoServerCommand)?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for name in scrub {
        cmd.env_remove(name);
    }
    for (name, value) in set {
        cmd.env(name, value.as_str());
    }
    lifeline::prepare(&mut cmd);
    let mut child = cmd.spawn().map_err(|source| Error::Spawn {
        program: program.to_string_lossy().into_owned(),
        source,
    })?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(Error::Spawn {
            program: program.to_string_lossy().into_owned(),
            source: std::io::Error::other("no stdio pipes"),
        });
    };
    let lifeline = lifeline::attach(&child)
        .map_err(|err| tracing::warn!(error = %err, "could not tie the server's life to thoth's: if thoth is killed, the server may live on"))
        .ok();
    tracing::info!(program = %program.to_string_lossy(), pid = child.id(), "started the MCP server");
    Ok(Upstream {
        child: Process::Child(Box::new(child)),
        stdin: Box::new(stdin),
        stdout: Box::new(stdout),
        lifeline,
    })
}

/// What the session asks of the server process once it is watched (`watch`).
#[derive(Debug, Clone, Copy)]
pub enum Control {
    Signal(crate::platform::Signal),
    Terminate,
    Kill,
}

/// The server's exit, observed by one waiter: a task that owns the child, waits for it once, and carries out
/// `Control`s meanwhile. The session polls `exited` instead of building a `wait()` future every loop turn.
pub struct Watched {
    pub exited: tokio::sync::oneshot::Receiver<std::io::Result<std::process::ExitStatus>>,
    pub control: tokio::sync::mpsc::UnboundedSender<Control>,
}

/// Hand `child` to its waiter, spawned on `tasks` (the session's, so it ends with the session; dropping the
/// child then kills it, as before).
pub fn watch(mut child: Process, tasks: &mut tokio::task::JoinSet<()>) -> Watched {
    let (exit_tx, exited) = tokio::sync::oneshot::channel();
    let (control, mut commands) = tokio::sync::mpsc::unbounded_channel();
    tasks.spawn(async move {
        let status = loop {
            tokio::select! {
                status = child.wait() => break status,
                Some(command) = commands.recv() => match command {
                    Control::Signal(signal) => child.forward(signal),
                    Control::Terminate => child.terminate(),
                    Control::Kill => {
                        let _ = child.start_kill();
                    }
                },
            }
        };
        let _ = exit_tx.send(status);
    });
    Watched { exited, control }
}
