//! The only place `thoth run` does I/O and the only writer of its stdout: one `select!` loop over the client's
//! frames, the server's frames, pending decisions, the child's exit, signals and shutdown timers. Every task
//! it starts belongs to one of its JoinSets (DESIGN.md §2, STYLE.md §4).

use std::process::ExitStatus;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::time::{sleep_until, Instant};
use tokio_util::codec::FramedRead;

use super::budget::{self, HeldCalls};
use super::envelope::{self, error_frame, Envelope, Kind};
use super::framing::{Frame, LineCodec};
use super::governance::Governance;
use super::outlet::Outlet;
use super::router::{Route, Router};
use super::upstream::{self, Control, Upstream, Watched};
use super::Error;
use crate::platform;
use crate::Exit;

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

#[derive(Debug, Clone, Copy)]
enum Side {
    Client,
    Server,
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
    let far = Instant::now() + Duration::from_secs(86400 * 365);

    loop {
        if status.is_some() && !server_open {
            break;
        }
        // Backpressure (budget.rs): a side is read only while everything its input feeds has room.
        let client_blocked = client_open
            .then(|| Paused::client(&to_server, &to_client, &held, &audit))
            .flatten();
        let server_blocked = server_open
            .then(|| Paused::server(&to_server, &to_client, &audit))
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
            () = sleep_until(stop.map_or(far, |(at, _)| at)), if stop.is_some() && status.is_none() => {
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
            () = sleep_until(drain_until.unwrap_or(far)), if drain_until.is_some() => {
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
            () = sleep_until(lock.as_ref().and_then(|l| l.next_deadline()).unwrap_or(far)), if lock.as_ref().is_some_and(|l| l.next_deadline().is_some()) => {
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

/// Why a side is not being read right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paused {
    /// The other side is not reading what this side sends it (ordinary flow control).
    OtherSideFull(usize),
    /// This side is not reading thoth's own answers to it (errors, refusals).
    AnswersUnread(usize),
    /// Its tools/calls wait for decisions (the enforcer is slow).
    CallsHeld(usize),
    /// The audit writer is behind: reading waits rather than records being dropped.
    AuditBehind,
}

/// Records one frame can cause at most (a batch of `MAX_BATCH_ELEMENTS` calls or results, and one more):
/// reading a side waits until the audit queue has this much room.
const AUDIT_ROOM: usize = budget::MAX_BATCH_ELEMENTS + 1;

impl Paused {
    fn client(
        to_server: &Outlet,
        to_client: &Outlet,
        held: &HeldCalls,
        audit: &crate::audit::Gate,
    ) -> Option<Paused> {
        if !audit.has_room(AUDIT_ROOM) {
            Some(Paused::AuditBehind)
        } else if !to_server.has_room() {
            Some(Paused::OtherSideFull(to_server.backlog()))
        } else if !to_client.has_echo_room() {
            Some(Paused::AnswersUnread(to_client.echo_backlog()))
        } else if !held.has_room() {
            Some(Paused::CallsHeld(held.bytes()))
        } else {
            None
        }
    }

    fn server(
        to_server: &Outlet,
        to_client: &Outlet,
        audit: &crate::audit::Gate,
    ) -> Option<Paused> {
        if !audit.has_room(AUDIT_ROOM) {
            Some(Paused::AuditBehind)
        } else if !to_client.has_room() {
            Some(Paused::OtherSideFull(to_client.backlog()))
        } else if !to_server.has_echo_room() {
            Some(Paused::AnswersUnread(to_server.echo_backlog()))
        } else {
            None
        }
    }
}

/// Say when reading a side stops and starts again (transitions only, never per frame).
fn log_pause(side: Side, state: &mut Option<Paused>, now: Option<Paused>) {
    let name = match side {
        Side::Client => "client",
        Side::Server => "server",
    };
    let kind = |p: &Option<Paused>| p.as_ref().map(std::mem::discriminant);
    let changed = kind(state) != kind(&now);
    *state = now;
    if !changed {
        return;
    }
    match now {
        None => tracing::debug!("resuming reads from the {name}"),
        Some(Paused::OtherSideFull(bytes)) => {
            tracing::debug!(
                bytes,
                "pausing reads from the {name}: the other side is not reading what it sent"
            )
        }
        Some(Paused::AnswersUnread(bytes)) => {
            tracing::info!(
                bytes,
                "pausing reads from the {name}: it is not reading thoth's answers to it"
            )
        }
        Some(Paused::CallsHeld(bytes)) => {
            tracing::info!(
                bytes,
                "pausing reads from the {name}: its tools/calls wait for decisions"
            )
        }
        Some(Paused::AuditBehind) => {
            tracing::debug!("pausing reads from the {name}: the audit writer is catching up")
        }
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

/// Where routed frames go, and the held-call budget governed calls are charged to.
struct Outlets<'a> {
    to_server: &'a mut Outlet,
    to_client: &'a mut Outlet,
    held: &'a mut HeldCalls,
}

impl Outlets<'_> {
    /// Frames routed back to the side whose input (or held call) caused them are thoth's own answers.
    fn send(&mut self, route: Route, from: Side) {
        match (route, from) {
            (Route::ToServer(frame), Side::Server) => self.to_server.send_echo(frame),
            (Route::ToServer(frame), Side::Client) => self.to_server.send(frame),
            (Route::ToClient(frame), Side::Client) => self.to_client.send_echo(frame),
            (Route::ToClient(frame), Side::Server) => self.to_client.send(frame),
            (
                Route::Govern(_)
                | Route::Finished(_)
                | Route::Abandoned(_)
                | Route::Own { .. }
                | Route::Lifecycle(_)
                | Route::Refused(..),
                _,
            ) => {}
        }
    }
}

/// Send every routed frame on its way; ask the lock (with `--lock`), then the policy, about governed calls.
/// `from` is the side whose input (a line of `line_len` bytes) made these routes; decisions count as the client's.
fn dispatch(
    routes: &mut Vec<Route>,
    router: &mut Router,
    governance: &mut Governance,
    lock: &mut Option<super::lock_hook::LockHook>,
    outlets: &mut Outlets,
    from: Side,
    line_len: usize,
) {
    let mut decided = Vec::new();
    if let Some(hook) = lock.as_ref() {
        for drift in hook.take_list_drift() {
            governance.lock_drift(&drift);
        }
    }
    // The lock can release held calls (a listing ended): they are governed in a further round.
    while !routes.is_empty() {
        let round: Vec<Route> = std::mem::take(routes);
        for route in round {
            let mut step = Step {
                routes,
                decided: &mut decided,
                router,
                governance,
                lock,
                outlets,
            };
            step.one(route, from, line_len);
        }
    }
}

/// What one route of a dispatch round may touch.
struct Step<'a, 'b> {
    routes: &'a mut Vec<Route>,
    decided: &'a mut Vec<Route>,
    router: &'a mut Router,
    governance: &'a mut Governance,
    lock: &'a mut Option<super::lock_hook::LockHook>,
    outlets: &'a mut Outlets<'b>,
}

impl Step<'_, '_> {
    fn one(&mut self, route: Route, from: Side, line_len: usize) {
        use super::lock_hook::Admit;
        match route {
            Route::Finished(done) => self.governance.finished(done),
            Route::Abandoned(proxy) => {
                if let Some(hook) = self.lock.as_mut() {
                    hook.abandoned(proxy);
                }
                self.outlets.held.release(proxy);
                self.governance.abandoned(proxy)
            }
            Route::Lifecycle(event) => {
                if let Some(frame) = self
                    .lock
                    .as_mut()
                    .and_then(|hook| hook.on_lifecycle(event, self.router))
                {
                    self.outlets.to_server.send(frame);
                }
            }
            Route::Own { proxy, line } => {
                if let Some(hook) = self.lock.as_mut() {
                    let (next, released) = hook.on_own(proxy, &line, self.router);
                    if let Some(frame) = next {
                        self.outlets.to_server.send(frame);
                    }
                    self.routes.extend(released.into_iter().map(Route::Govern));
                }
            }
            Route::Refused(call, reason) => self.governance.refused(call, reason),
            Route::Govern(call) => {
                let call = match self.lock.as_mut() {
                    None => call,
                    Some(hook) => match hook.admit(call) {
                        Admit::Held => return,
                        Admit::Block(call, refused) => {
                            lock_block(call, refused, self.router, self.governance, self.routes);
                            return;
                        }
                        Admit::Pass(call, drift) => {
                            if let Some(drift) = drift {
                                self.governance.lock_drift(&drift);
                            }
                            call
                        }
                    },
                };
                let (proxy, arguments_len) =
                    (call.proxy_id, call.arguments.as_ref().map_or(0, Bytes::len));
                let Some((proxy, decision)) = self.governance.govern(call) else {
                    // Waiting for the enforcer: charged to the held-call budget until it is decided.
                    self.outlets.held.hold(proxy, line_len, arguments_len);
                    return;
                };
                self.router.on_decision(proxy, decision, self.decided);
                for route in self.decided.drain(..) {
                    self.outlets.send(route, Side::Client);
                }
            }
            route => self.outlets.send(route, from),
        }
    }
}

/// A call the lock refuses: audited as a BLOCK, answered -32001 with `drift` (the policy is not asked).
fn lock_block(
    call: crate::policy::ToolCall,
    refused: super::lock_hook::Refused,
    router: &mut Router,
    governance: &mut Governance,
    out: &mut Vec<Route>,
) {
    let refusal = crate::policy::Refusal {
        reason: format!("lock: {}", refused.reason),
        violation_id: crate::policy::new_id("v"),
    };
    let proxy = call.proxy_id;
    governance.refused_by_lock(&call, &crate::policy::Decision::Block(refusal.clone()));
    if let Some(drift) = &refused.drift {
        governance.lock_drift(drift);
    }
    router.on_lock_block(
        proxy,
        &refusal.reason,
        &refusal.violation_id,
        refused.drift.as_ref().map(|d| d.wire()),
        out,
    );
}

/// How long a refusing thoth keeps answering the client before it exits.
const REFUSAL_WINDOW: Duration = Duration::from_secs(30);

/// thoth cannot govern (root in prod, bad settings, the server would not start): still speak MCP, answering
/// every request (the client's `initialize` first of all) with an error that says what is wrong, until the
/// client leaves or `REFUSAL_WINDOW` passes.
pub async fn refuse(message: &str, hint: Option<&str>) {
    let (client_in, mut client_out) = platform::client_stdio();
    let mut frames = FramedRead::new(client_in, LineCodec::new(super::MAX_LINE_BYTES));
    let text = match hint {
        Some(hint) => format!("thoth: refused to start: {message}. {hint}"),
        None => format!("thoth: refused to start: {message}"),
    };
    let data = serde_json::json!({"thoth": {"reason": message, "hint": hint}});
    let deadline = Instant::now() + REFUSAL_WINDOW;
    loop {
        let frame = tokio::select! {
            frame = frames.next() => frame,
            () = sleep_until(deadline) => None,
        };
        let Some(Ok(Frame::Line(line))) = frame else {
            match frame {
                Some(Ok(Frame::Oversized { .. })) => continue,
                _ => break,
            }
        };
        let line = Bytes::from(line);
        let reply = match serde_json::from_slice::<Envelope>(&line) {
            Ok(env) if env.kind() == Kind::Request => {
                error_frame(env.id, envelope::INTERNAL_ERROR, &text, Some(data.clone()))
            }
            Ok(_) => continue,
            Err(_) => error_frame(
                None,
                envelope::PARSE_ERROR,
                "thoth: invalid JSON-RPC message",
                None,
            ),
        };
        let mut bytes = reply.to_vec();
        bytes.push(b'\n');
        if client_out.write_all(&bytes).await.is_err() || client_out.flush().await.is_err() {
            break;
        }
    }
}
