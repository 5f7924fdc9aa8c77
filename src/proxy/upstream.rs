//! Spawning the MCP server: piped stdin/stdout, stderr passed through, THOTH_* secrets removed from its
//! environment, killed if thoth itself goes away (dropped, or killed outright: `platform::lifeline`).

use std::ffi::OsString;
use std::process::Stdio;

use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::Error;
use crate::platform::lifeline::{self, Lifeline};

pub struct Upstream {
    pub child: Child,
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
    /// Ties the server's life to thoth's; keep it as long as the child.
    pub lifeline: Option<Lifeline>,
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
        child,
        stdin,
        stdout,
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
pub fn watch(mut child: Child, tasks: &mut tokio::task::JoinSet<()>) -> Watched {
    let (exit_tx, exited) = tokio::sync::oneshot::channel();
    let (control, mut commands) = tokio::sync::mpsc::unbounded_channel();
    tasks.spawn(async move {
        let status = loop {
            tokio::select! {
                status = child.wait() => break status,
                Some(command) = commands.recv() => match command {
                    Control::Signal(signal) => crate::platform::forward(&mut child, signal),
                    Control::Terminate => crate::platform::terminate(&mut child),
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
