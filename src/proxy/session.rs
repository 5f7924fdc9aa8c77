//! The only place `thoth run` does I/O and the only writer of its stdout: one `select!` loop over the client's
//! frames, the server's frames, pending decisions, the child's exit, signals and shutdown timers. Every task
//! it starts belongs to one of its JoinSets (DESIGN.md §2, STYLE.md §4). What is read when: `pause`; where
//! routes go: `dispatch`; refusing to start: `refuse`.

use std::process::ExitStatus;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::time::{sleep_until, Instant};
use tokio_util::codec::FramedRead;

use super::budget::{self, HeldCalls};
use super::dispatch::{dispatch, lock_block, Outlets, Side};
use super::envelope::{self, error_frame};
use super::framing::{Frame, LineCodec};
use super::governance::Governance;
use super::outlet::Outlet;
use super::pause::{log_pause, Paused, AUDIT_ROOM};
use super::router::{Route, Router};
use super::upstream::{self, Control, Upstream, Watched};
use super::Error;
use crate::platform;
use crate::Exit;

/// thoth refusing to start (`refuse.rs`), here where the callers have always found it.
pub use super::refuse::refuse;

/// Read buffer per side; it grows for large messages up to the line cap.
const READ_CAPACITY: usize = 64 * 1024;
/// After the server exits, how long its stdout may stay open (a grandchild holding it) before thoth stops
/// waiting for the last frames.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(500);
/// How long the client may still be writing once thoth is done, before thoth gives up flushing to it.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(2);

pub struct SessionConfig {
    pub agent_id: String,
    pub max_line_bytes: usize,
    pub max_pending: usize,
    pub shutdown_grace: Duration,
    /// `--lock`: the pinned tool set and its run-time bookkeeping.
    pub lock: Option<super::lock_hook::LockHook>,
}

/// The next step of stopping the server after the client left (or a signal came).
#[derive(Debug, Clone, Copy)]
enum Stop {
    Terminate,
    Kill,
}

