//! The remote enforcer (DESIGN.md §3): `EnforcerPolicy` asks `POST {enforcer}/v1/enforce` about each call
//! and answers later (`Verdict::Pending`), polls `GET /v1/enforce/hold/{token}` when `--step-up-wait` is set,
//! and applies THOTH_ENFORCER_FAILURE_DECISION when the enforcer cannot answer. It never sees a call the
//! local policy refused (`layered`), never retries a refused credential, and does no TLS itself (`net`).
//! The wire format is in `wire`. Dropping a decision's future stops its requests and polling.

mod events;
pub mod wire;

pub use events::EventsTransport;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::value::RawValue;

use super::{new_id, Decide, Decision, Hold, Mode, Refusal, ToolCall, Verdict};
use crate::net::{self, NetClient};
use crate::settings::{Credential, Environment, FailureDecision, Settings, Source, Sourced};
use wire::{EnforceReply, EnforceRequest, HoldState, HoldStatus};

/// The largest enforcer reply read (a MODIFY may carry large arguments); past it the reply is an outage.
pub const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;
/// Hold polling: the first wait, and the longest wait between polls (doubling in between: `backoff.rs`).
pub const POLL_FIRST: Duration = Duration::from_millis(250);
pub const POLL_MAX: Duration = Duration::from_secs(2);
const POLL: crate::backoff::Backoff = crate::backoff::Backoff::new(POLL_FIRST, POLL_MAX);
/// How many of the session's tool names `session_tool_calls` carries (the most recent).
pub const MAX_SESSION_HISTORY: usize = 256;

/// What the enforcer is told about the session, besides the call.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub agent_id: String,
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub fleet_id: Option<String>,
    pub session_intent: Option<String>,
    pub approved_scope: Vec<String>,
    pub mode: Mode,
    pub environment: Environment,
}

/// THOTH_ENFORCER_FAILURE_DECISION as it applies in this environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback {
    pub decision: FailureDecision,
    pub environment: Environment,
    /// THOTH_ENFORCER_ALLOW_FALLBACK_OVERRIDE: honour `allow` in staging and prod.
    pub allow_override: bool,
}

impl Fallback {
    pub fn from_settings(settings: &Settings) -> Fallback {
        Fallback {
            decision: settings.failure_decision.value,
            environment: settings.environment.value,
            allow_override: settings.allow_fallback_override.value,
        }
    }

    /// Is `allow` honoured? Only in dev, or with the override.
    pub fn allows(&self) -> bool {
        self.decision == FailureDecision::Allow
            && (self.environment == Environment::Dev || self.allow_override)
    }

    /// The decision while the enforcer cannot answer (`why` says what went wrong).
    pub fn decide(&self, tool: &str, why: &str) -> Decision {
        let outage = format!("the Thoth enforcer could not decide ({why})");
        match self.decision {
            FailureDecision::Allow if self.allows() => {
                tracing::warn!(tool, %why, environment = self.environment.as_str(), "enforcer outage: ALLOWING the call unchecked (THOTH_ENFORCER_FAILURE_DECISION=allow)");
                Decision::Allow
            }
            FailureDecision::Allow => {
                tracing::warn!(tool, %why, "enforcer outage: blocking; THOTH_ENFORCER_FAILURE_DECISION=allow is ignored outside dev without THOTH_ENFORCER_ALLOW_FALLBACK_OVERRIDE=true");
                Decision::Block(Refusal {
                    reason: format!(
                        "{outage}; THOTH_ENFORCER_FAILURE_DECISION=allow is ignored when THOTH_ENV is {} \
                         (THOTH_ENFORCER_ALLOW_FALLBACK_OVERRIDE is not true), so the call is blocked",
                        self.environment.as_str()
                    ),
                    violation_id: new_id("v"),
                })
            }
            FailureDecision::StepUp => {
                tracing::warn!(tool, %why, "enforcer outage: approval required (THOTH_ENFORCER_FAILURE_DECISION=step_up)");
                Decision::StepUp(Hold {
                    reason: format!(
                        "{outage}; approval is required (THOTH_ENFORCER_FAILURE_DECISION=step_up)"
                    ),
                    hold_token: new_id("hold"),
                    approval_url: None,
                    timeout_seconds: 0,
                })
            }
            FailureDecision::Block => {
                tracing::warn!(tool, %why, "enforcer outage: blocking (THOTH_ENFORCER_FAILURE_DECISION=block)");
                Decision::Block(Refusal {
                    reason: format!(
                        "{outage}; failing closed (THOTH_ENFORCER_FAILURE_DECISION=block)"
                    ),
                    violation_id: new_id("v"),
                })
            }
        }
    }
}

