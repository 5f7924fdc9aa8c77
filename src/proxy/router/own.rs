//! Requests thoth makes itself (the lock guard's tools/list) and the lock's refusals. Own requests take ids
//! from the same counter as translated client requests, so they never collide; their answers come back as
//! `Route::Own` and never reach the client (DESIGN.md §2).

use bytes::Bytes;
use serde_json::{json, Value};

use super::{Route, Router};
use crate::proxy::envelope::{self, Outbound};

impl Router {
    /// A request from thoth to the server: its frame, and the proxy id its answer will carry.
    pub fn request_own(&mut self, method: &str, params: Value) -> (u64, Outbound) {
        let (proxy, _) = self.allocate();
        self.own.insert(proxy);
        let frame = json!({"jsonrpc": "2.0", "id": proxy, "method": method, "params": params});
        let bytes = serde_json::to_vec(&frame).unwrap_or_default();
        (proxy, Outbound::whole(Bytes::from(bytes)))
    }

    /// Stop waiting for an own request (a newer one replaces it): a late answer is dropped as unknown.
    pub fn forget_own(&mut self, proxy: u64) {
        self.own.remove(&proxy);
    }

    /// Refuse a held tools/call because of the lock: -32001 with the BLOCK shape, plus `drift` when the
    /// tool drifted (absent when the live list never came).
    pub fn on_lock_block(
        &mut self,
        proxy: u64,
        reason: &str,
        violation_id: &str,
        drift: Option<Value>,
        out: &mut Vec<Route>,
    ) {
        let Some(tool) = self
            .client
            .get_mut(&proxy)
            .and_then(|r| r.held.take())
            .map(|held| held.tool)
        else {
            return;
        };
        let mut thoth = json!({"decision": "BLOCK", "reason": reason, "violation_id": violation_id, "agent_id": self.agent_id, "tool": tool});
        if let Some(drift) = drift {
            thoth["drift"] = drift;
        }
        let message = format!("thoth: tools/call `{tool}` blocked: {reason}");
        self.refuse(
            proxy,
            envelope::BLOCKED,
            &message,
            json!({ "thoth": thoth }),
            out,
        );
    }
}
