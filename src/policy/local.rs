//! The embedded local policy (DESIGN.md §3): the approved scope from `--approved-scope` flags and/or a policy
//! file's entry for this agent (`file.rs`, which states the rules), applied through the enforcement mode, and
//! the `THOTH_ENV` rule when no policy exists at all. Decisions are immediate and pure: no I/O here (the file
//! is loaded by the caller); call arguments are parsed only when an argument constraint applies.

use std::collections::HashSet;

use serde_json::Value;
use wildmatch::WildMatch;

use super::file::{AgentPolicy, Constraint, PolicyFile, ToolGlob};
use super::{new_id, under, Decide, Decision, Hold, Mode, Refusal, ToolCall, Verdict};
use crate::settings::Environment;

/// Progressive mode: violations allowed with a warning, then the count up to which they need approval;
/// every later violation in the session is blocked.
pub const PROGRESSIVE_WARN_UP_TO: u32 = 1;
pub const PROGRESSIVE_STEP_UP_UP_TO: u32 = 3;
/// The longest part of an argument value quoted in a refusal (the rest is elided).
pub const MAX_QUOTED_ARGUMENT_BYTES: usize = 200;

/// What a session is allowed, before the mode is applied.
#[derive(Debug, Clone)]
pub enum Scope {
    /// No policy anywhere: `THOTH_ENV` decides (dev allows everything, staging/prod refuse everything).
    Unconfigured(Environment),
    /// Exactly these tools.
    Tools(HashSet<String>),
    /// A policy file's entry for this agent and session (plus any `--approved-scope` names).
    File(Box<FileScope>),
}

/// A policy file's entry for one agent and session intent, compiled for matching.
#[derive(Debug, Clone)]
pub struct FileScope {
    agent_id: String,
    /// The entry's key (`agent_id` or `*`); None when the file has no entry for this agent.
    entry: Option<String>,
    approved: Globs,
    /// The session intent and its list, when the entry names that intent.
    intent: Option<(String, Globs)>,
    step_up: Globs,
    denied: Globs,
    /// `--approved-scope` names (exact).
    extra: HashSet<String>,
    constraints: Vec<(WildMatch, Constraint)>,
    /// A managed policy (`FileScope::managed`): `--approved-scope` names narrow the approved set instead of
    /// adding to it.
    extra_narrows: bool,
    /// A managed policy's `*` entry, bounding what an agent's own entry may approve (an agent id is the
    /// user's to pick, so its entry may only narrow the defaults).
    ceiling: Option<Ceiling>,
}

/// What the `*` entry approves (with its intent's list), as a bound on an agent's own entry.
#[derive(Debug, Clone)]
struct Ceiling {
    approved: Globs,
    intent: Option<(String, Globs)>,
}

/// A set of tool-name globs.
#[derive(Debug, Clone, Default)]
struct Globs(Vec<WildMatch>);

impl Globs {
    /// Globs that allow: a name must match as written.
    fn new(globs: &[ToolGlob]) -> Globs {
        Globs(globs.iter().map(|g| WildMatch::new(g.as_str())).collect())
    }

    /// Globs that restrict (denied, step-up, argument constraints): they also catch the spellings a lenient
    /// server may treat as the same tool (`EXEC` or fullwidth `ｅｘｅｃ` for `exec`), so a restriction can
    /// never be dodged by re-spelling the name. Erring this way only ever refuses more.
    fn restricting(globs: &[ToolGlob]) -> Globs {
        Globs(globs.iter().map(|g| restricting_glob(g.as_str())).collect())
    }

