//! What leaves the pending table: a held tools/call released (or refused) by its decision, and every request
//! still in flight answered when the server is gone.

use bytes::Bytes;
use serde_json::json;
use serde_json::value::RawValue;

use super::{Route, Router};
use crate::policy::{Decision, Hold, Refusal};
use crate::proxy::envelope::{self, error_frame, span_of, Envelope, Outbound};

impl Router {
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

    pub(super) fn refuse(
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

    pub(super) fn forget_client_id(&mut self, original: &RawValue, proxy: u64) {
        if self.client_ids.get(original.get()) == Some(&proxy) {
            self.client_ids.remove(original.get());
        }
    }
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
