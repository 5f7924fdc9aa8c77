//! The GovAPI wire (DESIGN.md §5): the registration and check-in payloads, the client that posts them through
//! the one hardened `net` client with the GovAPI credential, the classification of failures (refused
//! credential / transient / rejected), and the capped, jittered backoff. No files and no loop here: the
//! heartbeat leader (`heartbeat`) and `thoth checkin` (`checkin`) drive it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::identity::Identity;
use crate::net::NetClient;
use crate::settings::{Credential, Settings};

/// The longest wait between two attempts, however many failed in a row.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// An interval GovAPI asks for is kept within these bounds.
pub const MIN_INTERVAL_SECONDS: u64 = 1;
pub const MAX_INTERVAL_SECONDS: u64 = 86_400;

/// `POST {govapi}/v1/endpoints/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub endpoint_id: String,
    pub identity_source: &'static str,
    pub hostname: Option<String>,
    pub os: &'static str,
    pub os_version: Option<String>,
    pub arch: &'static str,
    pub proxy_version: &'static str,
    pub enrollment_source: String,
    pub fleet_id: Option<String>,
    pub environment: &'static str,
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub agent_ids: Vec<String>,
}

impl Registration {
    /// What this endpoint registers as (no agent ids yet: the caller adds the live ones).
    pub fn new(settings: &Settings, identity: &Identity) -> Registration {
        let value = |name: &str| settings.get(name).map(|v| v.value.clone());
        let enrollment_source =
            value("THOTH_ENROLLMENT_SOURCE").unwrap_or_else(|| match identity.source.name() {
                source @ ("jamf" | "intune") => source.to_owned(),
                _ => "manual".to_owned(),
            });
        Registration {
            endpoint_id: identity.id.clone(),
            identity_source: identity.source.name(),
            hostname: sysinfo::System::host_name(),
            os: std::env::consts::OS,
            os_version: sysinfo::System::os_version(),
            arch: std::env::consts::ARCH,
            proxy_version: env!("CARGO_PKG_VERSION"),
            enrollment_source,
            fleet_id: value("THOTH_FLEET_ID"),
            environment: settings.environment.value.as_str(),
            tenant_id: settings.tenant_id.as_ref().map(|t| t.value.clone()),
            user_id: value("THOTH_USER_ID"),
            agent_ids: Vec::new(),
        }
    }

    /// SHA-256 (hex) over everything registered except the agent ids, and the GovAPI it goes to: when it
    /// changes (a new version, identity or setting), the endpoint registers again.
    pub fn fingerprint(&self, govapi_url: &str) -> String {
        let mut stable = self.clone();
        stable.agent_ids.clear();
        let mut input = govapi_url.as_bytes().to_vec();
        input.push(0);
        input.extend(serde_json::to_vec(&stable).unwrap_or_default());
        crate::net::verify::sha256_hex(&input)
    }
}

/// Decision counts of the live sessions, as the check-in reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decisions {
    pub allow: u64,
    pub block: u64,
    pub step_up: u64,
}

impl std::ops::AddAssign for Decisions {
    fn add_assign(&mut self, other: Decisions) {
        self.allow += other.allow;
        self.block += other.block;
        self.step_up += other.step_up;
    }
}

/// A session's running decision counts (shared by the governance that counts and the heartbeat that reports).
#[derive(Debug, Default)]
pub struct DecisionCounter {
    allow: AtomicU64,
    block: AtomicU64,
    step_up: AtomicU64,
    /// Lock drift this session saw (`thoth run --lock`), distinct by tool and kind, bounded.
    drift: std::sync::Mutex<Vec<LockDrift>>,
}

/// One lock drift as the check-in reports it (`lock_drift`, with the server's agent id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockDrift {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server: String,
    pub tool: String,
    pub kind: String,
    pub severity: String,
}

/// Past this many distinct drifts a session stops collecting (the audit log keeps every one).
const MAX_DRIFT: usize = 100;

impl DecisionCounter {
    /// Remember a drift for the next heartbeat.
    pub fn record_drift(&self, tool: &str, kind: &str, severity: &str) {
        let Ok(mut drift) = self.drift.lock() else {
            return;
        };
        if drift.len() < MAX_DRIFT && !drift.iter().any(|d| d.tool == tool && d.kind == kind) {
            drift.push(LockDrift {
                server: String::new(),
                tool: tool.to_owned(),
                kind: kind.to_owned(),
                severity: severity.to_owned(),
            });
        }
    }

