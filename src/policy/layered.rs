//! The local policy in front of the remote enforcer (DESIGN.md §3), and the choice between them (`build`).
//! A local BLOCK or STEP_UP (a denied tool, a failed argument constraint, an out-of-scope call) is final and
//! never sent; only what the local layer approves reaches the enforcer. In observe mode the enforcer's
//! refusals are logged, never applied. No I/O of its own beyond building the client.

use std::time::Duration;

use super::enforcer::{EnforcerConfig, EnforcerPolicy, SessionInfo};
use super::local::LocalPolicy;
use super::{Decide, Decision, Mode, ToolCall, Verdict, WarmUp};
use crate::settings::Settings;

/// A local policy, then the enforcer.
pub struct LayeredPolicy {
    local: LocalPolicy,
    remote: EnforcerPolicy,
    mode: Mode,
}

impl LayeredPolicy {
    /// `local` is made neutral when it is unconfigured (`LocalPolicy::before_enforcer`).
    pub fn new(local: LocalPolicy, remote: EnforcerPolicy, mode: Mode) -> LayeredPolicy {
        LayeredPolicy {
            local: local.before_enforcer(),
            remote,
            mode,
        }
    }
}

impl Decide for LayeredPolicy {
    fn decide(&mut self, call: &ToolCall) -> Verdict {
        match self.local.decide(call) {
            Verdict::Ready(Decision::Allow) => {}
            local => return local,
        }
        let remote = self.remote.decide(call);
        if self.mode != Mode::Observe {
            return remote;
        }
        let tool = call.name.clone();
        let observe = move |decision: Decision| {
            if decision != Decision::Allow {
                tracing::warn!(tool = %tool, would = ?decision, "observe mode: forwarding a call the enforcer did not allow");
            }
            Decision::Allow
        };
        match remote {
            Verdict::Ready(decision) => Verdict::Ready(observe(decision)),
            Verdict::Pending(future) => {
                Verdict::Pending(Box::pin(async move { observe(future.await) }))
            }
        }
    }

    fn list_filter(&self) -> Option<super::ListFilter> {
        self.local.list_filter()
    }

    fn warm_up(&self) -> Option<WarmUp> {
        self.remote.warm_up()
    }
}

/// The session's policy: the local policy then the remote enforcer when an enforcer URL (set, or derived
/// from THOTH_TENANT_ID + THOTH_APEX_DOMAIN) and a credential are configured; otherwise `local` alone.
/// Builds the HTTP client (reading THOTH_TLS_CA_BUNDLE) and resolves the endpoint id: blocking, so call it
/// before the event loop starts.
pub fn build(
    settings: &Settings,
    agent_id: &str,
    session_intent: Option<&str>,
    mode: Mode,
    local: LocalPolicy,
    step_up_wait: Option<Duration>,
) -> Result<Built, crate::net::Error> {
    let Some(config) = EnforcerConfig::from_settings(settings, step_up_wait) else {
        if let Some(url) = &settings.enforcer_url {
            tracing::warn!(enforcer = %url.value, source = %url.source, "an enforcer is configured but no credential is: using the local policy only (set THOTH_API_KEY or THOTH_RUNTIME_BEARER_TOKEN, or run `thoth set-api-key`)");
        }
        return Ok(Built {
            policy: Box::new(local),
            events: None,
        });
    };
    let net = crate::net::client(settings)?;
    let endpoint = crate::identity::resolve_system(&|name| {
        settings
            .get(name)
            .map(|v| (v.value.clone(), v.source.to_string()))
    });
    let endpoint_id = Some(endpoint.id).filter(|id| !id.is_empty());
    let text = |name: &str| settings.get(name).map(|v| v.value.clone());
    let info = SessionInfo {
        agent_id: agent_id.to_owned(),
        tenant_id: settings.tenant_id.as_ref().map(|t| t.value.clone()),
        user_id: text("THOTH_USER_ID"),
        endpoint_id: endpoint_id.clone(),
        fleet_id: text("THOTH_FLEET_ID"),
        session_intent: session_intent.map(str::to_owned),
        approved_scope: local.approved_scope(),
        mode,
        environment: settings.environment.value,
    };
    let fallback = config.fallback;
    if fallback.decision == crate::settings::FailureDecision::Allow && !fallback.allows() {
        tracing::warn!(
            environment = fallback.environment.as_str(),
            "THOTH_ENFORCER_FAILURE_DECISION=allow is ignored outside dev unless THOTH_ENFORCER_ALLOW_FALLBACK_OVERRIDE=true: an outage blocks"
        );
    }
    tracing::info!(enforcer = %config.url, source = ?settings.enforcer_url.as_ref().map(|u| u.source.to_string()), credential = config.credential.value.kind(), step_up_wait = ?config.step_up_wait, "decisions come from the remote enforcer, after the local policy");
    let remote = EnforcerPolicy::new(net, config, info)?;
    let events = Events {
        transport: remote.events_transport(),
        session_id: remote.session_id().to_owned(),
        endpoint_id: endpoint_id.unwrap_or_default(),
    };
    Ok(Built {
        policy: Box::new(LayeredPolicy::new(local, remote, mode)),
        events: Some(events),
    })
}

/// The session's policy, and where its events go when an enforcer decides.
pub struct Built {
    pub policy: Box<dyn Decide>,
    pub events: Option<Events>,
}

/// What the session needs to send TOOL_CALL_PRE / POST events to the enforcer.
pub struct Events {
    pub transport: super::enforcer::EventsTransport,
    pub session_id: String,
    pub endpoint_id: String,
}