    fn matches(&self, name: &str) -> bool {
        let loose = loose_spelling(name);
        self.0
            .iter()
            .any(|g| g.matches(name) || loose.as_deref().is_some_and(|l| g.matches(l)))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn restricting_glob(glob: &str) -> WildMatch {
    WildMatch::new_case_insensitive(glob)
}

/// The name with fullwidth forms mapped to ASCII, when that changes it (case is the globs' business).
fn loose_spelling(name: &str) -> Option<String> {
    let folded: String = name
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect();
    (folded != name).then_some(folded)
}

/// What the scope says about a call, before the mode and the session's violation count are applied.
enum Ruling {
    Allow,
    /// A hard rule (denied tool, failed constraint, no policy in staging/prod): BLOCK in every mode.
    Refuse(String),
    /// Listed as needing approval.
    StepUp(String),
    /// Not approved: the mode decides.
    OutOfScope(String),
}

impl FileScope {
    /// Select `agent_id`'s entry (else `*`) and `session_intent`'s list; `extra_scope` adds exact names.
    pub fn new(
        file: &PolicyFile,
        agent_id: &str,
        session_intent: Option<&str>,
        extra_scope: &[String],
    ) -> FileScope {
        let none = AgentPolicy::default();
        let (entry, policy) = match file.agent(agent_id) {
            Some((key, policy)) => (Some(key.to_owned()), policy),
            None => {
                tracing::warn!(agent_id, "the policy file has no entry for this agent (nor `*`): every tools/call is out of scope");
                (None, &none)
            }
        };
        tracing::debug!(agent_id, entry = ?entry, "policy file entry selected");
        FileScope {
            agent_id: agent_id.to_owned(),
            entry,
            approved: Globs::new(&policy.approved_tools),
            intent: select_intent(policy, agent_id, session_intent),
            step_up: Globs::restricting(&policy.step_up_tools),
            denied: Globs::restricting(&policy.denied_tools),
            extra: extra_scope
                .iter()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect(),
            constraints: policy
                .arguments
                .iter()
                .flat_map(|(glob, list)| {
                    list.iter()
                        .map(|c| (restricting_glob(glob.as_str()), c.clone()))
                })
                .collect(),
            extra_narrows: false,
            ceiling: None,
        }
    }

    /// `new` for a policy the user must not widen (named by managed settings): `--approved-scope` names
    /// only narrow it, and an agent's own entry only narrows `*`: a tool must be approved by both, and the
    /// `*` entry's step-up, denied lists and constraints apply too. Without a `*` entry, an agent's own
    /// entry approves nothing (its denials still apply).
    pub fn managed(
        file: &PolicyFile,
        agent_id: &str,
        session_intent: Option<&str>,
        extra_scope: &[String],
    ) -> FileScope {
        let mut scope = FileScope::new(file, agent_id, session_intent, extra_scope);
        scope.extra_narrows = true;
        if scope.entry.as_deref().is_some_and(|e| e != "*") {
            let star = file.agents.get("*");
            let none = AgentPolicy::default();
            let star = star.unwrap_or(&none);
            scope.ceiling = Some(Ceiling {
                approved: Globs::new(&star.approved_tools),
                intent: select_intent(star, agent_id, session_intent),
            });
            scope
                .step_up
                .0
                .extend(Globs::restricting(&star.step_up_tools).0);
            scope
                .denied
                .0
                .extend(Globs::restricting(&star.denied_tools).0);
            scope
                .constraints
                .extend(star.arguments.iter().flat_map(|(glob, list)| {
                    list.iter()
                        .map(|c| (restricting_glob(glob.as_str()), c.clone()))
                }));
        }
        scope
    }

    /// Approved without a step-up: `approved_tools` (narrowed by the intent) or an `--approved-scope` name
    /// (for a managed policy: approved by it, and by `*`, and named by `--approved-scope` when any is given).
    fn is_approved(&self, name: &str) -> bool {
        let by_file = self.approved.matches(name)
            && self
                .intent
                .as_ref()
                .is_none_or(|(_, list)| list.matches(name))
            && self.ceiling.as_ref().is_none_or(|c| {
                c.approved.matches(name)
                    && c.intent.as_ref().is_none_or(|(_, list)| list.matches(name))
            });
        if self.extra_narrows {
            return by_file && (self.extra.is_empty() || self.extra.contains(name));
        }
        by_file || self.extra.contains(name)
    }

    fn rule(&self, call: &ToolCall) -> Ruling {
        let name = &call.name;
        if self.denied.matches(name) {
            return Ruling::Refuse(format!(
                "tool `{name}` is denied by the policy for agent `{}`",
                self.agent_id
            ));
        }
        if let Err(reason) = self.check_arguments(call) {
            return Ruling::Refuse(format!("tool `{name}`: {reason}"));
        }
        if self.step_up.matches(name) {
            return Ruling::StepUp(format!("tool `{name}` needs approval"));
        }
        if self.is_approved(name) {
            return Ruling::Allow;
        }
        Ruling::OutOfScope(self.out_of_scope_reason(name))
    }

    fn out_of_scope_reason(&self, name: &str) -> String {
        let scope = format!("tool `{name}` is outside the approved scope");
        match (&self.entry, &self.intent) {
            (None, _) => format!(
                "{scope}: the policy file has no entry for agent `{}`",
                self.agent_id
            ),
            (Some(_), Some((intent, _))) => format!("{scope} of intent `{intent}`"),
            (Some(_), None) => scope,
        }
    }

    /// Every constraint whose glob matches the tool must hold; the arguments are parsed only then.
    fn check_arguments(&self, call: &ToolCall) -> Result<(), String> {
        let mut matching = self
            .constraints
            .iter()
            .filter(|(glob, _)| {
                glob.matches(&call.name)
                    || loose_spelling(&call.name).is_some_and(|l| glob.matches(&l))
            })
            .map(|(_, constraint)| constraint)
            .peekable();
        if matching.peek().is_none() {
            return Ok(());
        }
        let arguments = match &call.arguments {
            None => Value::Null,
            Some(raw) => serde_json::from_slice(raw).map_err(|_| {
                "its arguments are not valid JSON, so its argument constraints cannot be checked"
                    .to_owned()
            })?,
        };
        matching.try_for_each(|constraint| check_constraint(constraint, &arguments))
    }
}

/// The session intent's list when the entry names it; otherwise no intent (with a warning when the entry
/// has intents, since the session then gets the entry's whole approved set).
fn select_intent(
    policy: &AgentPolicy,
    agent_id: &str,
    session_intent: Option<&str>,
) -> Option<(String, Globs)> {
    let intent = session_intent.map(str::trim).filter(|i| !i.is_empty())?;
    match policy.intents.get(intent) {
        Some(list) => Some((intent.to_owned(), Globs::new(list))),
        None if policy.intents.is_empty() => {
            tracing::debug!(agent_id, intent, "the policy entry has no intents");
            None
        }
        None => {
            let known: Vec<&String> = policy.intents.keys().collect();
            tracing::warn!(agent_id, intent, ?known, "the session intent is not one of this agent's policy intents: treated as no intent");
            None
        }
    }
}

/// Every value the (dotted) argument path can name must be a path (or list of paths) inside a folder.
fn check_constraint(constraint: &Constraint, arguments: &Value) -> Result<(), String> {
    let segments: Vec<&str> = constraint.argument.split('.').collect();
    let mut values = Vec::new();
    lookup(arguments, &segments, &mut values);
    if values.is_empty() {
        return Err(format!(
            "argument `{}` is missing; it must be a path under {}",
            constraint.argument,
            folders(constraint)
        ));
    }
    values
        .into_iter()
        .try_for_each(|v| check_value(constraint, v))
}

/// Collect every value `segments` can name: `a.b` is `{"a": {"b": …}}` and also `{"a.b": …}`, so a client
/// cannot hide a value from the check behind the other spelling.
fn lookup<'a>(value: &'a Value, segments: &[&str], out: &mut Vec<&'a Value>) {
    if segments.is_empty() {
        out.push(value);
        return;
    }
    let Some(object) = value.as_object() else {
        return;
    };
    for take in 1..=segments.len() {
        if let Some(next) = object.get(&segments[..take].join(".")) {
            lookup(next, &segments[take..], out);
        }
    }
}

fn check_value(constraint: &Constraint, value: &Value) -> Result<(), String> {
    match value {
        Value::String(path) => check_path(constraint, path),
        Value::Array(items) => items.iter().try_for_each(|item| match item {
            Value::String(path) => check_path(constraint, path),
            other => Err(not_a_path(constraint, other)),
        }),
        other => Err(not_a_path(constraint, other)),
    }
}

fn check_path(constraint: &Constraint, path: &str) -> Result<(), String> {
    if constraint.under.iter().any(|f| under::is_under(path, f)) {
        return Ok(());
    }
    Err(format!(
        "argument `{}` is {}, which is not under {}",
        constraint.argument,
        quote(path),
        folders(constraint)
    ))
}

fn not_a_path(constraint: &Constraint, value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!(
        "argument `{}` is {kind}, not a path; it must be a path under {}",
        constraint.argument,
        folders(constraint)
    )
}

/// `` `/a` `` or `` one of `/a`, `/b` ``.
fn folders(constraint: &Constraint) -> String {
    let list: Vec<String> = constraint.under.iter().map(|f| format!("`{f}`")).collect();
    match list.as_slice() {
        [one] => one.clone(),
        _ => format!("one of {}", list.join(", ")),
    }
}

/// A value as a quoted string, cut after `MAX_QUOTED_ARGUMENT_BYTES` (on a character boundary).
fn quote(value: &str) -> String {
    if value.len() <= MAX_QUOTED_ARGUMENT_BYTES {
        return format!("{value:?}");
    }
    let mut end = MAX_QUOTED_ARGUMENT_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}… ({} bytes)", &value[..end], value.len())
}