    pub fn drift(&self) -> Vec<LockDrift> {
        self.drift.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl DecisionCounter {
    /// Count one decision (MODIFY forwards the call, so it counts as allowed).
    pub fn record(&self, kind: crate::audit::DecisionKind) {
        use crate::audit::DecisionKind;
        let counter = match kind {
            DecisionKind::Allow | DecisionKind::Modify => &self.allow,
            DecisionKind::Block => &self.block,
            DecisionKind::StepUp => &self.step_up,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Decisions {
        Decisions {
            allow: self.allow.load(Ordering::Relaxed),
            block: self.block.load(Ordering::Relaxed),
            step_up: self.step_up.load(Ordering::Relaxed),
        }
    }
}

/// `POST {govapi}/v1/endpoints/{endpoint_id}/checkin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkin {
    pub endpoint_id: String,
    pub proxy_version: &'static str,
    pub enforcement_mode: &'static str,
    pub agent_ids: Vec<String>,
    /// Live governed sessions (`thoth run` processes) on this machine for this user.
    pub governed_servers: usize,
    /// Seconds since the oldest live session started.
    pub uptime_seconds: u64,
    pub decisions: Decisions,
    pub occurred_at: String,
    /// Lock drift the live sessions saw (server = agent id, tool, kind, severity); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lock_drift: Vec<LockDrift>,
    /// The user's audit chain head (file, seq, line hash; no MAC), so GovAPI keeps a copy off the machine
    /// and sees a chain that went back or changed (`audit::head`). Absent before the first record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<crate::audit::head::Anchor>,
    /// Client-config drift the leader found before this check-in, and what it did (`fleet::drift`); absent
    /// when nothing drifted and THOTH_AUTO_WRAP is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<super::drift::Report>,
}

/// What GovAPI may say back (anything else in the body is ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Reply {
    #[serde(default, alias = "checkinIntervalSeconds")]
    pub checkin_interval_seconds: Option<u64>,
}

impl Reply {
    /// The interval GovAPI asked for, kept within bounds.
    pub fn interval(&self) -> Option<u64> {
        self.checkin_interval_seconds
            .map(|s| s.clamp(MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS))
    }
}

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// 401/403, or a credential that cannot be sent: retrying cannot help.
    #[error("GovAPI refused the credential: {0}")]
    Unauthorized(String),
    /// Connection, TLS, timeout, 429 or 5xx: try again later.
    #[error("{0}")]
    Transient(String),
    /// 429 or 503 with a `Retry-After`: try again, but not before the server asked.
    #[error("{what}")]
    Throttled { what: String, retry_after: Duration },
    /// Another 4xx: GovAPI did not accept what was sent.
    #[error("{0}")]
    Rejected(String),
}

impl Failure {
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Failure::Unauthorized(_))
    }

    /// The wait the server asked for (`Retry-After`), if it asked.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Throttled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// GovAPI reporting is on: a GovAPI URL (THOTH_GOVAPI_URL, or derived from THOTH_TENANT_ID +
/// THOTH_APEX_DOMAIN) and a credential (THOTH_GOVAPI_BEARER_TOKEN / THOTH_GOVAPI_API_KEY, else the
/// enforcer's), as the enforcer needs both.
pub fn configured(settings: &Settings) -> bool {
    settings.govapi_url.is_some() && settings.govapi_credential.is_some()
}

/// A GovAPI client: its base URL, credential and the process's hardened HTTP client.
#[derive(Debug, Clone)]
pub struct GovApi {
    net: NetClient,
    base: String,
    credential: Option<Credential>,
}

