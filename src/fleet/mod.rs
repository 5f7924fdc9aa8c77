//! Fleet-facing commands (DESIGN.md §5): `doctor` (what is configured, from where, and what is wrong),
//! `set-api-key`, GovAPI registration and heartbeats (`govapi`, `heartbeat`, `agents`, `endpoint_state`),
//! `checkin` (one-shot) and `health` (the JSON, Jamf EA and Intune outputs).

pub mod agents;
pub mod checkin;
pub mod claude_desktop;
pub mod client_policy;
pub mod doctor;
pub mod doctor_fleet;
pub mod endpoint_state;
pub mod govapi;
pub mod health;
pub mod heartbeat;
pub mod set_api_key;
pub mod status;
pub mod status_clients;

/// What the fleet commands can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("GovAPI is not configured (it needs a URL and a credential)")]
    NoGovApi,
    #[error("the GovAPI check-in failed: {0}")]
    Checkin(govapi::Failure),
}

impl crate::error::Hint for Error {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NoGovApi => "set THOTH_GOVAPI_URL (or THOTH_TENANT_ID and THOTH_APEX_DOMAIN) and a credential (THOTH_GOVAPI_BEARER_TOKEN, THOTH_GOVAPI_API_KEY or `thoth set-api-key`), normally in the managed settings".into(),
            Error::Checkin(govapi::Failure::Unauthorized(_)) => "set a valid GovAPI credential: THOTH_GOVAPI_BEARER_TOKEN or THOTH_GOVAPI_API_KEY (or `thoth set-api-key`)".into(),
            Error::Checkin(_) => "check the network path to GovAPI and the TLS settings with `thoth doctor`; the error is also in ~/.thoth/state/endpoint.json".into(),
        })
    }
}
