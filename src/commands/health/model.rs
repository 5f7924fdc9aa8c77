//! The health report (`thoth health --json`, schemas/health.schema.json, DESIGN.md §5) and the status rules,
//! in one place (`Checks::status`, README "Health status"). Pure: the caller gathers the facts (settings,
//! endpoint state, Claude config, runtime user, update state) and `build` judges them.
//!
//! Rules: any `fail` check -> unhealthy; else any `warn` -> degraded; else healthy.

use serde::Serialize;
use time::OffsetDateTime;

use super::claude_config::ClaudeConfig;
use crate::fleet::endpoint_state::{self, EndpointState};
use crate::runtime_user::RuntimeUser;

pub const SCHEMA_VERSION: u32 = 1;
/// A check-in older than this many intervals makes the endpoint degraded.
pub const STALE_INTERVALS: u64 = 3;
/// Failed attempts in a row, without ever registering, that make an endpoint unhealthy.
pub const UNREGISTERED_FAILURES: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Healthy,
    Degraded,
    Unhealthy,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Unhealthy => "unhealthy",
        }
    }
}

pub use super::check::{Check, CheckStatus};

#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub schema_version: u32,
    pub status: Status,
    pub version: &'static str,
    pub endpoint: Endpoint,
    pub tenant_id: Option<String>,
    pub environment: Option<&'static str>,
    pub enforcement_mode: Option<&'static str>,
    pub claude_config: ClaudeConfig,
    /// The endpoint is governed: every MCP client found is (`mcp_clients[]`); Jamf/Intune report this.
    pub governed: bool,
    /// One row per MCP client (schemas/health.schema.json).
    pub mcp_clients: Vec<super::clients::McpClient>,
    /// Claude Desktop's extensions and managed keys.
    pub claude_desktop: Option<super::clients::ClaudeDesktop>,
    pub govapi: GovApiHealth,
    pub runtime: Runtime,
    /// `~/.thoth/state/update.json` as written by `thoth update`, or null.
    pub update: Option<serde_json::Value>,
    pub checks: Vec<Check>,
    /// The saved SSO session of the tenant, without its token (null when none is named).
    pub session: Option<crate::auth::status::SessionStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub id: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GovApiHealth {
    pub configured: bool,
    pub url: Option<String>,
    pub registered: bool,
    pub registered_at: Option<String>,
    pub last_checkin_at: Option<String>,
    pub last_checkin_age_seconds: Option<u64>,
    pub interval_seconds: u64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub auth_refused: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Runtime {
    pub user: Option<String>,
    pub uid: Option<u32>,
    pub non_root_ok: bool,
    pub problems: Vec<String>,
}

/// The facts health judges.
pub struct Facts {
    pub endpoint: Endpoint,
    pub tenant_id: Option<String>,
    pub environment: Option<&'static str>,
    pub enforcement_mode: Option<&'static str>,
    pub govapi_url: Option<String>,
    pub interval_seconds: u64,
    /// The saved GovAPI state, or why it could not be read.
    pub state: Result<Option<EndpointState>, String>,
    pub claude_config: ClaudeConfig,
    pub runtime: RuntimeUser,
    pub update: Option<serde_json::Value>,
    /// Settings that could not be resolved (the report is then unhealthy).
    pub settings_error: Option<String>,
    /// Managed values that failed closed, trusted files others can write (dev): degraded, each named.
    pub settings_warnings: Vec<String>,
    pub now: OffsetDateTime,
}

pub fn build(facts: Facts) -> HealthReport {
    let mut checks = Vec::new();
    let mut check = |name, status, detail: String| {
        checks.push(Check {
            name,
            status,
            detail,
        })
    };
    if let Some(problem) = &facts.settings_error {
        check("settings", CheckStatus::Fail, problem.clone());
    }
    if !facts.settings_warnings.is_empty() {
        check(
            "managed_settings",
            CheckStatus::Warn,
            facts.settings_warnings.join("; "),
        );
    }
    if facts.runtime.ok() {
        let who = facts.runtime.user.as_deref().unwrap_or("(unknown)");
        check("runtime_user", CheckStatus::Ok, format!("runs as {who}"));
    } else {
        check(
            "runtime_user",
            CheckStatus::Fail,
            facts.runtime.problems.join("; "),
        );
    }
    if facts.endpoint.id.is_none() {
        check(
            "identity",
            CheckStatus::Warn,
            "no endpoint id could be found (set THOTH_ENDPOINT_ID)".into(),
        );
    }
    let config = &facts.claude_config;
    match (&config.error, config.found) {
        (Some(error), _) if config.refused => check(
            "claude_config",
            CheckStatus::Fail,
            format!("{}: {error}", config.path),
        ),
        (Some(error), _) => check(
            "claude_config",
            CheckStatus::Warn,
            format!("{}: {error}", config.path),
        ),
        (None, false) => check(
            "claude_config",
            CheckStatus::Ok,
            format!("no Claude Desktop config at {}", config.path),
        ),
        (None, true) if !config.ungoverned.is_empty() => check(
            "claude_config",
            CheckStatus::Warn,
            format!(
                "ungoverned stdio server(s): {} (run `thoth wrap-config`)",
                config.ungoverned.join(", ")
            ),
        ),
        (None, true) => check(
            "claude_config",
            CheckStatus::Ok,
            format!("{} governed server(s)", config.governed_servers.len()),
        ),
    }
    let (state, state_error) = match facts.state {
        Ok(state) => (state.unwrap_or_default(), None),
        Err(problem) => (EndpointState::default(), Some(problem)),
    };
    let interval = state
        .checkin_interval_seconds
        .unwrap_or(facts.interval_seconds)
        .max(1);
    let age = state
        .last_checkin_at
        .as_deref()
        .and_then(endpoint_state::parse_time)
        .map(|t| (facts.now - t).whole_seconds().max(0) as u64);
    let registered = state.registered_at.is_some();
    if facts.govapi_url.is_none() {
        check(
            "govapi",
            CheckStatus::Skip,
            "no GovAPI configured (a URL: THOTH_GOVAPI_URL or THOTH_TENANT_ID + THOTH_APEX_DOMAIN, and a credential)".into(),
        );
    } else {
        if let Some(problem) = state_error {
            check("govapi_state", CheckStatus::Warn, problem);
        }
        if state.auth_refused {
            check(
                "govapi_credential",
                CheckStatus::Fail,
                format!(
                    "GovAPI refused the credential: {}",
                    state.last_error.as_deref().unwrap_or("401/403")
                ),
            );
        }
        match (registered, state.consecutive_failures) {
            (true, _) => check(
                "govapi_registered",
                CheckStatus::Ok,
                format!(
                    "registered at {}",
                    state.registered_at.as_deref().unwrap_or("")
                ),
            ),
            (false, n) if n >= UNREGISTERED_FAILURES => check(
                "govapi_registered",
                CheckStatus::Fail,
                format!("not registered after {n} attempts"),
            ),
            (false, _) => check(
                "govapi_registered",
                CheckStatus::Warn,
                "not registered yet".into(),
            ),
        }
        match age {
            Some(age) if age > STALE_INTERVALS * interval => check(
                "govapi_checkin",
                CheckStatus::Warn,
                format!("last check-in {age} s ago, more than {STALE_INTERVALS} intervals of {interval} s"),
            ),
            Some(age) => check("govapi_checkin", CheckStatus::Ok, format!("last check-in {age} s ago")),
            None if registered => check("govapi_checkin", CheckStatus::Warn, "no check-in yet".into()),
            None => {}
        }
        if let (Some(error), false) = (&state.last_error, state.auth_refused) {
            check("govapi_error", CheckStatus::Warn, error.clone());
        }
    }
    let status = status(&checks);
    HealthReport {
        schema_version: SCHEMA_VERSION,
        status,
        version: env!("CARGO_PKG_VERSION"),
        endpoint: facts.endpoint,
        tenant_id: facts.tenant_id,
        environment: facts.environment,
        enforcement_mode: facts.enforcement_mode,
        governed: facts.claude_config.governed,
        claude_config: facts.claude_config,
        mcp_clients: Vec::new(),
        claude_desktop: None,
        govapi: GovApiHealth {
            configured: facts.govapi_url.is_some(),
            url: facts.govapi_url,
            registered,
            registered_at: state.registered_at,
            last_checkin_at: state.last_checkin_at,
            last_checkin_age_seconds: age,
            interval_seconds: interval,
            last_error: state.last_error,
            last_error_at: state.last_error_at,
            auth_refused: state.auth_refused,
        },
        runtime: Runtime {
            user: facts.runtime.user.clone(),
            uid: facts.runtime.uid,
            non_root_ok: facts.runtime.ok(),
            problems: facts.runtime.problems,
        },
        update: facts.update,
        checks,
        session: None,
    }
}

/// The status rules: any failed check is unhealthy, any warning degraded, otherwise healthy.
pub fn status(checks: &[Check]) -> Status {
    if checks.iter().any(|c| c.status == CheckStatus::Fail) {
        Status::Unhealthy
    } else if checks.iter().any(|c| c.status == CheckStatus::Warn) {
        Status::Degraded
    } else {
        Status::Healthy
    }
}

#[cfg(test)]
mod tests;
