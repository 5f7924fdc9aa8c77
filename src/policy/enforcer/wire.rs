//! The enforcer's JSON (DESIGN.md §3): the `/v1/enforce` request body, its reply and the hold status, parsed
//! at the edge into a `Decision`. Keys may be snake_case or camelCase, ids strings or numbers; the decision
//! *value* must be one of the documented values exactly (no trimming, no case folding, no aliases), and a
//! MODIFY carries an object. Anything else is not an answer: the caller applies the outage rules. A hold
//! resolution that is not exact refuses. Pure: no I/O.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::policy::{new_id, Arguments, Decision, Hold, Refusal};

/// `POST /v1/enforce`: the fields the public Thoth SDKs send, plus the proxy's own.
#[derive(Debug, Serialize)]
pub struct EnforceRequest<'a> {
    pub agent_id: &'a str,
    pub tenant_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub endpoint_id: Option<&'a str>,
    pub tool_name: &'a str,
    /// The call's arguments, embedded as JSON exactly as the client sent them.
    pub tool_args: &'a RawValue,
    pub session_id: &'a str,
    /// The session's tool calls so far, oldest first, ending with this one (as the SDKs send them).
    pub session_tool_calls: &'a [String],
    pub approved_scope: &'a [String],
    pub enforcement_mode: &'static str,
    pub environment: &'static str,
    pub enforcement_trace_id: &'a str,
    pub request_id: &'a str,
    /// RFC 3339, UTC.
    pub occurred_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_intent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet_id: Option<&'a str>,
    pub source_type: &'static str,
}

/// What the enforcer decided, parsed at the edge (STYLE.md: no stringly-typed decisions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Block,
    StepUp,
    Modify,
    /// DEFER: treated as STEP_UP.
    Defer,
    /// Anything else (`allow`, `ALLOW `, `STEP-UP`...): not an answer in a reply, a refusal in a hold.
    Unknown(String),
}

/// The decision values the enforcer may send, spelled exactly.
pub const DECISIONS: &[&str] = &["ALLOW", "BLOCK", "STEP_UP", "MODIFY", "DEFER"];

impl Verdict {
    /// Exact match only: a value a person reads as ALLOW but is not `ALLOW` byte for byte is unknown.
    pub fn parse(text: &str) -> Verdict {
        match text {
            "ALLOW" => Verdict::Allow,
            "BLOCK" => Verdict::Block,
            "STEP_UP" => Verdict::StepUp,
            "MODIFY" => Verdict::Modify,
            "DEFER" => Verdict::Defer,
            _ => Verdict::Unknown(text.to_owned()),
        }
    }
}

/// The `/v1/enforce` reply. Every field is optional and leniently typed; unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct EnforceReply {
    #[serde(default)]
    decision: Option<Value>,
    #[serde(default, alias = "authorizationDecision")]
    authorization_decision: Option<Value>,
    #[serde(default)]
    reason: Option<Value>,
    #[serde(default, alias = "decisionReasonCode")]
    pub decision_reason_code: Option<Value>,
    #[serde(default, alias = "violationId")]
    violation_id: Option<Value>,
    #[serde(default, alias = "holdToken")]
    hold_token: Option<Value>,
    #[serde(default, alias = "approvalUrl")]
    approval_url: Option<Value>,
    #[serde(default, alias = "stepUpTimeoutSeconds")]
    step_up_timeout_seconds: Option<Value>,
    #[serde(default, alias = "deferReason")]
    defer_reason: Option<Value>,
    #[serde(default, alias = "deferTimeoutSeconds")]
    defer_timeout_seconds: Option<Value>,
    #[serde(default, alias = "modifiedToolArgs")]
    modified_tool_args: Option<Box<RawValue>>,
    #[serde(default, alias = "riskScore")]
    pub risk_score: Option<Value>,
    #[serde(default)]
    pub receipt: Option<Value>,
}

/// A reply turned into a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub decision: Decision,
    /// STEP_UP / DEFER with a hold token the enforcer issued (one that can be polled).
    pub pollable: bool,
}

impl EnforceReply {
    /// Parse a reply body. Err (why, for the outage message): not a JSON object, a key given twice, no
    /// `decision` / `authorization_decision`, the two disagreeing, a value that is not exactly one of
    /// [`DECISIONS`], or a MODIFY whose `modified_tool_args` is not an object.
    pub fn parse(body: &[u8]) -> Result<EnforceReply, String> {
        let reply: EnforceReply = serde_json::from_slice(body)
            .map_err(|e| format!("its answer is not a JSON object with a `decision` ({e})"))?;
        let present = |v: &Option<Value>| v.as_ref().filter(|v| !v.is_null()).cloned();
        let decision = match (
            present(&reply.decision),
            present(&reply.authorization_decision),
        ) {
            (None, None) => return Err("its answer is not a JSON object with a `decision`".into()),
            (Some(a), Some(b)) if a != b => {
                return Err(format!(
                    "its answer holds two different decisions ({a} and {b})"
                ))
            }
            (Some(v), _) | (None, Some(v)) => v,
        };
        match reply.verdict() {
            Verdict::Unknown(_) => Err(format!(
                "its answer holds an unknown decision {decision} (exactly one of {} is expected)",
                DECISIONS.join(", ")
            )),
            Verdict::Modify if !reply.modifies_with_an_object() => {
                Err("its answer is MODIFY without an object in modified_tool_args".into())
            }
            _ => Ok(reply),
        }
    }

    fn modifies_with_an_object(&self) -> bool {
        self.modified_tool_args
            .as_ref()
            .is_some_and(|a| a.get().trim_start().starts_with('{'))
    }

