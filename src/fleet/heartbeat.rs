//! Registration and heartbeats (DESIGN.md §5). `Link` is one attempt: register when the fingerprint of what
//! is registered changed, then check in with the live agents, and fold the result into `EndpointState`.
//! `Heartbeat` is the background loop of `thoth run`: announce this process, elect one leader per user with
//! the `state/heartbeat.lock` file lock, and (as leader) check in every interval with jitter and capped
//! backoff; a refused credential stops it. It never writes stdout, and it ends when `thoth run` drops it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::agents::{self, AgentRecord, Presence};
use super::drift::{self, Setup};
use super::endpoint_state::{self, EndpointState};
use super::govapi::{self, Checkin, DecisionCounter, Decisions, Failure, GovApi, Registration};
use crate::settings::Settings;

/// Followers try to take the leader lock at least this often (and every interval when it is shorter).
const MAX_FOLLOWER_POLL: Duration = Duration::from_secs(5);

/// Everything one registration / check-in attempt needs, prepared off the event loop.
#[derive(Debug, Clone)]
pub struct Link {
    pub api: GovApi,
    pub registration: Registration,
    pub fingerprint: String,
    pub thoth_dir: PathBuf,
    pub enforcement_mode: &'static str,
    /// The configured interval (THOTH_HEARTBEAT_INTERVAL_SECONDS); a GovAPI reply may override it.
    pub interval_seconds: u64,
    /// Whose client configs to check for drift before each check-in (`fleet::drift`); None: not checked.
    pub drift: Option<Setup>,
}

impl Link {
    /// The link for `settings`: None unless GovAPI is configured. Blocking (identity, CA bundle).
    pub fn prepare(
        settings: &Settings,
        thoth_dir: PathBuf,
    ) -> Result<Option<Link>, crate::net::Error> {
        let Some(api) = GovApi::from_settings(settings)? else {
            return Ok(None);
        };
        let identity = crate::identity::resolve_system(&|name| {
            settings
                .get(name)
                .map(|v| (v.value.clone(), v.source.to_string()))
        });
        let registration = Registration::new(settings, &identity);
        let fingerprint = registration.fingerprint(api.base_url());
        Ok(Some(Link {
            api,
            registration,
            fingerprint,
            thoth_dir,
            enforcement_mode: settings.enforcement_mode.value.as_str(),
            interval_seconds: settings.heartbeat_interval_seconds.value,
            drift: None,
        }))
    }

    pub fn state_path(&self) -> PathBuf {
        endpoint_state::path(&self.thoth_dir)
    }

    pub fn agents_dir(&self) -> PathBuf {
        agents::agents_dir(&self.thoth_dir)
    }

    /// The interval in force: GovAPI's last word, else the configured one.
    pub fn interval(&self, state: &EndpointState) -> Duration {
        Duration::from_secs(
            state
                .checkin_interval_seconds
                .unwrap_or(self.interval_seconds)
                .max(govapi::MIN_INTERVAL_SECONDS),
        )
    }

    fn needs_registration(&self, state: &EndpointState) -> bool {
        state.registered_at.is_none()
            || state.registration_fingerprint.as_deref() != Some(self.fingerprint.as_str())
    }

    /// Register if needed, then check in; the outcome is folded into `state` (not saved).
    pub async fn attempt(
        &self,
        state: &mut EndpointState,
        agents: &[AgentRecord],
    ) -> Result<(), Failure> {
        state.last_attempt_at = Some(endpoint_state::now());
        let drift = match self.drift.clone() {
            // Absent when there is nothing to say (no drift, auto-wrap off), as `lock_drift` is.
            Some(setup) => {
                blocking(None, move || Some(setup.check()).filter(|r| !r.is_quiet())).await
            }
            None => None,
        };
        let result = self.exchange(state, agents, drift).await;
        match &result {
            Ok(()) => {
                state.last_error = None;
                state.last_error_at = None;
                state.consecutive_failures = 0;
                state.auth_refused = false;
            }
            Err(failure) => {
                tracing::warn!(error = %failure, "GovAPI check-in failed");
                state.last_error = Some(failure.to_string());
                state.last_error_at = state.last_attempt_at.clone();
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                state.auth_refused = failure.is_unauthorized();
            }
        }
        result
    }

