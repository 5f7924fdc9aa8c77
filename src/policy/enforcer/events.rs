//! The HTTP transport of TOOL_CALL_PRE / POST events: `POST {enforcer}/v1/events` with the enforcer's client,
//! credential and timeouts (DESIGN.md §3 Events). Batching, spooling and replay live in `audit::events`; this
//! only sends one batch and says whether a failure is worth retrying.

use std::sync::Arc;

use reqwest::header::CONTENT_TYPE;

use super::Remote;
use crate::audit::events::{EventBatch, SendError, Transport};

/// Sends event batches to the enforcer. Cheap to clone (shares the enforcer's connection pool).
#[derive(Clone)]
pub struct EventsTransport {
    remote: Arc<Remote>,
    url: String,
}

impl EventsTransport {
    pub(super) fn new(remote: Arc<Remote>) -> EventsTransport {
        let url = format!("{}/v1/events", remote.base);
        EventsTransport { remote, url }
    }
}

impl Transport for EventsTransport {
    async fn send(&self, batch: &EventBatch) -> Result<(), SendError> {
        let body = serde_json::to_vec(batch)
            .map_err(|e| SendError::Permanent(format!("cannot encode the batch: {e}")))?;
        let response = self
            .remote
            .net
            .http()
            .post(&self.url)
            .header(self.remote.auth.0.clone(), self.remote.auth.1.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::Retryable(crate::net::describe(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let reason = status.canonical_reason().unwrap_or("");
        match (
            status.as_u16(),
            crate::backoff::retry_after_in(response.headers()),
        ) {
            (429 | 503, Some(retry_after)) => Err(SendError::Throttled {
                why: format!("HTTP {}: {reason}", status.as_u16()),
                retry_after,
            }),
            _ => Err(SendError::from_status(status.as_u16(), reason)),
        }
    }
}