    pub fn verdict(&self) -> Verdict {
        let decision = self
            .decision
            .as_ref()
            .filter(|v| !v.is_null())
            .or(self.authorization_decision.as_ref());
        match decision {
            Some(Value::String(text)) => Verdict::parse(text),
            Some(other) => Verdict::Unknown(other.to_string()),
            None => Verdict::Unknown(String::new()),
        }
    }

    pub fn reason_code(&self) -> Option<String> {
        text(&self.decision_reason_code)
    }

    pub fn answer(self) -> Answer {
        let verdict = self.verdict();
        let reason = text(&self.reason);
        let block = |reason: String| Decision::Block(self.refusal(reason));
        let decision = match &verdict {
            Verdict::Allow => Decision::Allow,
            Verdict::Block => block(reason.unwrap_or_else(|| match self.reason_code() {
                Some(code) => format!("blocked by the Thoth enforcer ({code})"),
                None => "blocked by the Thoth enforcer".into(),
            })),
            Verdict::Modify => match self
                .modified_tool_args
                .as_ref()
                .filter(|_| self.modifies_with_an_object())
            {
                Some(arguments) => Decision::Modify(Arguments(arguments.clone())),
                None => block(
                    "the Thoth enforcer answered MODIFY without an object in modified_tool_args"
                        .into(),
                ),
            },
            Verdict::StepUp | Verdict::Defer => {
                let token = text(&self.hold_token);
                let reason = reason
                    .or_else(|| text(&self.defer_reason))
                    .unwrap_or_else(|| "approval is required by the Thoth enforcer".into());
                let timeout_seconds = seconds(&self.step_up_timeout_seconds)
                    .or_else(|| seconds(&self.defer_timeout_seconds))
                    .unwrap_or(0);
                return Answer {
                    pollable: token.is_some(),
                    decision: Decision::StepUp(Hold {
                        reason,
                        hold_token: token.unwrap_or_else(|| new_id("hold")),
                        approval_url: text(&self.approval_url),
                        timeout_seconds,
                    }),
                };
            }
            Verdict::Unknown(name) => block(format!(
                "the Thoth enforcer answered an unknown decision {name:?}{}",
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            )),
        };
        Answer {
            decision,
            pollable: false,
        }
    }

    fn refusal(&self, reason: String) -> Refusal {
        Refusal {
            reason,
            violation_id: text(&self.violation_id).unwrap_or_else(|| new_id("v")),
        }
    }
}

/// `GET /v1/enforce/hold/{token}`: `{resolved, resolution}`, or a decision-shaped reply (older enforcers).
#[derive(Debug, Default)]
pub struct HoldStatus {
    resolved: Option<bool>,
    resolution: Option<String>,
    reply: EnforceReply,
}

/// Where a hold stands.
#[derive(Debug, Clone, PartialEq)]
pub enum HoldState {
    Pending,
    Resolved(Decision),
}

#[derive(Deserialize)]
struct HoldFields {
    #[serde(default)]
    resolved: Option<Value>,
    #[serde(default)]
    resolution: Option<Value>,
}

impl HoldStatus {
    /// None: not a JSON object.
    pub fn parse(body: &[u8]) -> Option<HoldStatus> {
        let fields: HoldFields = serde_json::from_slice(body).ok()?;
        let reply: EnforceReply = serde_json::from_slice(body).ok()?;
        Some(HoldStatus {
            resolved: fields.resolved.as_ref().and_then(Value::as_bool),
            // Exact, like a decision: a padded "ALLOW " is no resolution.
            resolution: match fields.resolution {
                Some(Value::String(s)) => Some(s),
                _ => None,
            },
            reply,
        })
    }

    /// `resolved: true` with ALLOW or MODIFY passes; any other resolution (BLOCK, DENY, EXPIRED, none)
    /// refuses. `resolved: false` is pending; without `resolved`, a decision-shaped reply is read as one
    /// (STEP_UP or DEFER: still pending), and anything else is pending.
    pub fn state(self, token: &str) -> HoldState {
        let verdict = match (self.resolved, &self.resolution) {
            (Some(true), Some(resolution)) => Verdict::parse(resolution),
            (Some(true), None) if self.reply.has_decision() => self.reply.verdict(),
            (Some(true), None) => Verdict::Unknown(String::new()),
            (None, _) if self.reply.has_decision() => self.reply.verdict(),
            _ => return HoldState::Pending,
        };
        let refused = |fallback: String| {
            HoldState::Resolved(Decision::Block(
                self.reply
                    .refusal(text(&self.reply.reason).unwrap_or(fallback)),
            ))
        };
        match verdict {
            Verdict::StepUp | Verdict::Defer => HoldState::Pending,
            Verdict::Block => refused(format!("the approval for hold {token} was refused")),
            Verdict::Unknown(name) => refused(format!(
                "the approval for hold {token} was not given (resolution {name:?})"
            )),
            Verdict::Allow => HoldState::Resolved(Decision::Allow),
            Verdict::Modify => HoldState::Resolved(
                EnforceReply {
                    decision: Some(Value::String("MODIFY".into())),
                    ..self.reply
                }
                .answer()
                .decision,
            ),
        }
    }
}

impl EnforceReply {
    fn has_decision(&self) -> bool {
        [&self.decision, &self.authorization_decision]
            .into_iter()
            .any(|v| v.as_ref().is_some_and(|v| !v.is_null()))
    }
}

/// A string or number field as text; empty strings, null and other types are absent.
fn text(value: &Option<Value>) -> Option<String> {
    match value.as_ref()? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A whole number of seconds (a number or numeric string; fractions round up, negatives are absent).
fn seconds(value: &Option<Value>) -> Option<u64> {
    let n = match value.as_ref()? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (n.is_finite() && n >= 0.0).then(|| n.ceil() as u64)
}
