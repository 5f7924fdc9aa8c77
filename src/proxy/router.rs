//! The pure heart of the proxy: given a frame from one side, say where it goes (`Route`). Translates ids in
//! both directions, keeps the bounded pending tables, closes entries on cancellation, splits batches, and
//! holds every tools/call until its decision arrives. What a client message is comes from `classify`: only
//! what it classified is forwarded, element by element. No I/O and no `.await` (STYLE.md §4, DESIGN.md §2).

mod classify;

pub use classify::{is_plain_name, GOVERNED_METHODS};

use std::collections::HashMap;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::envelope::{
    self, error_frame, id_shape, proxy_id, recover_id, shape, span_of, Envelope, IdShape, Kind,
    Outbound, Shape,
};
use crate::policy::{Decision, Hold, Refusal, ToolCall};
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
pub type ListFilter = Box<dyn Fn(&str) -> bool + Send>;
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

const CANCELLED: &str = "notifications/cancelled";

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

    // ---- server -> client ------------------------------------------------------------------------------

    /// One line from the server.
    pub fn on_server(&mut self, line: Bytes, out: &mut Vec<Route>) {
        match shape(&line) {
            Shape::Batch => match split_batch(&line) {
                Some(elements) => {
                    for element in elements {
                        if shape(&element) == Shape::Object {
                            self.on_server_object(element, out);
                        } else {
                            tracing::warn!(
                                "dropping a server batch element that is not a JSON-RPC object"
                            );
                        }
                    }
                }
                None => tracing::warn!("dropping a server batch that is not valid JSON"),
            },
            _ => self.on_server_object(line, out),
        }
    }

    fn on_server_object(&mut self, line: Bytes, out: &mut Vec<Route>) {
        let env: Envelope = match serde_json::from_slice(&line) {
            Ok(env) => env,
            Err(err) => {
                tracing::warn!(error = %err, "server sent a message that is not valid JSON-RPC; dropped");
                if let Some((id, false)) = recover_id(&line) {
                    self.fail_client_request(
                        &id,
                        &format!("thoth: the MCP server sent an invalid response: {err}"),
                        out,
                    );
                }
                return;
            }
        };
        match env.kind() {
            Kind::Response => self.server_response(&line, &env, out),
            Kind::Request => self.server_request(&line, &env, out),
            Kind::Notification => self.server_notification(&line, &env, out),
            Kind::Invalid => tracing::warn!("dropping a server message that is not JSON-RPC"),
        }
    }

    fn server_response(&mut self, line: &Bytes, env: &Envelope, out: &mut Vec<Route>) {
        let Some(id) = env.id else { return };
        let Some(proxy) = proxy_id(id) else {
            tracing::warn!(
                id = id.get(),
                "dropping a server response with an id thoth never issued"
            );
            return;
        };
        if self.own.remove(&proxy) {
            out.push(Route::Own {
                proxy,
                line: line.clone(),
            });
            return;
        }
        match self.client.get(&proxy) {
            None => {
                tracing::warn!(
                    id = id.get(),
                    "dropping a server response to an unknown or already answered request"
                );
                return;
            }
            Some(request) if request.held.is_some() => {
                tracing::warn!(
                    id = id.get(),
                    "dropping a server response to a call it was never sent"
                );
                return;
            }
            Some(_) => {}
        }
        let Some(request) = self.client.remove(&proxy) else {
            return;
        };
        self.forget_client_id(&request.original, proxy);
        let Some(span) = span_of(line, id) else {
            return;
        };
        if let Some(tool) = request.forwarded_tool {
            let outcome = env
                .result
                .or(env.error)
                .and_then(|raw| span_of(line, raw))
                .map(|(start, end)| line.slice(start..end));
            out.push(Route::Finished(Finished {
                proxy_id: proxy,
                tool,
                outcome,
                is_error: env.error.is_some(),
                tool_error: env.error.is_none() && env.result.is_some_and(envelope::is_tool_error),
            }));
        }
        let mut edits = vec![(
            span,
            Bytes::copy_from_slice(request.original.get().as_bytes()),
        )];
        if let (true, Some(result)) = (request.lists_tools, env.result) {
            if self.list_filter.is_some() || self.tool_filter.is_some() {
                let keep = |name: &str, tool: &RawValue| {
                    self.list_filter.as_ref().is_none_or(|f| f(name))
                        && self.tool_filter.as_ref().is_none_or(|f| f(tool))
                };
                edits.extend(filter_tools(line, result, &keep));
            }
        }
        out.push(Route::ToClient(Outbound::spliced_many(line, edits)));
    }

    fn server_request(&mut self, line: &Bytes, env: &Envelope, out: &mut Vec<Route>) {
        let Some(id) = env.id else { return };
        if !matches!(id_shape(id), IdShape::Number | IdShape::String) {
            tracing::warn!(id = id.get(), "server request with an invalid id");
            out.push(Route::ToServer(error_frame(
                None,
                envelope::INVALID_REQUEST,
                "thoth: a request id must be a string or a number",
                None,
            )));
            return;
        }
        if self.server.len() >= self.max_pending {
            out.push(Route::ToServer(error_frame(
                Some(id),
                envelope::INTERNAL_ERROR,
                &format!(
                    "thoth: too many server requests in flight ({}); not forwarded",
                    self.max_pending
                ),
                None,
            )));
            return;
        }
        let Some(span) = span_of(line, id) else {
            return;
        };
        let (proxy, proxy_text) = self.allocate();
        self.server.insert(proxy, id.to_owned());
        self.server_ids.insert(id.get().into(), proxy);
        out.push(Route::ToClient(Outbound::spliced(line, span, proxy_text)));
    }

    fn server_notification(&mut self, line: &Bytes, env: &Envelope, out: &mut Vec<Route>) {
        if env.method.as_deref() != Some(CANCELLED) {
            out.push(Route::ToClient(Outbound::whole(line.clone())));
            if self.lifecycle && env.method.as_deref() == Some("notifications/tools/list_changed") {
                out.push(Route::Lifecycle(Lifecycle::ToolsChanged));
            }
            return;
        }
        let Some(target) = cancel_target(env) else {
            return;
        };
        let Some(proxy) = self.server_ids.remove(target.get()) else {
            tracing::debug!(
                request_id = target.get(),
                "dropping a server cancellation for a request no longer in flight"
            );
            return;
        };
        self.server.remove(&proxy);
        if let Some(span) = span_of(line, target) {
            out.push(Route::ToClient(Outbound::spliced(
                line,
                span,
                Bytes::from(proxy.to_string()),
            )));
        }
    }

    /// A server line over the cap: fail the request it answers, or refuse the request it makes.
    pub fn on_server_oversized(
        &mut self,
        prefix: &[u8],
        len: usize,
        max: usize,
        out: &mut Vec<Route>,
    ) {
        let message = format!("thoth: the MCP server sent {len} bytes, over the {max}-byte line limit (--max-line-bytes)");
        tracing::warn!(len, max, "discarded an oversized line from the server");
        match recover_id(prefix) {
            Some((id, false)) => self.fail_client_request(&id, &message, out),
            Some((id, true)) => out.push(Route::ToServer(error_frame(
                Some(&id),
                envelope::INTERNAL_ERROR,
                &message,
                None,
            ))),
            None => {}
        }
    }

    /// Answer the client request a broken server response was meant for.
    fn fail_client_request(&mut self, id: &RawValue, message: &str, out: &mut Vec<Route>) {
        let Some(proxy) = proxy_id(id) else { return };
        if self.client.get(&proxy).is_some_and(|r| r.held.is_none()) {
            if let Some(request) = self.client.remove(&proxy) {
                self.forget_client_id(&request.original, proxy);
                out.push(client_error(
                    Some(&request.original),
                    envelope::INTERNAL_ERROR,
                    message,
                ));
            }
        }
    }

    // ---- decisions and endings -------------------------------------------------------------------------

    /// The policy's answer for a held tools/call. Unknown ids (cancelled meanwhile) are ignored.
    pub fn on_decision(&mut self, proxy: u64, decision: Decision, out: &mut Vec<Route>) {
        let Some(held) = self.client.get_mut(&proxy).and_then(|r| r.held.take()) else {
            return;
        };
        if matches!(decision, Decision::Allow | Decision::Modify(_)) {
            if let Some(request) = self.client.get_mut(&proxy) {
                request.forwarded_tool = Some(held.tool.clone());
            }
        }
        match decision {
            Decision::Allow => out.push(Route::ToServer(held.frame)),
            Decision::Modify(arguments) => match with_arguments(&held.frame, &arguments.0) {
                Some(frame) => out.push(Route::ToServer(frame)),
                None => self.refuse(
                    proxy,
                    envelope::INTERNAL_ERROR,
                    "thoth: could not apply the modified arguments",
                    json!({"thoth": {"reason": "modify failed"}}),
                    out,
                ),
            },
            Decision::Block(Refusal {
                reason,
                violation_id,
            }) => {
                let data = json!({"thoth": {"decision": "BLOCK", "reason": reason, "violation_id": violation_id, "agent_id": self.agent_id, "tool": held.tool}});
                let message = format!("thoth: tools/call `{}` blocked: {reason}", held.tool);
                self.refuse(proxy, envelope::BLOCKED, &message, data, out);
            }
            Decision::StepUp(Hold {
                reason,
                hold_token,
                approval_url,
                timeout_seconds,
            }) => {
                let mut thoth = json!({"decision": "STEP_UP", "reason": reason, "hold_token": hold_token, "timeout_seconds": timeout_seconds, "agent_id": self.agent_id, "tool": held.tool});
                if let Some(url) = approval_url {
                    thoth["approval_url"] = json!(url);
                }
                let message = format!("thoth: tools/call `{}` needs approval: {reason}", held.tool);
                self.refuse(
                    proxy,
                    envelope::STEP_UP_REQUIRED,
                    &message,
                    json!({ "thoth": thoth }),
                    out,
                );
            }
        }
    }

    fn refuse(
        &mut self,
        proxy: u64,
        code: i64,
        message: &str,
        data: serde_json::Value,
        out: &mut Vec<Route>,
    ) {
        if let Some(request) = self.client.remove(&proxy) {
            self.forget_client_id(&request.original, proxy);
            out.push(Route::ToClient(error_frame(
                Some(&request.original),
                code,
                message,
                Some(data),
            )));
        }
    }

    /// The server is gone: answer every client request still in flight (oldest first).
    pub fn fail_all(&mut self, reason: &str, out: &mut Vec<Route>) {
        let mut pending: Vec<_> = self.client.drain().collect();
        pending.sort_unstable_by_key(|(proxy, _)| *proxy);
        self.client_ids.clear();
        self.own.clear();
        self.server.clear();
        self.server_ids.clear();
        for (_, request) in pending {
            let data = json!({"thoth": {"reason": reason}});
            out.push(Route::ToClient(error_frame(
                Some(&request.original),
                envelope::INTERNAL_ERROR,
                &format!("thoth: {reason}"),
                Some(data),
            )));
        }
    }

    fn forget_client_id(&mut self, original: &RawValue, proxy: u64) {
        if self.client_ids.get(original.get()) == Some(&proxy) {
            self.client_ids.remove(original.get());
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

/// A tools/list `result.tools` with the hidden tools cut out, as a splice of `line`; None when nothing is
/// hidden. Each kept tool is copied byte for byte; a tool without a readable name is hidden (fail closed).
fn filter_tools(
    line: &Bytes,
    result: &RawValue,
    visible: &dyn Fn(&str, &RawValue) -> bool,
) -> Option<((usize, usize), Bytes)> {
    #[derive(Deserialize)]
    struct ListResult<'a> {
        #[serde(borrow)]
        tools: Option<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct Named<'a> {
        #[serde(borrow)]
        name: Option<std::borrow::Cow<'a, str>>,
    }
    let tools = serde_json::from_str::<ListResult>(result.get())
        .ok()?
        .tools?;
    let all: Vec<&RawValue> = serde_json::from_str(tools.get()).ok()?;
    let keep = |tool: &&RawValue| {
        serde_json::from_str::<Named>(tool.get())
            .ok()
            .and_then(|t| t.name)
            .is_some_and(|name| visible(&name, tool))
    };
    let kept: Vec<&str> = all.iter().filter(|t| keep(t)).map(|t| t.get()).collect();
    if kept.len() == all.len() {
        return None;
    }
    tracing::debug!(
        hidden = all.len() - kept.len(),
        "hid tools the policy does not allow from tools/list"
    );
    Some((
        span_of(line, tools)?,
        Bytes::from(format!("[{}]", kept.join(","))),
    ))
}

/// The elements of a batch line as slices of it (no copy), or None if it is not valid JSON.
fn split_batch(line: &Bytes) -> Option<Vec<Bytes>> {
    let elements: Vec<&RawValue> = serde_json::from_slice(line).ok()?;
    elements
        .into_iter()
        .map(|e| span_of(line, e).map(|(start, end)| line.slice(start..end)))
        .collect()
}

/// The held frame with `params.arguments` replaced (enforcer MODIFY). Rare path: rebuilds `params`.
fn with_arguments(frame: &Outbound, arguments: &RawValue) -> Option<Outbound> {
    let line = Bytes::from(frame.to_vec());
    let env: Envelope = serde_json::from_slice(&line).ok()?;
    let params = env.params?;
    let mut value: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(params.get()).ok()?;
    value.insert(
        "arguments".into(),
        serde_json::from_str(arguments.get()).ok()?,
    );
    let span = span_of(&line, params)?;
    Some(Outbound::spliced(
        &line,
        span,
        Bytes::from(serde_json::to_vec(&value).ok()?),
    ))
}

mod own;
#[cfg(test)]
mod own_tests;
#[cfg(test)]
mod tests;