pub struct LocalPolicy {
    scope: Scope,
    mode: Mode,
    violations: u32,
    /// A remote enforcer decides after this policy: with no local policy, approve (the enforcer decides)
    /// instead of applying the `THOTH_ENV` rule.
    defer_unconfigured: bool,
}

impl LocalPolicy {
    pub fn new(scope: Scope, mode: Mode) -> LocalPolicy {
        LocalPolicy {
            scope,
            mode,
            violations: 0,
            defer_unconfigured: false,
        }
    }

    /// This policy as the first layer before a remote enforcer (`layered`): when no local policy exists
    /// (`Scope::Unconfigured`) it approves every call, leaving the decision to the enforcer, instead of
    /// refusing everything in staging/prod. Configured scopes are unchanged.
    pub fn before_enforcer(mut self) -> LocalPolicy {
        self.defer_unconfigured = true;
        self
    }

    /// No policy file and no `--approved-scope`: only `THOTH_ENV` (or an enforcer) decides.
    pub fn is_unconfigured(&self) -> bool {
        matches!(self.scope, Scope::Unconfigured(_))
    }

    /// The approved scope as the enforcer is told it (`approved_scope`): the `--approved-scope` names and
    /// the policy file's approved globs (the session intent's list when one applies), sorted; empty when no
    /// local policy exists.
    pub fn approved_scope(&self) -> Vec<String> {
        let mut scope: Vec<String> = match &self.scope {
            Scope::Unconfigured(_) => Vec::new(),
            Scope::Tools(tools) => tools.iter().cloned().collect(),
            // A managed policy narrowed by `--approved-scope`: the names it still approves.
            Scope::File(file) if file.extra_narrows && !file.extra.is_empty() => file
                .extra
                .iter()
                .filter(|name| file.is_approved(name))
                .cloned()
                .collect(),
            Scope::File(file) => {
                let globs = match &file.intent {
                    Some((_, list)) => list,
                    None => &file.approved,
                };
                globs
                    .0
                    .iter()
                    .map(ToString::to_string)
                    .chain(file.extra.iter().cloned())
                    .collect()
            }
        };
        scope.sort_unstable();
        scope.dedup();
        scope
    }