/// Where and how to reach the enforcer.
#[derive(Debug, Clone)]
pub struct EnforcerConfig {
    /// The base URL (`https://enforce.<tenant>.<apex>`).
    pub url: String,
    pub credential: Sourced<Credential>,
    pub fallback: Fallback,
    /// `--step-up-wait`: poll a hold this long for its resolution; None answers STEP_UP at once.
    pub step_up_wait: Option<Duration>,
}

impl EnforcerConfig {
    /// None unless both an enforcer URL and a credential are configured.
    pub fn from_settings(
        settings: &Settings,
        step_up_wait: Option<Duration>,
    ) -> Option<EnforcerConfig> {
        Some(EnforcerConfig {
            url: settings.enforcer_url.as_ref()?.value.clone(),
            credential: settings.enforcer_credential.clone()?,
            fallback: Fallback::from_settings(settings),
            step_up_wait: step_up_wait.filter(|w| !w.is_zero()),
        })
    }
}

/// Why the enforcer gave no decision.
enum Failure {
    /// Unreachable, too slow, overloaded, or an answer that is not one: the fallback applies.
    Outage(String),
    /// 401 / 403: always BLOCK.
    CredentialRefused(StatusCode),
    /// The server's certificate failed verification (wrong CA, pin mismatch): always BLOCK. Never the
    /// fallback: with an `allow` fallback a man in the middle would otherwise get every call through.
    Untrusted(String),
    /// 429 / 503 with a `Retry-After` (hold polling): an outage, and the next poll waits that long.
    Throttled(String, Duration),
}

impl Failure {
    /// A failed request: a certificate problem is `Untrusted`, anything else an outage.
    fn of(err: &reqwest::Error) -> Failure {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = source {
            if let Some(tls) = rustls_error(e) {
                return Failure::Untrusted(format!("{tls} ({})", net::describe(err)));
            }
            source = e.source();
        }
        Failure::Outage(net::describe(err))
    }
}

/// The TLS error inside `e`, looking through `io::Error` wrappers (hyper nests them, and `io::Error::source`
/// skips the wrapped error itself).
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner: &(dyn std::error::Error + 'static) =
        e.downcast_ref::<std::io::Error>()?.get_ref()?;
    rustls_error(inner)
}

/// What every decision future shares: the client, the URLs, the credential header.
struct Remote {
    net: NetClient,
    base: String,
    enforce_url: reqwest::Url,
    auth: (HeaderName, HeaderValue),
    auth_kind: &'static str,
    auth_origin: Source,
    fallback: Fallback,
    step_up_wait: Option<Duration>,
}

/// Decisions from the remote enforcer.
pub struct EnforcerPolicy {
    remote: Arc<Remote>,
    info: SessionInfo,
    /// Per process (one `thoth run` is one session).
    session_id: String,
    history: VecDeque<String>,
}

impl EnforcerPolicy {
    pub fn new(
        net: NetClient,
        config: EnforcerConfig,
        info: SessionInfo,
    ) -> Result<EnforcerPolicy, net::Error> {
        let base = config.url.trim_end_matches('/').to_owned();
        let bad_url = |reason: String| net::Error::Url {
            url: base.clone(),
            reason,
        };
        let enforce_url = reqwest::Url::parse(&format!("{base}/v1/enforce"))
            .map_err(|e| bad_url(e.to_string()))?;
        if enforce_url.cannot_be_a_base() {
            return Err(bad_url("not a base URL".into()));
        }
        let origin = config.credential.source.clone();
        let (name, value, kind) = match &config.credential.value {
            Credential::Bearer(token) => (
                AUTHORIZATION,
                format!("Bearer {}", token.expose()),
                "bearer token",
            ),
            Credential::ApiKey(key) => (
                HeaderName::from_static("x-api-key"),
                key.expose().to_owned(),
                "API key",
            ),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| net::Error::Credential {
            origin: origin.clone(),
        })?;
        value.set_sensitive(true);
        Ok(EnforcerPolicy {
            remote: Arc::new(Remote {
                net,
                base,
                enforce_url,
                auth: (name, value),
                auth_kind: kind,
                auth_origin: origin,
                fallback: config.fallback,
                step_up_wait: config.step_up_wait,
            }),
            info,
            session_id: uuid::Uuid::new_v4().to_string(),
            history: VecDeque::new(),
        })
    }

    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The transport for this session's TOOL_CALL_PRE / POST events (same server, credential and pool).
    pub fn events_transport(&self) -> EventsTransport {
        EventsTransport::new(self.remote.clone())
    }

