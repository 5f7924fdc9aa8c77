//! The pure heart of the proxy: given a frame from one side, say where it goes (`Route`). Translates ids in
//! both directions, keeps the bounded pending tables, closes entries on cancellation, splits batches, and
//! holds every tools/call until its decision arrives. What a client message is comes from `classify`: only
//! what it classified is forwarded, element by element. No I/O and no `.await` (STYLE.md §4, DESIGN.md §2).
//! One job per file: `classify` (what a client message is), this file (client -> server routing and the
//! tables), `server` (server -> client), `pending` (decisions and endings: what leaves the pending table).

mod classify;

pub use classify::{is_plain_name, GOVERNED_METHODS};

use std::collections::HashMap;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::envelope::{
    self, error_frame, id_shape, proxy_id, recover_id, shape, span_of, Envelope, IdShape, Kind,
    Outbound, Shape,
};
use crate::policy::ToolCall;
use classify::{Class, Refused};

/// Where a frame goes.
#[derive(Debug)]
pub enum Route {
    ToServer(Outbound),
    ToClient(Outbound),
    /// Ask the policy about this call, then report back with `Router::on_decision`.
    Govern(ToolCall),
    /// A forwarded tools/call got its answer (for the audit log and TOOL_CALL_POST events).
    Finished(Finished),
    /// The client cancelled a call still waiting for its decision: stop deciding it (an enforcer hold).
    Abandoned(u64),
    /// The answer to a request thoth made itself (`request_own`): it never reaches the client.
    Own {
        proxy: u64,
        line: Bytes,
    },
    /// A session event the lock guard listens for (after the frame itself was routed).
    Lifecycle(Lifecycle),
    /// A governed method that was never forwarded (a notification, an id of `null`, a lookalike spelling,
    /// broken params): record it in the audit log as refused, for this reason. Nothing is asked of the policy.
    Refused(ToolCall, String),
}

/// Session events for `proxy::lock_hook`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// The client sent `notifications/initialized`.
    ClientInitialized,
    /// The server sent `notifications/tools/list_changed`.
    ToolsChanged,
}

/// How a forwarded tools/call ended.
#[derive(Debug)]
pub struct Finished {
    pub proxy_id: u64,
    pub tool: String,
    /// The raw `result` (or `error`) JSON: a slice of the response line, not a copy.
    pub outcome: Option<Bytes>,
    /// The server answered with a JSON-RPC error.
    pub is_error: bool,
    /// The result says `"isError": true` (read from the parsed result, as the client reads it).
    pub tool_error: bool,
}

/// A client request in flight.
#[derive(Debug)]
struct ClientRequest {
    original: Box<RawValue>,
    /// Set while a tools/call waits for its decision: the translated frame, not yet forwarded.
    held: Option<Held>,
    /// A tools/list: its result is filtered when a policy hides tools.
    lists_tools: bool,
    /// A tools/call that was forwarded: its tool, so its answer can be reported as `Finished`.
    forwarded_tool: Option<String>,
}

/// Which tools a tools/list result may show (the policy's view); absent, lists pass untouched.
pub use crate::policy::ListFilter;
/// Which tool definitions a tools/list result may show, judged on the whole definition (the lock's view).
pub type ToolFilter = Box<dyn Fn(&RawValue) -> bool + Send>;

#[derive(Debug)]
struct Held {
    frame: Outbound,
    tool: String,
}

pub struct Router {
    agent_id: String,
    max_pending: usize,
    next_id: u64,
    /// Client requests by the proxy id the server sees.
    client: HashMap<u64, ClientRequest>,
    /// The client's id text -> proxy id, for `notifications/cancelled`.
    client_ids: HashMap<Box<str>, u64>,
    /// Server requests by the proxy id the client sees -> the server's own id.
    server: HashMap<u64, Box<RawValue>>,
    server_ids: HashMap<Box<str>, u64>,
    list_filter: Option<ListFilter>,
    tool_filter: Option<ToolFilter>,
    /// Proxy ids of requests thoth itself sent to the server (see `own.rs`).
    own: std::collections::HashSet<u64>,
    /// Report `Route::Lifecycle` events (only the lock listens for them).
    lifecycle: bool,
}