/// Run the session until the server has exited; returns the server's exit code.
pub async fn run(
    mut cfg: SessionConfig,
    mut governance: Governance,
    upstream: Upstream,
) -> Result<Exit, Error> {
    let Upstream {
        child,
        stdin,
        stdout,
        lifeline: _lifeline,
    } = upstream;
    let mut waiter = tokio::task::JoinSet::new();
    let Watched {
        mut exited,
        control: child,
    } = upstream::watch(child, &mut waiter);
    let (client_in, client_out) = platform::client_stdio();
    let mut client_frames =
        FramedRead::with_capacity(client_in, LineCodec::new(cfg.max_line_bytes), READ_CAPACITY);
    let mut server_frames =
        FramedRead::with_capacity(stdout, LineCodec::new(cfg.max_line_bytes), READ_CAPACITY);

    let mut to_server = Outlet::new(Box::new(stdin));
    let mut to_client = Outlet::new(client_out);

    let mut router = Router::new(cfg.agent_id.clone(), cfg.max_pending);
    if let Some(visible) = governance.policy().list_filter() {
        router = router.with_list_filter(visible);
    }
    let mut lock = cfg.lock.take();
    if let Some(hook) = &lock {
        router = router
            .with_tool_filter(hook.tool_filter())
            .with_lifecycle_events();
    }
    let mut signals = platform::Signals::new().map_err(Error::Io)?;
    let audit = governance.audit_gate();
    let mut routes: Vec<Route> = Vec::with_capacity(8);
    let mut held = HeldCalls::default();
    let mut client_paused: Option<Paused> = None;
    let mut server_paused: Option<Paused> = None;

    let mut client_open = true;
    let mut server_open = true;
    let mut status: Option<ExitStatus> = None;
    let mut stop: Option<(Instant, Stop)> = None;
    let mut drain_until: Option<Instant> = None;

    loop {
        if status.is_some() && !server_open {
            break;
        }
        // Backpressure (budget.rs): a side is read only while everything its input feeds has room. The audit
        // queue is asked once per turn, for both sides.
        let audit_room = audit.has_room(AUDIT_ROOM);
        let client_blocked = client_open
            .then(|| Paused::client(&to_server, &to_client, &held, audit_room))
            .flatten();
        let server_blocked = server_open
            .then(|| Paused::server(&to_server, &to_client, audit_room))
            .flatten();
        let audit_behind = matches!(client_blocked, Some(Paused::AuditBehind))
            || matches!(server_blocked, Some(Paused::AuditBehind));
        log_pause(Side::Client, &mut client_paused, client_blocked);
        log_pause(Side::Server, &mut server_paused, server_blocked);
        let read_client = client_open && client_blocked.is_none();
        let read_server = server_open && server_blocked.is_none();
        let mut from = Side::Client;
        let mut line_len = 0;
        // Biased, writes last: every frame already read is routed before one write carries them all (a
        // flood cannot starve writes for long: at a budget, `Paused` stops reading the side that floods).
        tokio::select! {
            biased;
            // Wakes the loop once the audit writer has caught up (reading was paused for it).
            () = audit.room(AUDIT_ROOM), if audit_behind => {}
            frame = client_frames.next(), if read_client => match frame {
                Some(Ok(Frame::Line(line))) => {
                    line_len = line.len();
                    let line = own(line);
                    if budget::batch_too_long(&line, budget::MAX_BATCH_ELEMENTS) {
                        tracing::warn!(max = budget::MAX_BATCH_ELEMENTS, "refusing a client batch with too many elements");
                        routes.push(Route::ToClient(error_frame(None, envelope::INVALID_REQUEST, &format!("thoth: a batch of more than {} messages is refused whole; none of it was forwarded", budget::MAX_BATCH_ELEMENTS), None)));
                    } else {
                        router.on_client(line, &mut routes);
                    }
                }
                Some(Ok(Frame::Oversized { prefix, len })) => router.on_client_oversized(&prefix, len, cfg.max_line_bytes, &mut routes),
                Some(Err(err)) => {
                    tracing::warn!(error = %err, "reading from the client failed; treating it as gone");
                    client_open = false;
                    begin_stop(&mut to_server, &mut stop, cfg.shutdown_grace);
                }
                None => {
                    tracing::debug!("client closed stdin; closing the server's stdin");
                    client_open = false;
                    begin_stop(&mut to_server, &mut stop, cfg.shutdown_grace);
                }
            },
            frame = server_frames.next(), if read_server => {
                from = Side::Server;
                match frame {
                    Some(Ok(Frame::Line(line))) => {
                        let line = own(line);
                        if budget::batch_too_long(&line, budget::MAX_BATCH_ELEMENTS) {
                            tracing::warn!(max = budget::MAX_BATCH_ELEMENTS, "dropping a server batch with too many elements");
                        } else {
                            router.on_server(line, &mut routes);
                        }
                    }
                    Some(Ok(Frame::Oversized { prefix, len })) => router.on_server_oversized(&prefix, len, cfg.max_line_bytes, &mut routes),
                    Some(Err(err)) => {
                        tracing::warn!(error = %err, "reading from the server failed");
                        server_open = false;
                        begin_stop(&mut to_server, &mut stop, cfg.shutdown_grace);
                    }
                    None => {
                        tracing::debug!("the server closed its stdout");
                        server_open = false;
                        begin_stop(&mut to_server, &mut stop, cfg.shutdown_grace);
                    }
                }
            },
            Some(joined) = governance.next_decided(), if governance.is_deciding() => {
                if let Some((proxy, decision)) = governance.decided(joined) {
                    held.release(proxy);
                    router.on_decision(proxy, decision, &mut routes);
                }
            },
            exited = &mut exited, if status.is_none() => {
                let exited = exited
                    .unwrap_or_else(|_| Err(std::io::Error::other("the server's waiter ended")))
                    .map_err(Error::Io)?;
                tracing::info!(status = %exited, "the MCP server exited");
                status = Some(exited);
                stop = None;
                drain_until = Some(Instant::now() + DRAIN_AFTER_EXIT);
            },
            () = until(stop.map(|(at, _)| at)), if stop.is_some() && status.is_none() => {
                match stop {
                    Some((_, Stop::Terminate)) => {
                        tracing::warn!(grace_ms = cfg.shutdown_grace.as_millis() as u64, "the server is still running; terminating it");
                        let _ = child.send(Control::Terminate);
                        stop = Some((Instant::now() + cfg.shutdown_grace, Stop::Kill));
                    }
                    Some((_, Stop::Kill)) => {
                        tracing::warn!("the server ignored termination; killing it");
                        let _ = child.send(Control::Kill);
                        stop = None;
                    }
                    None => {}
                }
            },
            () = until(drain_until), if drain_until.is_some() => {
                tracing::debug!("the server's stdout stayed open after it exited; not waiting further");
                break;
            },
            signal = signals.recv() => {
                tracing::info!(?signal, "passing a signal on to the server");
                let _ = child.send(Control::Signal(signal));
                if stop.is_none() && status.is_none() {
                    stop = Some((Instant::now() + cfg.shutdown_grace, Stop::Terminate));
                }
            },
            () = until(lock.as_ref().and_then(|l| l.next_deadline())), if lock.as_ref().is_some_and(|l| l.next_deadline().is_some()) => {
                if let Some(hook) = lock.as_mut() {
                    for (call, refused) in hook.expire(Instant::now()) {
                        lock_block(call, refused, &mut router, &mut governance, &mut routes);
                    }
                }
            },
            written = to_server.progress(), if to_server.has_work() => {
                if let Err(err) = written {
                    tracing::warn!(error = %err, "writing to the server failed");
                    to_server.fail();
                }
            },
            written = to_client.progress(), if to_client.has_work() => {
                if let Err(err) = written {
                    tracing::warn!(error = %err, "writing to the client failed; treating it as gone");
                    to_client.fail();
                    to_client.close();
                    client_open = false;
                    begin_stop(&mut to_server, &mut stop, cfg.shutdown_grace);
                }
            },
        }
        let mut outlets = Outlets {
            to_server: &mut to_server,
            to_client: &mut to_client,
            held: &mut held,
        };
        dispatch(
            &mut routes,
            &mut router,
            &mut governance,
            &mut lock,
            &mut outlets,
            from,
            line_len,
        );
    }

    let status = status.ok_or_else(|| {
        Error::Io(std::io::Error::other(
            "session ended before the server exited",
        ))
    })?;
    let code = platform::exit_code(status);
    router.fail_all(
        &format!("the MCP server exited ({status}) before answering"),
        &mut routes,
    );
    held.clear();
    let mut outlets = Outlets {
        to_server: &mut to_server,
        to_client: &mut to_client,
        held: &mut held,
    };
    dispatch(
        &mut routes,
        &mut router,
        &mut governance,
        &mut lock,
        &mut outlets,
        Side::Client,
        0,
    );
    to_client.close();
    to_server.close();
    let flushed = tokio::time::timeout(FLUSH_AT_EXIT, async {
        loop {
            tokio::select! {
                written = to_server.progress(), if to_server.has_work() => if written.is_err() { to_server.fail() },
                written = to_client.progress(), if to_client.has_work() => if written.is_err() { to_client.fail() },
                else => break,
            }
        }
    })
    .await;
    if flushed.is_err() {
        tracing::warn!("the client did not read the last frames in time");
    }
    governance.finish().await;
    Ok(Exit::Upstream(code))
}

/// Close the server's stdin (it sees EOF) and arm the terminate / kill timers.
fn begin_stop(to_server: &mut Outlet, stop: &mut Option<(Instant, Stop)>, grace: Duration) {
    if !to_server.is_closed() {
        to_server.close();
    }
    if stop.is_none() {
        *stop = Some((Instant::now() + grace, Stop::Terminate));
    }
}

/// Sleep until `at` (never, when there is none). An `async fn`: nothing is built until the branch is polled, so
/// a timer branch that is switched off costs the loop nothing in each turn (a `Sleep` registers a timer).
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A line as the router keeps it: small lines are copied out of the read buffer, so a frame that waits long
/// (held, or queued for a slow peer) keeps only its own bytes alive (`budget::COPY_LINES_BELOW`).
fn own(line: bytes::BytesMut) -> Bytes {
    if line.len() < budget::COPY_LINES_BELOW {
        Bytes::copy_from_slice(&line)
    } else {
        line.freeze()
    }
}
