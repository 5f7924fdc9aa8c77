//! Where the router's routes go, once a frame has been routed: frames to the outlets (thoth's own answers
//! counted apart), governed calls to the lock (with `--lock`) and then the policy, endings to governance.
//! No I/O of its own: the outlets queue, the session loop writes.

use bytes::Bytes;

use super::budget::HeldCalls;
use super::governance::Governance;
use super::outlet::Outlet;
use super::router::{Route, Router};

/// The side whose input caused a route.
#[derive(Debug, Clone, Copy)]
pub(super) enum Side {
    Client,
    Server,
}

/// Where routed frames go, and the held-call budget governed calls are charged to.
pub(super) struct Outlets<'a> {
    pub to_server: &'a mut Outlet,
    pub to_client: &'a mut Outlet,
    pub held: &'a mut HeldCalls,
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
pub(super) fn dispatch(
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
        let mut round: Vec<Route> = std::mem::take(routes);
        for route in round.drain(..) {
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
        // The buffer goes back for the next frame: no allocation per frame once it has grown.
        if routes.is_empty() {
            *routes = round;
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
pub(super) fn lock_block(
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