pub(super) const CANCELLED: &str = "notifications/cancelled";

#[derive(Deserialize)]
struct CancelParams<'a> {
    #[serde(borrow, rename = "requestId")]
    request_id: Option<&'a RawValue>,
}

impl Router {
    pub fn new(agent_id: impl Into<String>, max_pending: usize) -> Router {
        Router {
            agent_id: agent_id.into(),
            max_pending: max_pending.max(1),
            next_id: 0,
            client: HashMap::new(),
            client_ids: HashMap::new(),
            server: HashMap::new(),
            server_ids: HashMap::new(),
            list_filter: None,
            tool_filter: None,
            own: std::collections::HashSet::new(),
            lifecycle: false,
        }
    }

    /// Hide the tools `visible` rejects from tools/list results (a policy that restricts the session).
    pub fn with_list_filter(mut self, visible: ListFilter) -> Router {
        self.list_filter = Some(visible);
        self
    }

    /// Hide tool definitions `keep` rejects from tools/list results (the lock), on top of any list filter.
    pub fn with_tool_filter(mut self, keep: ToolFilter) -> Router {
        self.tool_filter = Some(keep);
        self
    }

    /// Also report `Route::Lifecycle` events (initialized, tools list_changed) after routing their frames.
    pub fn with_lifecycle_events(mut self) -> Router {
        self.lifecycle = true;
        self
    }

    /// Client requests still waiting for an answer.
    pub fn pending(&self) -> usize {
        self.client.len()
    }

    fn allocate(&mut self) -> (u64, Bytes) {
        let id = self.next_id;
        self.next_id += 1;
        (id, Bytes::from(id.to_string()))
    }

    // ---- client -> server ------------------------------------------------------------------------------

    /// One line from the client.
    pub fn on_client(&mut self, line: Bytes, out: &mut Vec<Route>) {
        match shape(&line) {
            Shape::Batch => match split_batch(&line) {
                Some(elements) if !elements.is_empty() => {
                    for element in elements {
                        if shape(&element) == Shape::Object {
                            self.on_client_object(element, out);
                        } else {
                            // A lenient server may read an array positionally: never forward one.
                            out.push(client_error(
                                None,
                                envelope::INVALID_REQUEST,
                                "thoth: a batch element that is not a JSON-RPC object (an array, a number, a string, null) is not forwarded",
                            ));
                        }
                    }
                }
                Some(_) => out.push(client_error(
                    None,
                    envelope::INVALID_REQUEST,
                    "thoth: empty batch",
                )),
                None => out.push(client_error(
                    None,
                    envelope::PARSE_ERROR,
                    "thoth: the batch is not valid JSON",
                )),
            },
            _ => self.on_client_object(line, out),
        }
    }

