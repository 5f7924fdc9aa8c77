//! Fleet presence (DESIGN.md §5): GovAPI registration and heartbeats (`govapi`, `heartbeat`, `agents`,
//! `endpoint_state`). The commands that report on it (`doctor`, `set-api-key`, `checkin`, `health`, `status`)
//! live in `commands/`.

pub mod agents;
pub mod claude_desktop;
pub mod drift;
pub mod endpoint_state;
pub mod govapi;
pub mod heartbeat;
#[cfg(test)]
mod simulation;

/// What the fleet commands can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("GovAPI is not configured (it needs a URL and a credential)")]
    NoGovApi,
    #[error("the GovAPI check-in failed: {0}")]
    Checkin(govapi::Failure),
}

impl crate::hint::Hint for Error {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NoGovApi => "set THOTH_GOVAPI_URL (or THOTH_TENANT_ID and THOTH_APEX_DOMAIN) and a credential (THOTH_GOVAPI_BEARER_TOKEN, THOTH_GOVAPI_API_KEY or `thoth set-api-key`), normally in the managed settings".into(),
            Error::Checkin(govapi::Failure::Unauthorized(_)) => "set a valid GovAPI credential: THOTH_GOVAPI_BEARER_TOKEN or THOTH_GOVAPI_API_KEY (or `thoth set-api-key`)".into(),
            Error::Checkin(_) => "check the network path to GovAPI and the TLS settings with `thoth doctor`; the error is also in ~/.thoth/state/endpoint.json".into(),
        })
    }
}
