//! The legacy HTTP+SSE transport (MCP 2024-11-05): GET the URL, wait for the `endpoint` event, POST every
//! message there; every answer comes on that one stream.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use tokio::task::JoinSet;

use super::bridge::{self, Shared};
use super::wire;

/// How long the server has to name its endpoint.
const ENDPOINT_WAIT: Duration = Duration::from_secs(10);

pub struct Legacy {
    shared: Arc<Shared>,
    endpoint: url::Url,
}

impl Legacy {
    /// Open the stream, read the endpoint, and leave a task forwarding the rest of the stream.
    pub async fn connect(shared: Arc<Shared>, tasks: &mut JoinSet<()>) -> Result<Legacy, String> {
        let response = shared
            .request(reqwest::Method::GET, &shared.url, false)
            .header(ACCEPT, "text/event-stream")
            .timeout(Duration::from_secs(86400))
            .send()
            .await
            .map_err(|e| crate::net::describe(&e))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(bridge::unauthorized(&shared.given, None));
        }
        if !response.status().is_success() {
            return Err(format!(
                "GET {} answered HTTP {}",
                shared.given,
                response.status()
            ));
        }
        let mut events = response.bytes_stream().eventsource();
        let endpoint = tokio::time::timeout(ENDPOINT_WAIT, async {
            while let Some(Ok(event)) = events.next().await {
                if event.event == "endpoint" {
                    return Some(event.data);
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
        tasks.spawn(async move {
            bridge::forward_events(&forward, events).await;
            tracing::warn!(url = %forward.given, "the legacy SSE stream of the remote server ended");
        });
        tracing::info!(url = %shared.given, "bridging over the legacy HTTP+SSE transport");
        Ok(Legacy { shared, endpoint })
    }

    /// POST one message; its answer comes on the stream. A refusal is answered here.
    pub async fn post(&self, line: Bytes, msg: &wire::Message) {
        let sent = self
            .shared
            .request(reqwest::Method::POST, &self.endpoint, false)
            .header(CONTENT_TYPE, "application/json")
            .timeout(Duration::from_secs(60))
            .body(line)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {}
            Ok(response) if response.status() == StatusCode::UNAUTHORIZED => {
                self.shared
                    .fail(msg, &bridge::unauthorized(&self.shared.given, None))
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
