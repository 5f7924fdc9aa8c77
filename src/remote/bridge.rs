//! The bridge task: client lines (already governed by the session) go to the remote server, its messages come
//! back as lines. Streamable HTTP: every message POSTed in order, answers as JSON or an SSE stream, the
//! `Mcp-Session-Id` on every later request, a GET stream after `notifications/initialized`, DELETE at the end.
//! `auto` falls back to the legacy transport (`sse`) when the initialize gets a 4xx other than 401.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use reqwest::StatusCode;
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::codec::FramedRead;

use super::auth::{Authorizer, Challenge};
use super::{sse, wire, Transport};
use crate::proxy::framing::{Frame, LineCodec};
use crate::proxy::upstream::{Process, Upstream};

/// Bytes each in-memory pipe holds before its writer waits.
const PIPE_BYTES: usize = 256 * 1024;
/// Messages queued toward the session before the HTTP readers wait (each at most one line).
const OUT_QUEUE: usize = 64;
/// How long the next client message waits for the previous POST's answer headers: order is kept for the
/// server without one slow tools/call holding up every later message.
const ORDER_WINDOW: Duration = Duration::from_millis(200);
const POST_TIMEOUT: Duration = Duration::from_secs(600);
const DELETE_TIMEOUT: Duration = Duration::from_millis(1500);
/// After stdin EOF, how long answers still in flight are waited for (with the DELETE: exit within 5 s).
const DRAIN_AT_EOF: Duration = Duration::from_millis(2500);
const SESSION_HEADER: &str = "mcp-session-id";

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
    pub out: mpsc::Sender<Vec<u8>>,
    /// The client's initialize line, replayed when a restarted server forgot the session (404).
    init_line: Mutex<Option<Bytes>>,
    reinit: tokio::sync::Mutex<()>,
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
        self.out.send(line).await.is_ok()
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
    let (out, mut out_rx) = mpsc::channel::<Vec<u8>>(OUT_QUEUE);
    let writer = tokio::spawn(async move {
        while let Some(line) = out_rx.recv().await {
            if bridge_out.write_all(&line).await.is_err() {
                break;
            }
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
            listener = Some(tokio::spawn(listen(shared.clone())).abort_handle());
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
    close(&shared, legacy.is_some()).await;
    drop(shared);
    let _ = tokio::time::timeout(Duration::from_secs(1), writer).await;
    0
}

/// How a POST ended.
enum Posted {
    Done,
    /// A 4xx other than 401 to the initialize: the server may speak only the legacy transport.
    Fallback(StatusCode),
}

async fn post_ready(
    shared: &Shared,
    line: Bytes,
    msg: &wire::Message,
    ready: oneshot::Sender<()>,
) -> Posted {
    let mut ready = Some(ready);
    post_with(shared, line, msg, false, &mut ready).await
}

async fn post(shared: &Shared, line: Bytes, msg: &wire::Message, init: bool) -> Posted {
    post_with(shared, line, msg, init, &mut None).await
}

async fn post_with(
    shared: &Shared,
    line: Bytes,
    msg: &wire::Message,
    init: bool,
    ready: &mut Option<oneshot::Sender<()>>,
) -> Posted {
    // A kept token refused, its refresh, then a sign-in: at most this many credentials per message.
    let mut authorizations = 0u8;
    let mut reinitialized = false;
    loop {
        let stale = shared.session_id.lock().ok().and_then(|s| s.clone());
        let sent_auth = shared.authorization.lock().ok().and_then(|a| a.clone());
        let sent = shared
            .request(reqwest::Method::POST, &shared.url, !init)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .timeout(POST_TIMEOUT)
            .body(line.clone())
            .send()
            .await;
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        let response = match sent {
            Ok(response) => response,
            Err(err) => {
                shared
                    .fail(
                        msg,
                        &format!(
                            "could not reach the remote MCP server {}: {}",
                            shared.given,
                            crate::net::describe(&err)
                        ),
                    )
                    .await;
                return Posted::Done;
            }
        };
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            match shared.reauthorize(&response, sent_auth).await {
                Ok(true) if authorizations < 3 => {
                    authorizations += 1;
                    continue;
                }
                Ok(_) => shared.fail(msg, &unauthorized(&shared.given, None)).await,
                Err(detail) => {
                    shared
                        .fail(msg, &unauthorized(&shared.given, Some(&detail)))
                        .await
                }
            }
            return Posted::Done;
        }
        if status == StatusCode::NOT_FOUND && !init && stale.is_some() && !reinitialized {
            // The server forgot the session (it restarted): a new one, then this message again.
            reinitialized = true;
            if reinitialize(shared, stale).await {
                continue;
            }
        }
        if init && status.is_client_error() {
            return Posted::Fallback(status);
        }
        if !status.is_success() {
            shared
                .fail(
                    msg,
                    &format!(
                        "the remote MCP server {} answered HTTP {status} to {}",
                        shared.given,
                        msg.method.as_deref().unwrap_or("a message")
                    ),
                )
                .await;
            return Posted::Done;
        }
        if init {
            if let Some(id) = response.headers().get(SESSION_HEADER) {
                if let Ok(mut slot) = shared.session_id.lock() {
                    *slot = Some(id.clone());
                }
            }
        }
        read_answer(shared, response, msg).await;
        return Posted::Done;
    }
}

/// Forward a 2xx answer: nothing (202), one JSON body, or every message of an SSE stream as it arrives.
async fn read_answer(shared: &Shared, response: reqwest::Response, msg: &wire::Message) {
    let kind = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if response.status() == StatusCode::ACCEPTED {
        return;
    }
    if kind.starts_with("text/event-stream") {
        forward_events(shared, response.bytes_stream().eventsource()).await;
        return;
    }
    match response.bytes().await {
        Ok(body) if body.iter().all(u8::is_ascii_whitespace) => {}
        Ok(body) => match wire::to_line(&body) {
            Some(line) => {
                shared.send(line).await;
            }
            None => {
                shared
                    .fail(
                        msg,
                        &format!(
                            "the remote MCP server {} answered with a body that is not JSON",
                            shared.given
                        ),
                    )
                    .await
            }
        },
        Err(err) => {
            shared
                .fail(
                    msg,
                    &format!(
                        "reading the answer of the remote MCP server {} failed: {}",
                        shared.given,
                        crate::net::describe(&err)
                    ),
                )
                .await
        }
    }
}

/// Every `message` event's data as a line; returns the last event id seen (for resumption).
pub async fn forward_events<S, E>(shared: &Shared, mut events: S) -> Option<String>
where
    S: futures_util::Stream<Item = Result<eventsource_stream::Event, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut last = None;
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                tracing::debug!(error = %err, "the SSE stream broke");
                break;
            }
        };
        if !event.id.is_empty() {
            last = Some(event.id.clone());
        }
        if (event.event.is_empty() || event.event == "message") && !event.data.trim().is_empty() {
            match wire::to_line(event.data.as_bytes()) {
                Some(line) => {
                    if !shared.send(line).await {
                        break;
                    }
                }
                None => {
                    tracing::warn!("dropping an SSE event of the remote server that is not JSON")
                }
            }
        }
    }
    last
}

