//! The bridge task: client lines (already governed by the session) go to the remote server, its messages come
//! back as lines. Streamable HTTP: every message POSTed in order, answers as JSON or an SSE stream, the
//! `Mcp-Session-Id` on every later request, a GET stream after `notifications/initialized`, DELETE at the end.
//! `auto` falls back to the legacy transport (`sse`) when the initialize gets a 4xx other than 401.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_util::codec::FramedRead;

use super::auth::{Authorizer, Challenge};
use super::post::{post, post_ready, Posted};
use super::{events, queue, session, sse, wire, Transport};
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
pub const SESSION_HEADER: &str = "mcp-session-id";

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

/// What every request task shares.
pub struct Shared {
    pub http: reqwest::Client,
    pub given: String,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub session_id: Mutex<Option<HeaderValue>>,
    pub authorization: Mutex<Option<HeaderValue>>,
    pub auth: Box<dyn Authorizer>,
    pub out: queue::Sender,
    /// The largest line, SSE event or JSON body read from the server (`--max-line-bytes`).
    pub limit: usize,
    /// The client's initialize line, replayed when a restarted server forgot the session (404).
    pub init_line: Mutex<Option<Bytes>>,
    pub reinit: tokio::sync::Mutex<()>,
}

impl Shared {
    /// The static headers, the Authorization the authorizer gave, and the session id (not on initialize).
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &url::Url,
        session: bool,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method, url.clone())
            .headers(self.headers.clone());
        if let Some(auth) = self.authorization.lock().ok().and_then(|a| a.clone()) {
            req = req.header(AUTHORIZATION, auth);
        }
        if session {
            if let Some(id) = self.session_id.lock().ok().and_then(|s| s.clone()) {
                req = req.header(SESSION_HEADER, id);
            }
        }
        req
    }

    /// Queue a line for the session (false: the session is gone).
    pub async fn send(&self, line: Vec<u8>) -> bool {
        self.out.send(line).await
    }

    /// Every `message` event of `stream` to the client as it arrives (`seen` looks at each event first);
    /// returns why the stream stopped. A line or event past the limit stops it (logged, never buffered).
    pub async fn forward(
        &self,
        stream: &mut events::Stream,
        mut seen: impl FnMut(&events::Event),
    ) -> events::End {
        loop {
            let event = match stream.next().await {
                Ok(event) => event,
                Err(end) => {
                    if let events::End::TooBig(limit) = end {
                        tracing::warn!(url = %self.given, limit, "the remote server sent an SSE line or event larger than --max-line-bytes; the stream is dropped");
                    }
                    return end;
                }
            };
            seen(&event);
            if !event.is_message() {
                continue;
            }
            match wire::to_line(&event.data) {
                Some(line) => {
                    if !self.send(line).await {
                        return events::End::Closed;
                    }
                }
                None => {
                    tracing::warn!("dropping an SSE event of the remote server that is not JSON")
                }
            }
        }
    }

    /// Answer request `msg` with the bridge's own error (nothing for a notification or a response).
    pub async fn fail(&self, msg: &wire::Message, message: &str) {
        tracing::warn!(url = %self.given, "{message}");
        if let (Some(id), true) = (&msg.id, msg.is_request()) {
            self.send(wire::error_line(
                id,
                message,
                Some(serde_json::json!({ "url": self.given })),
            ))
            .await;
        }
    }

    /// A 401: ask the authorizer for a credential; true if there is a new one to retry with.
    /// `sent`: the Authorization the refused request carried.
    pub async fn reauthorize(
        &self,
        response: &reqwest::Response,
        sent: Option<HeaderValue>,
    ) -> Result<bool, String> {
        let challenge = Challenge {
            url: self.given.clone(),
            sent: sent.and_then(|v| v.to_str().ok().map(str::to_owned)),
            www_authenticate: response
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect(),
        };
        match self.auth.on_unauthorized(&challenge).await {
            Ok(Some(value)) => {
                let mut value = HeaderValue::from_str(&value).map_err(|_| {
                    "the authorizer gave an Authorization value that is not a valid header"
                        .to_string()
                })?;
                value.set_sensitive(true);
                if let Ok(mut slot) = self.authorization.lock() {
                    *slot = Some(value);
                }
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(err) => Err(match err.hint {
                Some(hint) => format!("{} ({hint})", err.message),
                None => err.message,
            }),
        }
    }
}

/// The message of a 401 nobody could answer.
pub fn unauthorized(given: &str, detail: Option<&str>) -> String {
    let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
    format!("the remote MCP server {given} answered 401 Unauthorized{detail}; give it credentials with --header 'Authorization: Bearer <token>' (or an OAuth sign-in where the server supports it)")
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