    fn on_client_object(&mut self, line: Bytes, out: &mut Vec<Route>) {
        // serde_json skips the strings it does not keep without checking their UTF-8, and a server may decode
        // them leniently: a line that is not UTF-8 is not JSON, and is never forwarded (found by fuzz `batch`).
        if std::str::from_utf8(&line).is_err() {
            tracing::warn!("client sent a message that is not valid UTF-8");
            out.push(client_error(
                None,
                envelope::PARSE_ERROR,
                "thoth: invalid JSON-RPC message: not valid UTF-8 (JSON text must be)",
            ));
            return;
        }
        let env: Envelope = match serde_json::from_slice(&line) {
            Ok(env) => env,
            Err(err) => {
                tracing::warn!(error = %err, "client sent a message that is not valid JSON-RPC");
                // Not JSON at all: -32700 with a null id (JSON-RPC 2.0 §5). Valid JSON of the wrong shape
                // (a duplicate key, a non-string method): -32600 to the request's id when it has one.
                let (code, id) = if err.is_data() {
                    let id = recover_id(&line)
                        .filter(|(_, is_request)| *is_request)
                        .map(|(id, _)| id);
                    (envelope::INVALID_REQUEST, id)
                } else {
                    (envelope::PARSE_ERROR, None)
                };
                out.push(client_error(
                    id.as_deref(),
                    code,
                    &format!("thoth: invalid JSON-RPC message: {err}"),
                ));
                return;
            }
        };
        let call = match classify::classify(&env) {
            Class::Refuse(refused) => return self.refuse_unforwarded(&env, refused, out),
            Class::Call { name, arguments } => Some((name, arguments)),
            Class::Pass => None,
        };
        match env.kind() {
            Kind::Request => self.client_request(&line, &env, call, out),
            Kind::Notification => self.client_notification(&line, &env, out),
            Kind::Response => self.client_response(&line, &env, out),
            Kind::Invalid => {
                let id = env
                    .id
                    .filter(|id| matches!(id_shape(id), IdShape::Number | IdShape::String));
                out.push(client_error(
                    id,
                    envelope::INVALID_REQUEST,
                    "thoth: not a JSON-RPC request, notification or response",
                ));
            }
        }
    }

    /// A message `classify` refused: answer it when it has a usable id (a notification gets no answer), and
    /// have a refused governed method recorded.
    fn refuse_unforwarded(&mut self, env: &Envelope, refused: Refused, out: &mut Vec<Route>) {
        tracing::warn!(reason = %refused.message, "refused a client message; not forwarded");
        if let Some(name) = refused.audit {
            let (proxy_id, _) = self.allocate();
            out.push(Route::Refused(
                ToolCall {
                    proxy_id,
                    name,
                    arguments: None,
                },
                refused.message.clone(),
            ));
        }
        if let Some(id) = env.id {
            let id =
                Some(id).filter(|id| matches!(id_shape(id), IdShape::Number | IdShape::String));
            out.push(client_error(id, refused.code, &refused.message));
        }
    }

    fn client_request(
        &mut self,
        line: &Bytes,
        env: &Envelope,
        call: Option<(String, Option<&RawValue>)>,
        out: &mut Vec<Route>,
    ) {
        let Some(id) = env.id else { return };
        if !matches!(id_shape(id), IdShape::Number | IdShape::String) {
            out.push(client_error(
                None,
                envelope::INVALID_REQUEST,
                "thoth: a request id must be a string or a number",
            ));
            return;
        }
        if self.client.len() >= self.max_pending {
            tracing::warn!(
                max_pending = self.max_pending,
                "pending table full: refusing a request"
            );
            out.push(client_error(
                Some(id),
                envelope::INTERNAL_ERROR,
                &format!(
                    "thoth: too many requests in flight ({}; --max-pending); not forwarded",
                    self.max_pending
                ),
            ));
            return;
        }
        let Some(span) = span_of(line, id) else {
            return;
        };
        let method = env.method.as_deref().unwrap_or_default();
        let call = call.map(|(name, arguments)| {
            let arguments = arguments
                .and_then(|a| span_of(line, a))
                .map(|(start, end)| line.slice(start..end));
            (name, arguments)
        });
        let (proxy, proxy_text) = self.allocate();
        let frame = Outbound::spliced(line, span, proxy_text);
        if let Some(previous) = self.client_ids.insert(id.get().into(), proxy) {
            tracing::warn!(
                id = id.get(),
                previous,
                "client reused an id that is still in flight"
            );
        }
        let held = match call {
            Some((tool, arguments)) => {
                out.push(Route::Govern(ToolCall {
                    proxy_id: proxy,
                    name: tool.clone(),
                    arguments,
                }));
                Some(Held { frame, tool })
            }
            None => {
                out.push(Route::ToServer(frame));
                None
            }
        };
        self.client.insert(
            proxy,
            ClientRequest {
                original: id.to_owned(),
                held,
                lists_tools: method == "tools/list",
                forwarded_tool: None,
            },
        );
    }