/// A new session for a restarted server: the client's initialize again (its answer swallowed), then
/// `notifications/initialized`. Only one task does it; the others see the new id.
async fn reinitialize(shared: &Shared, stale: Option<HeaderValue>) -> bool {
    let _guard = shared.reinit.lock().await;
    let current = shared.session_id.lock().ok().and_then(|s| s.clone());
    if current != stale {
        return true;
    }
    let Some(init) = shared.init_line.lock().ok().and_then(|l| l.clone()) else {
        return false;
    };
    tracing::warn!(url = %shared.given, "the remote MCP server forgot the session (404); starting a new one");
    let response = shared
        .request(reqwest::Method::POST, &shared.url, false)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .timeout(POST_TIMEOUT)
        .body(init)
        .send()
        .await;
    let Ok(response) = response else { return false };
    if !response.status().is_success() {
        return false;
    }
    let id = response.headers().get(SESSION_HEADER).cloned();
    let _ = response.bytes().await;
    if let Ok(mut slot) = shared.session_id.lock() {
        *slot = id;
    }
    let note = Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    let done = shared
        .request(reqwest::Method::POST, &shared.url, true)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .body(note)
        .send()
        .await;
    done.is_ok()
}

/// The GET stream for server-initiated messages, reopened with `Last-Event-ID` when it breaks.
async fn listen(shared: Arc<Shared>) {
    let mut last: Option<String> = None;
    let mut delay = Duration::from_millis(100);
    loop {
        let mut req = shared
            .request(reqwest::Method::GET, &shared.url, true)
            .header(ACCEPT, "text/event-stream")
            .timeout(Duration::from_secs(86400));
        if let Some(id) = &last {
            req = req.header("last-event-id", id.as_str());
        }
        match req.send().await {
            Ok(response) if response.status() == StatusCode::METHOD_NOT_ALLOWED => {
                tracing::debug!("the remote server offers no GET stream");
                return;
            }
            Ok(response) if response.status().is_success() => {
                delay = Duration::from_millis(100);
                if let Some(id) =
                    forward_events(&shared, response.bytes_stream().eventsource()).await
                {
                    last = Some(id);
                }
                if shared.out.is_closed() {
                    return;
                }
            }
            Ok(response) => tracing::debug!(
                status = response.status().as_u16(),
                "the GET stream was refused"
            ),
            Err(err) => {
                tracing::debug!(error = %crate::net::describe(&err), "the GET stream failed")
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Stdin EOF: end the session at the server (DELETE with the session id), bounded.
async fn close(shared: &Shared, legacy: bool) {
    if legacy
        || shared
            .session_id
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .is_none()
    {
        return;
    }
    let deleted = shared
        .request(reqwest::Method::DELETE, &shared.url, true)
        .timeout(DELETE_TIMEOUT)
        .send()
        .await;
    match deleted {
        Ok(response) => tracing::debug!(
            status = response.status().as_u16(),
            "ended the remote session"
        ),
        Err(err) => {
            tracing::debug!(error = %crate::net::describe(&err), "could not end the remote session")
        }
    }
}
