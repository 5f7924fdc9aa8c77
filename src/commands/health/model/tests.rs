use super::*;
use crate::commands::health::claude_config::ClaudeConfig;

fn config(ungoverned: &[&str]) -> ClaudeConfig {
    ClaudeConfig {
        path: "/h/claude_desktop_config.json".into(),
        found: true,
        servers: 1 + ungoverned.len(),
        governed: ungoverned.is_empty(),
        governed_servers: vec!["fs".into()],
        ungoverned: ungoverned.iter().map(|s| s.to_string()).collect(),
        remote: Vec::new(),
        error: None,
        locks: Vec::new(),
        refused: false,
    }
}

fn runtime(problems: &[&str]) -> RuntimeUser {
    RuntimeUser {
        user: Some("alice".into()),
        uid: Some(501),
        is_root: false,
        require_non_root: true,
        problems: problems.iter().map(|s| s.to_string()).collect(),
    }
}

fn at(text: &str) -> OffsetDateTime {
    endpoint_state::parse_time(text).unwrap()
}

fn facts(state: Option<EndpointState>, govapi: bool) -> Facts {
    Facts {
        endpoint: Endpoint {
            id: Some("e1".into()),
            source: "endpoint_id".into(),
        },
        tenant_id: Some("acme".into()),
        environment: Some("prod"),
        enforcement_mode: Some("block"),
        govapi_url: govapi.then(|| "https://grid.acme.example.com".into()),
        interval_seconds: 60,
        state: Ok(state),
        claude_config: config(&[]),
        runtime: runtime(&[]),
        update: None,
        settings_error: None,
        settings_warnings: Vec::new(),
        now: at("2026-01-01T00:10:00Z"),
    }
}

fn registered(last_checkin: &str) -> EndpointState {
    EndpointState {
        registered_at: Some("2026-01-01T00:00:00Z".into()),
        last_checkin_at: Some(last_checkin.into()),
        ..EndpointState::default()
    }
}

fn names(r: &HealthReport, status: CheckStatus) -> Vec<&'static str> {
    r.checks
        .iter()
        .filter(|c| c.status == status)
        .map(|c| c.name)
        .collect()
}

#[test]
fn standalone_and_fresh_checkins_are_healthy() {
    assert_eq!(build(facts(None, false)).status, Status::Healthy);
    let r = build(facts(Some(registered("2026-01-01T00:09:00Z")), true));
    assert_eq!(r.status, Status::Healthy, "{:?}", r.checks);
    assert_eq!(r.govapi.last_checkin_age_seconds, Some(60));
    assert!(r.govapi.registered);
}

#[test]
fn a_stale_checkin_an_error_or_an_ungoverned_server_is_degraded() {
    // 3 intervals of 60 s is the limit: 180 s is fine, 181 s is stale.
    let r = build(facts(Some(registered("2026-01-01T00:07:00Z")), true));
    assert_eq!(r.status, Status::Healthy);
    let r = build(facts(Some(registered("2026-01-01T00:06:59Z")), true));
    assert_eq!(
        (r.status, names(&r, CheckStatus::Warn)),
        (Status::Degraded, vec!["govapi_checkin"])
    );
    let mut state = registered("2026-01-01T00:09:00Z");
    state.last_error = Some("POST /v1/endpoints/e1/checkin answered 503".into());
    let r = build(facts(Some(state), true));
    assert_eq!(names(&r, CheckStatus::Warn), vec!["govapi_error"]);
    let mut f = facts(None, false);
    f.claude_config = config(&["raw"]);
    let r = build(f);
    assert_eq!(r.status, Status::Degraded);
    assert!(r.checks.iter().any(|c| c.detail.contains("raw")));
    // GovAPI configured, nothing heard yet: degraded, not unhealthy.
    assert_eq!(build(facts(None, true)).status, Status::Degraded);
}

#[test]
fn refused_credentials_failed_registration_and_runtime_problems_are_unhealthy() {
    let state = EndpointState {
        auth_refused: true,
        last_error: Some("GovAPI refused the credential: 401".into()),
        consecutive_failures: 1,
        ..EndpointState::default()
    };
    let r = build(facts(Some(state), true));
    assert_eq!(r.status, Status::Unhealthy);
    assert_eq!(names(&r, CheckStatus::Fail), vec!["govapi_credential"]);
    let state = EndpointState {
        consecutive_failures: 3,
        last_error: Some("could not connect".into()),
        ..EndpointState::default()
    };
    assert_eq!(
        names(&build(facts(Some(state), true)), CheckStatus::Fail),
        vec!["govapi_registered"]
    );
    let mut f = facts(None, false);
    f.runtime = runtime(&["thoth is running as user bob, but THOTH_EXPECTED_PROXY_USER is alice"]);
    let r = build(f);
    assert_eq!(r.status, Status::Unhealthy);
    assert!(!r.runtime.non_root_ok);
}

#[test]
fn a_server_interval_sets_the_staleness_limit() {
    let mut state = registered("2026-01-01T00:09:00Z");
    state.checkin_interval_seconds = Some(10);
    let r = build(facts(Some(state), true));
    assert_eq!(r.govapi.interval_seconds, 10);
    assert_eq!(r.status, Status::Degraded);
}