    /// The policy file's entry for `agent_id` with the session intent, plus `--approved-scope` names.
    pub fn from_file(
        file: &PolicyFile,
        agent_id: &str,
        session_intent: Option<&str>,
        mode: Mode,
        extra_scope: &[String],
    ) -> LocalPolicy {
        let scope = FileScope::new(file, agent_id, session_intent, extra_scope);
        LocalPolicy::new(Scope::File(Box::new(scope)), mode)
    }

    /// `from_file` for a policy named by managed settings: nothing the user picks widens it
    /// (`FileScope::managed`).
    pub fn from_managed_file(
        file: &PolicyFile,
        agent_id: &str,
        session_intent: Option<&str>,
        mode: Mode,
        extra_scope: &[String],
    ) -> LocalPolicy {
        let scope = FileScope::managed(file, agent_id, session_intent, extra_scope);
        LocalPolicy::new(Scope::File(Box::new(scope)), mode)
    }

    /// Does `tool_visible` hide anything? (When false the proxy need not rewrite tools/list results.)
    pub fn filters_lists(&self) -> bool {
        match &self.scope {
            Scope::File(scope) => self.mode == Mode::Block || !scope.denied.is_empty(),
            Scope::Unconfigured(_) | Scope::Tools(_) => false,
        }
    }