    async fn exchange(
        &self,
        state: &mut EndpointState,
        agents: &[AgentRecord],
        drift: Option<drift::Report>,
    ) -> Result<(), Failure> {
        let agent_ids = agents::agent_ids(agents);
        if self.needs_registration(state) {
            let mut registration = self.registration.clone();
            registration.agent_ids = agent_ids.clone();
            let reply = self.api.register(&registration).await?;
            tracing::info!(endpoint_id = %registration.endpoint_id, govapi = %self.api.base_url(), "registered with GovAPI");
            state.registered_at = Some(endpoint_state::now());
            state.registration_fingerprint = Some(self.fingerprint.clone());
            state.endpoint_id = Some(registration.endpoint_id.clone());
            state.govapi_url = Some(self.api.base_url().to_owned());
            if let Some(seconds) = reply.interval() {
                state.checkin_interval_seconds = Some(seconds);
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut decisions = Decisions::default();
        for agent in agents {
            decisions += agent.decisions;
        }
        let checkin = Checkin {
            endpoint_id: self.registration.endpoint_id.clone(),
            proxy_version: env!("CARGO_PKG_VERSION"),
            enforcement_mode: self.enforcement_mode,
            governed_servers: agent_ids.len(),
            agent_ids,
            uptime_seconds: agents
                .iter()
                .map(|a| now.saturating_sub(a.started_at))
                .max()
                .unwrap_or(0),
            decisions,
            occurred_at: endpoint_state::now(),
            lock_drift: agents
                .iter()
                .flat_map(|a| {
                    a.lock_drift
                        .iter()
                        .map(|d| agents::drift_on(&a.agent_id, d))
                })
                .collect(),
            audit_head: {
                let dir = self.thoth_dir.clone();
                tokio::task::spawn_blocking(move || crate::audit::head::anchor(&dir))
                    .await
                    .unwrap_or(None)
            },
            drift,
        };
        match self.api.checkin(&checkin).await {
            Ok(reply) => {
                state.last_checkin_at = Some(endpoint_state::now());
                if let Some(seconds) = reply.interval() {
                    state.checkin_interval_seconds = Some(seconds);
                }
                Ok(())
            }
            Err(failure) => {
                if matches!(&failure, Failure::Rejected(what) if what.contains(" answered 404")) {
                    // GovAPI does not know this endpoint (any more): register again next time.
                    state.registered_at = None;
                }
                Err(failure)
            }
        }
    }
}

/// Run blocking file work off the event loop; a panicked task yields `fallback`.
async fn blocking<T: Send + 'static>(fallback: T, work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap_or(fallback)
}

/// The heartbeat of one `thoth run` process.
pub struct Heartbeat {
    settings: Settings,
    thoth_dir: PathBuf,
    agent_id: String,
    counter: Arc<DecisionCounter>,
}

impl Heartbeat {
    /// None when no GovAPI is configured or no `~/.thoth` is known.
    pub fn new(
        settings: &Settings,
        agent_id: &str,
        counter: Arc<DecisionCounter>,
    ) -> Option<Heartbeat> {
        settings.govapi_url.as_ref()?;
        Some(Heartbeat {
            thoth_dir: settings.thoth_dir.clone()?,
            settings: settings.clone(),
            agent_id: agent_id.to_owned(),
            counter,
        })
    }