    fn client_notification(&mut self, line: &Bytes, env: &Envelope, out: &mut Vec<Route>) {
        if env.method.as_deref() != Some(CANCELLED) {
            out.push(Route::ToServer(Outbound::whole(line.clone())));
            if self.lifecycle && env.method.as_deref() == Some("notifications/initialized") {
                out.push(Route::Lifecycle(Lifecycle::ClientInitialized));
            }
            return;
        }
        let Some(target) = cancel_target(env) else {
            tracing::warn!("dropping notifications/cancelled without a requestId");
            return;
        };
        let Some(proxy) = self.client_ids.remove(target.get()) else {
            tracing::debug!(
                request_id = target.get(),
                "dropping a cancellation for a request no longer in flight"
            );
            return;
        };
        let Some(request) = self.client.remove(&proxy) else {
            return;
        };
        if request.held.is_some() {
            tracing::info!(
                request_id = target.get(),
                "tools/call cancelled before its decision: never forwarded"
            );
            out.push(Route::Abandoned(proxy));
            return;
        }
        if let Some(span) = span_of(line, target) {
            out.push(Route::ToServer(Outbound::spliced(
                line,
                span,
                Bytes::from(proxy.to_string()),
            )));
        }
    }

    fn client_response(&mut self, line: &Bytes, env: &Envelope, out: &mut Vec<Route>) {
        let Some(id) = env.id else { return };
        let Some(original) = proxy_id(id).and_then(|proxy| self.server.remove(&proxy)) else {
            tracing::warn!(
                id = id.get(),
                "dropping a client response to an unknown or already answered request"
            );
            return;
        };
        self.server_ids.remove(original.get());
        if let Some(span) = span_of(line, id) {
            out.push(Route::ToServer(Outbound::spliced(
                line,
                span,
                Bytes::copy_from_slice(original.get().as_bytes()),
            )));
        }
    }

    /// A client line over the cap: answer it if its id can be recovered.
    pub fn on_client_oversized(
        &mut self,
        prefix: &[u8],
        len: usize,
        max: usize,
        out: &mut Vec<Route>,
    ) {
        let message = format!("thoth: message of {len} bytes exceeds the {max}-byte line limit (--max-line-bytes); discarded");
        tracing::warn!(len, max, "discarded an oversized line from the client");
        match recover_id(prefix) {
            Some((id, true)) => {
                out.push(client_error(Some(&id), envelope::INVALID_REQUEST, &message))
            }
            Some((id, false)) => {
                if let Some(original) = proxy_id(&id).and_then(|proxy| self.server.remove(&proxy)) {
                    self.server_ids.remove(original.get());
                    out.push(Route::ToServer(error_frame(
                        Some(&original),
                        envelope::INTERNAL_ERROR,
                        &message,
                        None,
                    )));
                }
            }
            None => {}
        }
    }
}

fn client_error(id: Option<&RawValue>, code: i64, message: &str) -> Route {
    Route::ToClient(error_frame(id, code, message, None))
}

fn cancel_target<'a>(env: &Envelope<'a>) -> Option<&'a RawValue> {
    let params = env.params?;
    let parsed: CancelParams<'a> = serde_json::from_str(params.get()).ok()?;
    parsed.request_id
}

/// The elements of a batch line as slices of it (no copy), or None if it is not valid JSON.
fn split_batch(line: &Bytes) -> Option<Vec<Bytes>> {
    let elements: Vec<&RawValue> = serde_json::from_slice(line).ok()?;
    elements
        .into_iter()
        .map(|e| span_of(line, e).map(|(start, end)| line.slice(start..end)))
        .collect()
}

mod own;
#[cfg(test)]
mod own_tests;
mod pending;
mod server;
#[cfg(test)]
mod tests;