    /// The request body for `call` (its name already in the history).
    fn body(&self, call: &ToolCall, request_id: &str) -> Result<Vec<u8>, String> {
        const NO_ARGUMENTS: &str = "{}";
        let tool_args: &RawValue = match &call.arguments {
            Some(raw) => serde_json::from_slice(raw)
                .map_err(|_| "its arguments are not valid JSON".to_owned())?,
            None => serde_json::from_str(NO_ARGUMENTS).map_err(|e| e.to_string())?,
        };
        let trace_id = uuid::Uuid::new_v4().to_string();
        let occurred_at = crate::time::now_rfc3339(crate::time::Precision::Clock);
        let history: &[String] = self.history.as_slices().0;
        let info = &self.info;
        let request = EnforceRequest {
            agent_id: &info.agent_id,
            tenant_id: info.tenant_id.as_deref(),
            user_id: info.user_id.as_deref(),
            endpoint_id: info.endpoint_id.as_deref(),
            tool_name: &call.name,
            tool_args,
            session_id: &self.session_id,
            session_tool_calls: history,
            approved_scope: &info.approved_scope,
            enforcement_mode: info.mode.as_str(),
            environment: info.environment.as_str(),
            enforcement_trace_id: &trace_id,
            request_id,
            occurred_at: &occurred_at,
            session_intent: info.session_intent.as_deref(),
            fleet_id: info.fleet_id.as_deref(),
            source_type: "mcp_proxy",
        };
        serde_json::to_vec(&request).map_err(|e| e.to_string())
    }

    fn record(&mut self, tool: &str) {
        if self.history.len() >= MAX_SESSION_HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(tool.to_owned());
        // One contiguous slice, so the body can borrow it.
        self.history.make_contiguous();
    }
}

impl Decide for EnforcerPolicy {
    fn decide(&mut self, call: &ToolCall) -> Verdict {
        self.record(&call.name);
        let request_id = uuid::Uuid::new_v4().to_string();
        let body = match self.body(call, &request_id) {
            Ok(body) => body,
            Err(reason) => {
                return Verdict::Ready(Decision::Block(Refusal {
                    reason: format!("tool `{}`: {reason}", call.name),
                    violation_id: new_id("v"),
                }))
            }
        };
        let remote = self.remote.clone();
        let tool = call.name.clone();
        Verdict::Pending(Box::pin(async move {
            remote.decide(body, tool, request_id).await
        }))
    }

    fn warm_up(&self) -> Option<super::WarmUp> {
        let remote = self.remote.clone();
        Some(Box::pin(async move { remote.net.warm(&remote.base).await }))
    }
}

impl Remote {
    async fn decide(&self, body: Vec<u8>, tool: String, request_id: String) -> Decision {
        let reply = match self.enforce(body).await {
            Ok(reply) => reply,
            Err(Failure::Outage(why) | Failure::Throttled(why, _)) => {
                return self.fallback.decide(&tool, &why)
            }
            Err(Failure::CredentialRefused(status)) => return self.credential_refused(status),
            Err(Failure::Untrusted(why)) => return untrusted(&why),
        };
        tracing::debug!(
            tool, request_id, verdict = ?reply.verdict(), reason_code = ?reply.reason_code(),
            risk_score = ?reply.risk_score, receipt = reply.receipt.is_some(), "enforcer decision"
        );
        let answer = reply.answer();
        match (answer.decision, self.step_up_wait) {
            (Decision::StepUp(hold), Some(wait)) if answer.pollable => {
                self.wait_for_approval(&tool, hold, wait).await
            }
            (decision, _) => decision,
        }
    }

    fn request(&self, method: reqwest::Method, url: reqwest::Url) -> reqwest::RequestBuilder {
        self.net
            .http()
            .request(method, url)
            .header(self.auth.0.clone(), self.auth.1.clone())
    }

