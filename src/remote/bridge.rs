//! The bridge task: client lines (already governed by the session) go to the remote server, its messages come
//! back as lines. Streamable HTTP: every message POSTed in order, answers as JSON or an SSE stream, the
//! `Mcp-Session-Id` on every later request, a GET stream after `notifications/initialized`, DELETE at the end.
//! `auto` falls back to the legacy transport (`sse`) when the initialize gets a 4xx other than 401.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::HeaderMap;
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_util::codec::FramedRead;

use super::auth::Authorizer;
use super::post::{post, post_ready, Posted};
use super::shared::Shared;
use super::{queue, session, sse, wire, Transport};
use crate::proxy::framing::{Frame, LineCodec};
use crate::proxy::upstream::{Process, Upstream};

/// Bytes each in-memory pipe holds before its writer waits.
const PIPE_BYTES: usize = 256 * 1024;
/// Bytes queued toward the session before the HTTP readers wait: this many lines of `--max-line-bytes`
/// (at least 1 MiB), so one slow client holds the server back instead of growing a buffer.
const OUT_QUEUE_LINES: usize = 2;
const OUT_QUEUE_MIN: usize = 1 << 20;
/// How long the next client message waits for the previous POST's answer headers: order is kept for the
/// server without one slow tools/call holding up every later message.
const ORDER_WINDOW: Duration = Duration::from_millis(200);
/// After stdin EOF, how long answers still in flight are waited for (with the DELETE: exit within 5 s).
const DRAIN_AT_EOF: Duration = Duration::from_millis(2500);

pub struct Options {
    /// The URL as given (for errors) and parsed.
    pub given: String,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub transport: Transport,
    pub max_line_bytes: usize,
}

/// Start the bridge; the session gets its pipes and its exit as an `Upstream`.
pub fn start(opts: Options, http: reqwest::Client, auth: Box<dyn Authorizer>) -> Upstream {
    let (session_in, bridge_in) = tokio::io::duplex(PIPE_BYTES);
    let (bridge_out, session_out) = tokio::io::duplex(PIPE_BYTES);
    let (exit_tx, exit_rx) = oneshot::channel();
    let (stop_tx, stop_rx) = oneshot::channel();
    tokio::spawn(async move {
        let code = run(opts, http, auth, bridge_in, bridge_out, stop_rx).await;
        let _ = exit_tx.send(code);
    });
    Upstream {
        child: Process::Bridge {
            exit: Some(exit_rx),
            stop: Some(stop_tx),
        },
        stdin: Box::new(session_in),
        stdout: Box::new(session_out),
        lifeline: None,
    }
}

async fn run(
    opts: Options,
    http: reqwest::Client,
    auth: Box<dyn Authorizer>,
    bridge_in: DuplexStream,
    mut bridge_out: DuplexStream,
    mut stop: oneshot::Receiver<()>,
) -> u8 {
    let (out, mut out_rx) =
        queue::channel((opts.max_line_bytes.saturating_mul(OUT_QUEUE_LINES)).max(OUT_QUEUE_MIN));
    let writer = tokio::spawn(async move {
        while let Some((line, room)) = out_rx.recv().await {
            if bridge_out.write_all(&line).await.is_err() {
                break;
            }
            drop(room);
        }
        let _ = bridge_out.shutdown().await;
    });
    let shared = Arc::new(Shared {
        http,
        given: opts.given,
        url: opts.url,
        headers: opts.headers,
        session_id: Mutex::new(None),
        authorization: Mutex::new(None),
        auth,
        out,
        limit: opts.max_line_bytes,
        init_line: Mutex::new(None),
        reinit: tokio::sync::Mutex::new(()),
    });
    let mut lines = FramedRead::new(bridge_in, LineCodec::new(opts.max_line_bytes));
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut legacy: Option<sse::Legacy> = None;
    if opts.transport == Transport::Sse {
        match sse::Legacy::connect(shared.clone()).await {
            Ok(l) => legacy = Some(l),
            Err(err) => tracing::warn!(url = %shared.given, "{err}"),
        }
    }
    let mut listener: Option<tokio::task::AbortHandle> = None;
    let mut stopped = false;
    loop {
        let frame = tokio::select! {
            _ = &mut stop => {
                stopped = true;
                break;
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            frame = lines.next() => frame,
        };
        let line = match frame {
            Some(Ok(Frame::Line(line))) => line.freeze(),
            // The session refuses oversized client lines itself; nothing of one reaches here whole.
            Some(Ok(Frame::Oversized { .. })) => continue,
            Some(Err(_)) | None => break,
        };
        let msg = wire::read(&line);
        if opts.transport == Transport::Sse {
            match &legacy {
                Some(l) => l.post(line, &msg).await,
                None => {
                    shared
                        .fail(
                            &msg,
                            &format!(
                                "could not open the legacy SSE stream of the remote MCP server {}",
                                shared.given
                            ),
                        )
                        .await
                }
            }
            continue;
        }
        if let Some(l) = &legacy {
            l.post(line, &msg).await;
            continue;
        }
        if msg.is_initialize() {
            if let Ok(mut slot) = shared.init_line.lock() {
                *slot = Some(line.clone());
            }
            match post(&shared, line.clone(), &msg, true).await {
                Posted::Done => {}
                Posted::Fallback(status) if opts.transport == Transport::Auto => {
                    tracing::info!(status = status.as_u16(), "Streamable HTTP refused the initialize; trying the legacy HTTP+SSE transport");
                    match sse::Legacy::connect(shared.clone()).await {
                        Ok(l) => {
                            l.post(line, &msg).await;
                            legacy = Some(l);
                        }
                        Err(err) => shared.fail(&msg, &format!("the remote MCP server {} answered HTTP {status} to the initialize, and the legacy SSE transport failed too: {err}", shared.given)).await,
                    }
                }
                Posted::Fallback(status) => {
                    shared
                        .fail(
                            &msg,
                            &format!(
                                "the remote MCP server {} answered HTTP {status} to the initialize",
                                shared.given
                            ),
                        )
                        .await
                }
            }
            continue;
        }
        let (ready_tx, ready_rx) = oneshot::channel();
        let task_shared = shared.clone();
        let initialized = msg.is_initialized();
        tasks.spawn(async move {
            let _ = post_ready(&task_shared, line, &msg, ready_tx).await;
        });
        let _ = tokio::time::timeout(ORDER_WINDOW, ready_rx).await;
        if initialized && listener.is_none() {
            listener = Some(tokio::spawn(session::listen(shared.clone())).abort_handle());
        }
    }
    if let Some(listener) = listener {
        listener.abort();
    }
    // Answers to what the client sent just before it closed stdin still reach it, within a bound.
    if !stopped {
        let _ = tokio::time::timeout(DRAIN_AT_EOF, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
    }
    tasks.shutdown().await;
    if let Some(l) = &legacy {
        if !stopped {
            l.finish(DRAIN_AT_EOF).await;
        }
    }
    session::close(&shared, legacy.is_some()).await;
    drop(shared);
    let _ = tokio::time::timeout(Duration::from_secs(1), writer).await;
    0
}
