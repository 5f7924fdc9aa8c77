//! The legacy HTTP+SSE transport (MCP 2024-11-05): GET the URL, wait for the `endpoint` event, POST every
//! message there; every answer comes on that one stream. The stream never ends by itself, so at stdin EOF
//! the bridge waits only for the answers still owed (the ids it posted and has not seen come back).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::shared::{self, Shared};
use super::{events, wire};

/// How long the server has to name its endpoint.
const ENDPOINT_WAIT: Duration = Duration::from_secs(10);

pub struct Legacy {
    shared: Arc<Shared>,
    endpoint: url::Url,
    /// Ids (canonical JSON) of requests posted whose answer has not come on the stream yet.
    owed: Arc<watch::Sender<HashSet<String>>>,
    stream: AbortHandle,
}

/// A JSON-RPC id as one canonical string, so the client's `1` and the server's `1` meet.
fn id_key(id: &serde_json::Value) -> String {
    id.to_string()
}

impl Legacy {
    /// Open the stream, read the endpoint, and leave a task forwarding the rest of the stream.
    pub async fn connect(shared: Arc<Shared>) -> Result<Legacy, String> {
        let response = shared
            .request(reqwest::Method::GET, &shared.url, false)
            .header(ACCEPT, "text/event-stream")
            .timeout(Duration::from_secs(86400))
            .send()
            .await
            .map_err(|e| crate::net::describe(&e))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(shared::unauthorized(&shared.given, None));
        }
        if !response.status().is_success() {
            return Err(format!(
                "GET {} answered HTTP {}",
                shared.given,
                response.status()
            ));
        }
        let mut events = events::Stream::new(response, shared.limit);
        let endpoint = tokio::time::timeout(ENDPOINT_WAIT, async {
            while let Ok(event) = events.next().await {
                if event.event == "endpoint" {
                    return Some(String::from_utf8_lossy(&event.data).into_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| format!("{} sent no `endpoint` event", shared.given))?;
        let endpoint = shared
            .url
            .join(endpoint.trim())
            .map_err(|_| format!("{} named an endpoint that is not a URL", shared.given))?;
        // The allow-list checked the URL's origin: the endpoint may not send messages anywhere else.
        if endpoint.origin() != shared.url.origin() {
            return Err(format!(
                "{} named an endpoint on another origin ({}); refused",
                shared.given,
                endpoint.origin().ascii_serialization()
            ));
        }
        let forward = shared.clone();
        let owed = Arc::new(watch::channel(HashSet::new()).0);
        let paid = owed.clone();
        // Each answer passing to the client settles its id.
        let settle = move |event: &events::Event| {
            if let Ok(msg) = serde_json::from_slice::<serde_json::Value>(&event.data) {
                if msg.get("method").is_none() {
                    if let Some(id) = msg.get("id") {
                        paid.send_if_modified(|owed| owed.remove(&id_key(id)));
                    }
                }
            }
        };
        let stream = tokio::spawn(async move {
            forward.forward(&mut events, settle).await;
            tracing::warn!(url = %forward.given, "the legacy SSE stream of the remote server ended");
        })
        .abort_handle();
        tracing::info!(url = %shared.given, "bridging over the legacy HTTP+SSE transport");
        Ok(Legacy {
            shared,
            endpoint,
            owed,
            stream,
        })
    }

    /// Stdin EOF: wait (at most `bound`) for the answers still owed, then stop reading the stream.
    pub async fn finish(&self, bound: Duration) {
        let mut owed = self.owed.subscribe();
        let _ = tokio::time::timeout(bound, owed.wait_for(HashSet::is_empty)).await;
        self.stream.abort();
    }

    /// POST one message; its answer comes on the stream. A refusal is answered here.
    pub async fn post(&self, line: Bytes, msg: &wire::Message) {
        let key = msg
            .id
            .as_ref()
            .filter(|_| msg.is_request())
            .and_then(|id| serde_json::from_str::<serde_json::Value>(id.get()).ok())
            .map(|id| id_key(&id));
        if let Some(key) = &key {
            self.owed.send_modify(|owed| {
                owed.insert(key.clone());
            });
        }
        let sent = self
            .shared
            .request(reqwest::Method::POST, &self.endpoint, false)
            .header(CONTENT_TYPE, "application/json")
            .timeout(Duration::from_secs(60))
            .body(line)
            .send()
            .await;
        let accepted = matches!(&sent, Ok(response) if response.status().is_success());
        if let (false, Some(key)) = (accepted, &key) {
            // Refused: answered here, nothing will come on the stream.
            self.owed.send_if_modified(|owed| owed.remove(key));
        }
        match sent {
            Ok(response) if response.status().is_success() => {}
            Ok(response) if response.status() == StatusCode::UNAUTHORIZED => {
                self.shared
                    .fail(msg, &shared::unauthorized(&self.shared.given, None))
                    .await
            }
            Ok(response) => {
                self.shared
                    .fail(
                        msg,
                        &format!(
                            "the remote MCP server {} answered HTTP {}",
                            self.shared.given,
                            response.status()
                        ),
                    )
                    .await
            }
            Err(err) => {
                self.shared
                    .fail(
                        msg,
                        &format!(
                            "could not reach the remote MCP server {}: {}",
                            self.shared.given,
                            crate::net::describe(&err)
                        ),
                    )
                    .await
            }
        }
    }
}

impl Drop for Legacy {
    fn drop(&mut self) {
        self.stream.abort();
    }
}