    async fn enforce(&self, body: Vec<u8>) -> Result<EnforceReply, Failure> {
        let response = self
            .request(reqwest::Method::POST, self.enforce_url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| Failure::of(&e))?;
        let status = response.status();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(Failure::CredentialRefused(status));
        }
        if !status.is_success() {
            return Err(Failure::Outage(format!("it answered HTTP {status}")));
        }
        let body = read_capped(response).await.map_err(Failure::Outage)?;
        EnforceReply::parse(&body).map_err(Failure::Outage)
    }

    fn credential_refused(&self, status: StatusCode) -> Decision {
        tracing::error!(status = status.as_u16(), credential = self.auth_kind, source = %self.auth_origin, "the enforcer refused thoth's credential");
        Decision::Block(Refusal {
            reason: format!(
                "the Thoth enforcer refused thoth's credential (HTTP {}): the {} from {} was not accepted",
                status.as_u16(),
                self.auth_kind,
                self.auth_origin
            ),
            violation_id: new_id("v"),
        })
    }

    /// Poll the hold until it is resolved or `wait` has passed (then BLOCK). Transient failures (outage,
    /// 5xx, garbage) are retried until then; a refused credential or an unknown hold ends the wait.
    async fn wait_for_approval(&self, tool: &str, hold: Hold, wait: Duration) -> Decision {
        let deadline = tokio::time::Instant::now() + wait;
        let mut url = self.enforce_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push("hold").push(&hold.hold_token);
        }
        let timed_out = || {
            Decision::Block(Refusal {
                reason: format!(
                    "{}; no approval within {} s (hold token {})",
                    hold.reason,
                    wait.as_secs_f64(),
                    hold.hold_token
                ),
                violation_id: new_id("v"),
            })
        };
        let mut polls = 0u32;
        let mut delay = POLL.delay(polls);
        tracing::info!(tool, hold_token = %hold.hold_token, wait_seconds = wait.as_secs_f64(), "waiting for approval");
        loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return timed_out();
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return timed_out();
            }
            match tokio::time::timeout(left, self.poll_hold(url.clone(), &hold.hold_token)).await {
                Err(_) => return timed_out(),
                Ok(Ok(HoldState::Resolved(decision))) => return decision,
                Ok(Ok(HoldState::Pending)) => {}
                Ok(Err(Failure::CredentialRefused(status))) => {
                    return self.credential_refused(status)
                }
                Ok(Err(Failure::Untrusted(why))) => return untrusted(&why),
                Ok(Err(Failure::Outage(why))) => {
                    tracing::debug!(tool, hold_token = %hold.hold_token, %why, "hold poll failed; retrying")
                }
                Ok(Err(Failure::Throttled(why, asked))) => {
                    tracing::debug!(tool, hold_token = %hold.hold_token, %why, retry_after = ?asked, "hold poll throttled; waiting as asked");
                    polls = polls.saturating_add(1);
                    // The deadline bounds the wait: past it the call is blocked, whatever was asked.
                    delay = crate::backoff::honour(
                        POLL.delay(polls),
                        Some(asked),
                        wait,
                        Duration::ZERO,
                        &mut fastrand::Rng::new(),
                    );
                    continue;
                }
            }
            polls = polls.saturating_add(1);
            delay = POLL.delay(polls);
        }
    }

    async fn poll_hold(&self, url: reqwest::Url, token: &str) -> Result<HoldState, Failure> {
        let response = self
            .request(reqwest::Method::GET, url)
            .send()
            .await
            .map_err(|e| Failure::of(&e))?;
        let status = response.status();
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(Failure::CredentialRefused(status))
            }
            StatusCode::ACCEPTED => return Ok(HoldState::Pending),
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                return Ok(HoldState::Resolved(Decision::Block(Refusal {
                    reason: format!("the Thoth enforcer does not know hold {token} (HTTP {status}): it expired or was withdrawn"),
                    violation_id: new_id("v"),
                })))
            }
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                let why = format!("HTTP {status}");
                return Err(match crate::backoff::retry_after_in(response.headers()) {
                    Some(asked) => Failure::Throttled(why, asked),
                    None => Failure::Outage(why),
                });
            }
            s if !s.is_success() => return Err(Failure::Outage(format!("HTTP {status}"))),
            _ => {}
        }
        let body = read_capped(response).await.map_err(Failure::Outage)?;
        HoldStatus::parse(&body)
            .map(|status| status.state(token))
            .ok_or_else(|| Failure::Outage("the hold status is not a JSON object".into()))
    }
}

/// The response body, up to `MAX_REPLY_BYTES`.
/// The enforcer could not prove who it is: block, whatever the fallback says.
fn untrusted(why: &str) -> Decision {
    tracing::error!(%why, "the enforcer's certificate failed verification; blocking (the fallback never applies to certificate failures)");
    Decision::Block(Refusal {
        reason: format!(
            "the enforcer's certificate could not be verified ({why}); check THOTH_ENFORCER_URL, THOTH_TLS_CA_BUNDLE and THOTH_TLS_PINNED_CERT_SHA256"
        ),
        violation_id: new_id("v"),
    })
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| net::describe(&e))? {
        if body.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(format!("its answer is larger than {MAX_REPLY_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests;