    /// Announce this process, follow until it can lead, then lead. Runs until dropped (it never returns
    /// while it has work; when it cannot work at all it logs why and returns).
    pub async fn run(self) {
        let Heartbeat {
            settings,
            thoth_dir,
            agent_id,
            counter,
        } = self;
        let prepared = blocking(None, move || {
            // The leader also checks this user's client configs for drift before each check-in.
            let link = Link::prepare(&settings, thoth_dir.clone()).map(|link| {
                link.map(|link| Link {
                    drift: Setup::current(&settings),
                    ..link
                })
            });
            let presence = Presence::announce(&agents::agents_dir(&thoth_dir), &agent_id);
            Some((link, presence, thoth_dir))
        })
        .await;
        let Some((link, presence, thoth_dir)) = prepared else {
            return;
        };
        let link = match link {
            Ok(Some(link)) => link,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(error = %err, "no GovAPI heartbeats: the network client cannot be built");
                let path = endpoint_state::path(&thoth_dir);
                let message = err.to_string();
                blocking((), move || record_error(&path, message)).await;
                return;
            }
        };
        let mut presence = match presence {
            Ok(presence) => presence,
            Err(err) => {
                tracing::warn!(error = %err, "no GovAPI heartbeats: cannot write ~/.thoth/state/agents");
                return;
            }
        };
        let state_dir = crate::platform::paths::state_dir(&thoth_dir);
        loop {
            let decisions = counter.snapshot();
            presence.set_drift(counter.drift());
            let dir = state_dir.clone();
            let (back, lock) = blocking((None, None), move || {
                let refreshed = presence.refresh(decisions).map(|()| presence);
                let lock = agents::try_lead(&dir).unwrap_or_else(|err| {
                    tracing::debug!(error = %err, "cannot test the heartbeat lock");
                    None
                });
                (refreshed.ok(), lock)
            })
            .await;
            let Some(back) = back else {
                tracing::warn!("no GovAPI heartbeats: the agent record cannot be refreshed");
                return;
            };
            presence = back;
            if let Some(lock) = lock {
                tracing::debug!("this process now sends the GovAPI heartbeats");
                return lead(link, presence, counter, lock).await;
            }
            let poll = Duration::from_secs(link.interval_seconds).min(MAX_FOLLOWER_POLL);
            tokio::time::sleep(govapi::jitter(poll)).await;
        }
    }
}

/// Leader: check in every interval until dropped; after a refused credential, hold the lock and stay quiet.
async fn lead(
    link: Link,
    mut presence: Presence,
    counter: Arc<DecisionCounter>,
    _lock: std::fs::File,
) {
    let path = link.state_path();
    let load_path = path.clone();
    let mut state = blocking(EndpointState::default(), move || {
        endpoint_state::load(&load_path)
            .ok()
            .flatten()
            .unwrap_or_default()
    })
    .await;
    let mut rng = fastrand::Rng::new();
    loop {
        let decisions = counter.snapshot();
        presence.set_drift(counter.drift());
        let agents_dir = link.agents_dir();
        let (back, agents) = blocking((None, Vec::new()), move || {
            if let Err(err) = presence.refresh(decisions) {
                tracing::debug!(error = %err, "cannot refresh the agent record");
            }
            (Some(presence), agents::live(&agents_dir))
        })
        .await;
        let Some(back) = back else { return };
        presence = back;
        let result = link.attempt(&mut state, &agents).await;
        let (save_path, saved) = (path.clone(), state.clone());
        blocking((), move || {
            if let Err(err) = endpoint_state::save(&save_path, &saved) {
                tracing::warn!(error = %err, "cannot save the GovAPI state");
            }
        })
        .await;
        let interval = link.interval(&state);
        let failures = state.consecutive_failures;
        let Some(delay) = govapi::next_wait(interval, result.as_ref().err(), failures, &mut rng)
        else {
            if let Err(failure) = &result {
                tracing::error!(error = %failure, "GovAPI refused the credential: heartbeats stop until thoth restarts with a valid one (THOTH_GOVAPI_BEARER_TOKEN / THOTH_GOVAPI_API_KEY); `thoth health` reports it");
            }
            return std::future::pending::<()>().await;
        };
        tokio::time::sleep(delay).await;
    }
}

/// Save `message` as the last error (when the client cannot even be built).
fn record_error(path: &std::path::Path, message: String) {
    let mut state = endpoint_state::load(path)
        .ok()
        .flatten()
        .unwrap_or_default();
    state.last_error = Some(message);
    state.last_error_at = Some(endpoint_state::now());
    if let Err(err) = endpoint_state::save(path, &state) {
        tracing::warn!(error = %err, "cannot save the GovAPI state");
    }
}
