//! The embedded local policy: approved scope from `--approved-scope`, applied through the enforcement mode,
//! with the `THOTH_ENV` rule when no policy exists at all (DESIGN.md §3). Decisions are immediate.

use std::collections::HashSet;

use super::{new_id, Decide, Decision, Hold, Mode, Refusal, ToolCall, Verdict};
use crate::settings::Environment;

/// Progressive mode: violations allowed with a warning, then the count up to which they need approval;
/// every later violation in the session is blocked.
pub const PROGRESSIVE_WARN_UP_TO: u32 = 1;
pub const PROGRESSIVE_STEP_UP_UP_TO: u32 = 3;

/// What a session is allowed, before the mode is applied.
#[derive(Debug, Clone)]
pub enum Scope {
    /// No policy anywhere: `THOTH_ENV` decides (dev allows everything, staging/prod refuse everything).
    Unconfigured(Environment),
    /// Exactly these tools.
    Tools(HashSet<String>),
}

pub struct LocalPolicy {
    scope: Scope,
    mode: Mode,
    violations: u32,
}

impl LocalPolicy {
    pub fn new(scope: Scope, mode: Mode) -> LocalPolicy {
        LocalPolicy {
            scope,
            mode,
            violations: 0,
        }
    }

    /// The decision the mode gives an out-of-scope call, counting it for progressive mode.
    fn on_violation(&mut self, call: &ToolCall) -> Decision {
        self.violations += 1;
        let reason = format!("tool `{}` is outside the approved scope", call.name);
        let block = || {
            Decision::Block(Refusal {
                reason: reason.clone(),
                violation_id: new_id("v"),
            })
        };
        let step_up = || {
            Decision::StepUp(Hold {
                reason: format!("{reason}; approval is required"),
                hold_token: new_id("hold"),
                approval_url: None,
                timeout_seconds: 0,
            })
        };
        match self.mode {
            Mode::Observe => {
                tracing::warn!(tool = %call.name, would = "BLOCK", "observe mode: forwarding an out-of-scope call");
                Decision::Allow
            }
            Mode::Block => block(),
            Mode::StepUp => step_up(),
            Mode::Progressive if self.violations <= PROGRESSIVE_WARN_UP_TO => {
                tracing::warn!(tool = %call.name, violations = self.violations, "progressive mode: allowing an out-of-scope call with a warning");
                Decision::Allow
            }
            Mode::Progressive if self.violations <= PROGRESSIVE_STEP_UP_UP_TO => step_up(),
            Mode::Progressive => block(),
        }
    }
}

impl Decide for LocalPolicy {
    fn decide(&mut self, call: &ToolCall) -> Verdict {
        let decision = match &self.scope {
            Scope::Unconfigured(Environment::Dev) => Decision::Allow,
            Scope::Unconfigured(env) => Decision::Block(Refusal {
                reason: format!(
                    "no policy is configured and THOTH_ENV is {}: every tools/call is refused. Set --approved-scope, \
                     a policy file, or an enforcer (THOTH_TENANT_ID); or THOTH_ENV=dev to try thoth unguarded",
                    env.as_str()
                ),
                violation_id: new_id("v"),
            }),
            Scope::Tools(tools) if tools.contains(&call.name) => Decision::Allow,
            Scope::Tools(_) => self.on_violation(call),
        };
        Verdict::Ready(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str) -> ToolCall {
        ToolCall {
            proxy_id: 0,
            name: name.to_owned(),
            arguments: None,
        }
    }

    fn decide(p: &mut LocalPolicy, name: &str) -> Decision {
        match p.decide(&call(name)) {
            Verdict::Ready(d) => d,
            Verdict::Pending(_) => panic!("local decisions are immediate"),
        }
    }

    fn scope(tools: &[&str]) -> Scope {
        Scope::Tools(tools.iter().map(|t| t.to_string()).collect())
    }

    #[test]
    fn block_mode_allows_scope_and_blocks_the_rest() {
        let mut p = LocalPolicy::new(scope(&["echo"]), Mode::Block);
        assert_eq!(decide(&mut p, "echo"), Decision::Allow);
        assert!(matches!(decide(&mut p, "rm"), Decision::Block(r) if r.reason.contains("`rm`")));
    }

    #[test]
    fn step_up_and_observe_modes() {
        let mut p = LocalPolicy::new(scope(&["echo"]), Mode::StepUp);
        assert!(
            matches!(decide(&mut p, "rm"), Decision::StepUp(h) if h.hold_token.starts_with("hold-"))
        );
        let mut p = LocalPolicy::new(scope(&["echo"]), Mode::Observe);
        assert_eq!(decide(&mut p, "rm"), Decision::Allow);
    }

    #[test]
    fn progressive_warns_then_steps_up_then_blocks() {
        let mut p = LocalPolicy::new(scope(&["echo"]), Mode::Progressive);
        assert_eq!(decide(&mut p, "rm"), Decision::Allow);
        assert_eq!(
            decide(&mut p, "echo"),
            Decision::Allow,
            "in-scope calls do not count"
        );
        assert!(matches!(decide(&mut p, "rm"), Decision::StepUp(_)));
        assert!(matches!(decide(&mut p, "rm"), Decision::StepUp(_)));
        assert!(matches!(decide(&mut p, "rm"), Decision::Block(_)));
        assert!(matches!(decide(&mut p, "other"), Decision::Block(_)));
    }

    #[test]
    fn no_policy_allows_in_dev_and_refuses_in_prod_whatever_the_mode() {
        let mut p = LocalPolicy::new(Scope::Unconfigured(Environment::Dev), Mode::Block);
        assert_eq!(decide(&mut p, "anything"), Decision::Allow);
        for env in [Environment::Staging, Environment::Prod] {
            let mut p = LocalPolicy::new(Scope::Unconfigured(env), Mode::Observe);
            assert!(
                matches!(decide(&mut p, "x"), Decision::Block(r) if r.reason.contains("no policy is configured"))
            );
        }
    }
}
