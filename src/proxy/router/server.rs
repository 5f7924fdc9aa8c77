//! Server -> client: responses matched back to their client request (ids restored, tools/list filtered),
//! server requests given proxy ids, cancellations translated, broken or oversized server lines answered.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    cancel_target, client_error, split_batch, Finished, Lifecycle, Route, Router, CANCELLED,
};
use crate::proxy::envelope::{
    self, error_frame, id_shape, proxy_id, recover_id, shape, span_of, Envelope, IdShape, Kind,
    Outbound, Shape,
};

impl Router {
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

    pub(super) fn on_server_object(&mut self, line: Bytes, out: &mut Vec<Route>) {
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

    pub(super) fn server_response(&mut self, line: &Bytes, env: &Envelope, out: &mut Vec<Route>) {
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

    pub(super) fn server_request(&mut self, line: &Bytes, env: &Envelope, out: &mut Vec<Route>) {
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

    pub(super) fn server_notification(
        &mut self,
        line: &Bytes,
        env: &Envelope,
        out: &mut Vec<Route>,
    ) {
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
    pub(super) fn fail_client_request(
        &mut self,
        id: &RawValue,
        message: &str,
        out: &mut Vec<Route>,
    ) {
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