impl GovApi {
    /// The client for `settings`, or None unless GovAPI is configured (`configured`). Builds the `net` client
    /// (reads THOTH_TLS_CA_BUNDLE): call outside async code.
    pub fn from_settings(settings: &Settings) -> Result<Option<GovApi>, crate::net::Error> {
        let (Some(url), Some(credential)) = (&settings.govapi_url, &settings.govapi_credential)
        else {
            return Ok(None);
        };
        Ok(Some(GovApi {
            net: crate::net::client(settings)?,
            base: url.value.trim_end_matches('/').to_owned(),
            credential: Some(credential.value.clone()),
        }))
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn net(&self) -> &NetClient {
        &self.net
    }

    pub async fn register(&self, body: &Registration) -> Result<Reply, Failure> {
        self.post("/v1/endpoints/register", body).await
    }

    pub async fn checkin(&self, body: &Checkin) -> Result<Reply, Failure> {
        // Endpoint ids are URL-path safe (identity::is_safe_id), so the id goes in unescaped.
        let path = format!("/v1/endpoints/{}/checkin", body.endpoint_id);
        self.post(&path, body).await
    }

    /// A request with the GovAPI credential attached.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, Failure> {
        let request = self
            .net
            .http()
            .request(method, format!("{}{path}", self.base));
        Ok(match &self.credential {
            None => request,
            Some(Credential::Bearer(token)) => request.header(
                "authorization",
                header(&format!("Bearer {}", token.expose()))?,
            ),
            Some(Credential::ApiKey(key)) => request.header("x-api-key", header(key.expose())?),
        })
    }

    async fn post<T: Serialize>(&self, path: &str, body: &T) -> Result<Reply, Failure> {
        let response = self
            .request(reqwest::Method::POST, path)?
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap_or_default())
            .send()
            .await
            .map_err(|e| Failure::Transient(crate::net::describe(&e)))?;
        let status = response.status();
        let retry_after = crate::backoff::retry_after_in(response.headers());
        let text = response.text().await.unwrap_or_default();
        let what = || format!("POST {path} answered {}{}", status.as_u16(), excerpt(&text));
        match (status.as_u16(), retry_after) {
            (200..=299, _) => Ok(serde_json::from_str::<Reply>(&text).unwrap_or_default()),
            (401 | 403, _) => Err(Failure::Unauthorized(what())),
            (429 | 503, Some(retry_after)) => Err(Failure::Throttled {
                what: what(),
                retry_after,
            }),
            (408 | 429 | 500..=599, _) => Err(Failure::Transient(what())),
            _ => Err(Failure::Rejected(what())),
        }
    }
}

