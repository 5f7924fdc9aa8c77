//! The only place `thoth run` does I/O and the only writer of its stdout: one `select!` loop over the client's
//! frames, the server's frames, pending decisions, the child's exit, signals and shutdown timers. Every task
//! it starts belongs to one of its JoinSets (DESIGN.md §2, STYLE.md §4).

use std::process::ExitStatus;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;
use tokio::time::{sleep_until, Instant};
use tokio_util::codec::FramedRead;

use super::envelope::{self, error_frame, Envelope, Kind};
use super::framing::{Frame, LineCodec};
use super::governance::Governance;
use super::outlet::Outlet;
use super::router::{Route, Router};
use super::upstream::Upstream;
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
        mut child,
        stdin,
        stdout,
    } = upstream;
    let (client_in, client_out) = platform::client_stdio();
    let mut client_frames =
        FramedRead::with_capacity(client_in, LineCodec::new(cfg.max_line_bytes), READ_CAPACITY);
    let mut server_frames =
        FramedRead::with_capacity(stdout, LineCodec::new(cfg.max_line_bytes), READ_CAPACITY);

    let mut writers: JoinSet<(Side, std::io::Result<()>)> = JoinSet::new();
    let (mut to_server, task) = Outlet::new(stdin);
    writers.spawn(async move { (Side::Server, task.await) });
    let (mut to_client, task) = Outlet::new(client_out);
    writers.spawn(async move { (Side::Client, task.await) });

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
    let mut routes: Vec<Route> = Vec::with_capacity(8);

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
        tokio::select! {
            frame = client_frames.next(), if client_open && to_server.has_room() => match frame {
                Some(Ok(Frame::Line(line))) => router.on_client(line.freeze(), &mut routes),
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
            frame = server_frames.next(), if server_open && to_client.has_room() => match frame {
                Some(Ok(Frame::Line(line))) => router.on_server(line.freeze(), &mut routes),
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
            },
            Some(joined) = governance.next_decided(), if governance.is_deciding() => {
                if let Some((proxy, decision)) = governance.decided(joined) {
                    router.on_decision(proxy, decision, &mut routes);
                }
            },
            exited = child.wait(), if status.is_none() => {
                let exited = exited.map_err(Error::Io)?;
                tracing::info!(status = %exited, "the MCP server exited");
                status = Some(exited);
                stop = None;
                drain_until = Some(Instant::now() + DRAIN_AFTER_EXIT);
            },
            () = sleep_until(stop.map_or(far, |(at, _)| at)), if stop.is_some() && status.is_none() => {
                match stop {
                    Some((_, Stop::Terminate)) => {
                        tracing::warn!(grace_ms = cfg.shutdown_grace.as_millis() as u64, "the server is still running; terminating it");
                        platform::terminate(&mut child);
                        stop = Some((Instant::now() + cfg.shutdown_grace, Stop::Kill));
                    }
                    Some((_, Stop::Kill)) => {
                        tracing::warn!("the server ignored termination; killing it");
                        let _ = child.start_kill();
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
                platform::forward(&mut child, signal);
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
            () = to_server.drained(), if !to_server.has_room() => {},
            () = to_client.drained(), if !to_client.has_room() => {},
            Some(Ok((side, result))) = writers.join_next() => {
                if let Err(err) = result {
                    match side {
                        Side::Client => {
                            tracing::warn!(error = %err, "writing to the client failed; treating it as gone");
                            to_client.close();
                            client_open = false;
                            begin_stop(&mut to_server, &mut stop, cfg.shutdown_grace);
                        }
                        Side::Server => tracing::warn!(error = %err, "writing to the server failed"),
                    }
                }
            },
        }
        dispatch(
            &mut routes,
            &mut router,
            &mut governance,
            &mut lock,
            &to_server,
            &to_client,
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
    dispatch(
        &mut routes,
        &mut router,
        &mut governance,
        &mut lock,
        &to_server,
        &to_client,
    );
    to_client.close();
    to_server.close();
    let flushed = tokio::time::timeout(FLUSH_AT_EXIT, async {
        while writers.join_next().await.is_some() {}
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

/// Send every routed frame on its way; ask the lock (with `--lock`), then the policy, about governed calls.
fn dispatch(
    routes: &mut Vec<Route>,
    router: &mut Router,
    governance: &mut Governance,
    lock: &mut Option<super::lock_hook::LockHook>,
    to_server: &Outlet,
    to_client: &Outlet,
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
            dispatch_one(
                route,
                routes,
                &mut decided,
                router,
                governance,
                lock,
                to_server,
                to_client,
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn dispatch_one(
    route: Route,
    routes: &mut Vec<Route>,
    decided: &mut Vec<Route>,
    router: &mut Router,
    governance: &mut Governance,
    lock: &mut Option<super::lock_hook::LockHook>,
    to_server: &Outlet,
    to_client: &Outlet,
) {
    use super::lock_hook::Admit;
    {
        match route {
            Route::ToServer(frame) => to_server.send(frame),
            Route::ToClient(frame) => to_client.send(frame),
            Route::Finished(done) => governance.finished(done),
            Route::Abandoned(proxy) => {
                if let Some(hook) = lock.as_mut() {
                    hook.abandoned(proxy);
                }
                governance.abandoned(proxy)
            }
            Route::Lifecycle(event) => {
                if let Some(frame) = lock
                    .as_mut()
                    .and_then(|hook| hook.on_lifecycle(event, router))
                {
                    to_server.send(frame);
                }
            }
            Route::Own { proxy, line } => {
                if let Some(hook) = lock.as_mut() {
                    let (next, released) = hook.on_own(proxy, &line, router);
                    if let Some(frame) = next {
                        to_server.send(frame);
                    }
                    routes.extend(released.into_iter().map(Route::Govern));
                }
            }
            Route::Refused(call, reason) => governance.refused(call, reason),
            Route::Govern(call) => {
                let call = match lock.as_mut() {
                    None => call,
                    Some(hook) => match hook.admit(call) {
                        Admit::Held => return,
                        Admit::Block(call, refused) => {
                            lock_block(call, refused, router, governance, routes);
                            return;
                        }
                        Admit::Pass(call, drift) => {
                            if let Some(drift) = drift {
                                governance.lock_drift(&drift);
                            }
                            call
                        }
                    },
                };
                let Some((proxy, decision)) = governance.govern(call) else {
                    return;
                };
                router.on_decision(proxy, decision, decided);
                for route in decided.drain(..) {
                    match route {
                        Route::ToServer(frame) => to_server.send(frame),
                        Route::ToClient(frame) => to_client.send(frame),
                        Route::Govern(_)
                        | Route::Finished(_)
                        | Route::Abandoned(_)
                        | Route::Own { .. }
                        | Route::Lifecycle(_)
                        | Route::Refused(..) => {}
                    }
                }
            }
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