    /// Should a tools/list result show `name`? Hidden: what can never succeed under a policy file, that is
    /// denied tools (every mode) and, in block mode, tools neither approved nor step-up. Flag-only scopes
    /// and no policy hide nothing.
    pub fn tool_visible(&self, name: &str) -> bool {
        match &self.scope {
            Scope::File(scope) => {
                !scope.denied.matches(name)
                    && (self.mode != Mode::Block
                        || scope.step_up.matches(name)
                        || scope.is_approved(name))
            }
            Scope::Unconfigured(_) | Scope::Tools(_) => true,
        }
    }

    fn rule(&self, call: &ToolCall) -> Ruling {
        match &self.scope {
            Scope::Unconfigured(_) if self.defer_unconfigured => Ruling::Allow,
            Scope::Unconfigured(Environment::Dev) => Ruling::Allow,
            Scope::Unconfigured(env) => Ruling::Refuse(format!(
                "no policy is configured and THOTH_ENV is {}: every tools/call is refused. Set --approved-scope, \
                 a policy file, or an enforcer (THOTH_TENANT_ID); or THOTH_ENV=dev to try thoth unguarded",
                env.as_str()
            )),
            Scope::Tools(tools) if tools.contains(&call.name) => Ruling::Allow,
            Scope::Tools(_) => Ruling::OutOfScope(format!(
                "tool `{}` is outside the approved scope",
                call.name
            )),
            Scope::File(scope) => scope.rule(call),
        }
    }

    /// A hard refusal; it counts as a violation (progressive mode escalates sooner after one).
    fn refuse(&mut self, reason: String) -> Decision {
        self.violations += 1;
        Decision::Block(Refusal {
            reason,
            violation_id: new_id("v"),
        })
    }

    /// A listed step-up tool: approval in every mode but observe, which forwards it. Not a violation.
    fn step_up(&self, call: &ToolCall, reason: String) -> Decision {
        if self.mode == Mode::Observe {
            tracing::warn!(tool = %call.name, would = "STEP_UP", "observe mode: forwarding a call that needs approval");
            return Decision::Allow;
        }
        hold(reason)
    }

    /// The decision the mode gives an out-of-scope call, counting it for progressive mode.
    fn on_violation(&mut self, call: &ToolCall, reason: String) -> Decision {
        self.violations += 1;
        let block = || {
            Decision::Block(Refusal {
                reason: reason.clone(),
                violation_id: new_id("v"),
            })
        };
        let step_up = || hold(format!("{reason}; approval is required"));
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

fn hold(reason: String) -> Decision {
    Decision::StepUp(Hold {
        reason,
        hold_token: new_id("hold"),
        approval_url: None,
        timeout_seconds: 0,
    })
}

impl Decide for LocalPolicy {
    fn list_filter(&self) -> Option<super::ListFilter> {
        if !self.filters_lists() {
            return None;
        }
        // A copy of the rules (not the session's violation count) answers for lists.
        let view = LocalPolicy {
            defer_unconfigured: self.defer_unconfigured,
            ..LocalPolicy::new(self.scope.clone(), self.mode)
        };
        Some(Box::new(move |name| view.tool_visible(name)))
    }

    fn decide(&mut self, call: &ToolCall) -> Verdict {
        let decision = match self.rule(call) {
            Ruling::Allow => Decision::Allow,
            Ruling::Refuse(reason) => self.refuse(reason),
            Ruling::StepUp(reason) => self.step_up(call, reason),
            Ruling::OutOfScope(reason) => self.on_violation(call, reason),
        };
        Verdict::Ready(decision)
    }
}

#[cfg(test)]
mod tests;