fn header(value: &str) -> Result<reqwest::header::HeaderValue, Failure> {
    let mut value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
        Failure::Unauthorized(
            "the GovAPI credential holds characters an HTTP header cannot carry".into(),
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// The start of an error body, for the last-error line (bodies can be large or hostile).
fn excerpt(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let cut: String = body.chars().take(200).filter(|c| !c.is_control()).collect();
    format!(": {cut}")
}

/// How long to wait after `failures` failed attempts in a row (at least 1): the interval doubled per
/// failure, capped at 16 intervals and at `MAX_BACKOFF` (never below the interval itself).
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let cap = interval.saturating_mul(16).min(MAX_BACKOFF).max(interval);
    crate::backoff::Backoff::new(interval, cap).delay(failures.clamp(1, 16))
}

/// `delay` moved by up to ±10% at random, so a fleet that restarted together does not call in together.
pub fn jitter(delay: Duration) -> Duration {
    jitter_with(delay, &mut fastrand::Rng::new())
}

/// `jitter` with the caller's random source (the leader keeps one; the fleet simulation seeds it).
pub fn jitter_with(delay: Duration, rng: &mut fastrand::Rng) -> Duration {
    crate::backoff::spread(delay, 0.1, rng)
}

/// The leader's wait after its `failures`-th failure in a row: the jittered backoff, or, when GovAPI sent
/// `Retry-After`, at least that long (capped at `MAX_BACKOFF`) plus a uniform spread over one interval, so
/// a fleet told one date comes back at the steady rate instead of in one second (src/fleet/simulation.rs).
pub fn retry_wait(
    interval: Duration,
    failures: u32,
    retry_after: Option<Duration>,
    rng: &mut fastrand::Rng,
) -> Duration {
    let backoff = jitter_with(backoff(interval, failures), rng);
    crate::backoff::honour(backoff, retry_after, MAX_BACKOFF, interval, rng)
}

/// The heartbeat leader's wait before its next attempt (the one decision its loop and the fleet simulation
/// share): the jittered interval after a success (`failure` None), `retry_wait` after a failure
/// (`failures` in a row, this one counted), None after a refused credential: no more attempts.
pub fn next_wait(
    interval: Duration,
    failure: Option<&Failure>,
    failures: u32,
    rng: &mut fastrand::Rng,
) -> Option<Duration> {
    match failure {
        None => Some(jitter_with(interval, rng)),
        Some(failure) if failure.is_unauthorized() => None,
        Some(failure) => Some(retry_wait(interval, failures, failure.retry_after(), rng)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let s = Duration::from_secs;
        assert_eq!(backoff(s(60), 1), s(120));
        assert_eq!(backoff(s(60), 2), s(240));
        assert_eq!(backoff(s(60), 4), s(960));
        assert_eq!(backoff(s(60), 30), s(960));
        assert_eq!(backoff(s(1), 3), s(8));
        assert_eq!(backoff(s(1), 10), s(16));
        assert_eq!(backoff(s(600), 5), MAX_BACKOFF);
        assert_eq!(backoff(s(7200), 5), s(7200));
    }

    proptest::proptest! {
        #[test]
        fn retry_wait_never_comes_back_before_the_server_asked(
            interval in 1u64..7200, failures in 1u32..40, asked in proptest::option::of(0u64..100_000), seed: u64,
        ) {
            let (interval, asked) = (Duration::from_secs(interval), asked.map(Duration::from_secs));
            let wait = retry_wait(interval, failures, asked, &mut fastrand::Rng::with_seed(seed));
            let backoff = backoff(interval, failures).as_secs_f64();
            proptest::prop_assert!(wait.as_secs_f64() >= backoff * 0.9 - 1e-6);
            match asked {
                None => proptest::prop_assert!(wait.as_secs_f64() <= backoff * 1.1 + 1e-6),
                Some(asked) => {
                    let floor = asked.min(MAX_BACKOFF);
                    proptest::prop_assert!(wait >= floor);
                    proptest::prop_assert!(wait.as_secs_f64() <= (backoff * 1.1).max((floor + interval).as_secs_f64()) + 1e-6);
                }
            }
        }
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..1000 {
            let d = jitter(Duration::from_secs(10)).as_secs_f64();
            assert!((9.0..=11.0).contains(&d), "{d}");
        }
    }

    #[test]
    fn replies_may_change_the_interval_within_bounds() {
        let parse = |t: &str| serde_json::from_str::<Reply>(t).unwrap().interval();
        assert_eq!(
            parse(r#"{"checkin_interval_seconds": 30, "x": 1}"#),
            Some(30)
        );
        assert_eq!(parse(r#"{"checkinIntervalSeconds": 0}"#), Some(1));
        assert_eq!(
            parse(r#"{"checkin_interval_seconds": 999999999}"#),
            Some(86_400)
        );
        assert_eq!(parse("{}"), None);
    }

    fn settings(env: &[(&str, &str)]) -> Settings {
        let inputs = crate::settings::Inputs {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..crate::settings::Inputs::default()
        };
        crate::settings::resolve::resolve(inputs).unwrap()
    }

    #[test]
    fn the_fingerprint_follows_what_is_registered_but_not_the_agents() {
        let identity = Identity {
            id: "e1".into(),
            source: crate::identity::IdentitySource::Jamf("managed".into()),
        };
        let base = Registration::new(&settings(&[("THOTH_ENV", "dev")]), &identity);
        assert_eq!(base.enrollment_source, "jamf");
        let url = "https://grid.acme.example.com";
        let mut with_agents = base.clone();
        with_agents.agent_ids = vec!["fs".into()];
        assert_eq!(base.fingerprint(url), with_agents.fingerprint(url));
        assert_ne!(
            base.fingerprint(url),
            base.fingerprint("https://other.example.com")
        );
        let fleet = Registration::new(
            &settings(&[("THOTH_ENV", "dev"), ("THOTH_FLEET_ID", "f2")]),
            &identity,
        );
        assert_ne!(base.fingerprint(url), fleet.fingerprint(url));
        let mut older = base.clone();
        older.proxy_version = "0.0.1";
        assert_ne!(base.fingerprint(url), older.fingerprint(url));
    }

    #[test]
    fn counters_fold_modify_into_allow() {
        use crate::audit::DecisionKind;
        let c = DecisionCounter::default();
        for k in [
            DecisionKind::Allow,
            DecisionKind::Modify,
            DecisionKind::Block,
            DecisionKind::StepUp,
        ] {
            c.record(k);
        }
        assert_eq!(
            c.snapshot(),
            Decisions {
                allow: 2,
                block: 1,
                step_up: 1
            }
        );
    }
}
