//! What every request task of the bridge shares (`Shared`): the HTTP client, the static headers, the session
//! id and the Authorization it carries, the queue to the session; the 401 hook. A leaf of `remote`: `bridge`,
//! `post`, `session` and `sse` all build on it, it builds on none of them.

use std::sync::Mutex;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};

use super::auth::{Authorizer, Challenge};
use super::{events, queue, wire};

pub const SESSION_HEADER: &str = "mcp-session-id";

/// What every request task shares.
pub struct Shared {
    pub http: reqwest::Client,
    pub given: String,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub session_id: Mutex<Option<HeaderValue>>,
    pub authorization: Mutex<Option<HeaderValue>>,
    pub auth: Box<dyn Authorizer>,
    pub out: queue::Sender,
    /// The largest line, SSE event or JSON body read from the server (`--max-line-bytes`).
    pub limit: usize,
    /// The client's initialize line, replayed when a restarted server forgot the session (404).
    pub init_line: Mutex<Option<Bytes>>,
    pub reinit: tokio::sync::Mutex<()>,
}

impl Shared {
    /// The static headers, the Authorization the authorizer gave, and the session id (not on initialize).
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &url::Url,
        session: bool,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method, url.clone())
            .headers(self.headers.clone());
        if let Some(auth) = self.authorization.lock().ok().and_then(|a| a.clone()) {
            req = req.header(AUTHORIZATION, auth);
        }
        if session {
            if let Some(id) = self.session_id.lock().ok().and_then(|s| s.clone()) {
                req = req.header(SESSION_HEADER, id);
            }
        }
        req
    }

    /// Queue a line for the session (false: the session is gone).
    pub async fn send(&self, line: Vec<u8>) -> bool {
        self.out.send(line).await
    }

    /// Every `message` event of `stream` to the client as it arrives (`seen` looks at each event first);
    /// returns why the stream stopped. A line or event past the limit stops it (logged, never buffered).
    pub async fn forward(
        &self,
        stream: &mut events::Stream,
        mut seen: impl FnMut(&events::Event),
    ) -> events::End {
        loop {
            let event = match stream.next().await {
                Ok(event) => event,
                Err(end) => {
                    if let events::End::TooBig(limit) = end {
                        tracing::warn!(url = %self.given, limit, "the remote server sent an SSE line or event larger than --max-line-bytes; the stream is dropped");
                    }
                    return end;
                }
            };
            seen(&event);
            if !event.is_message() {
                continue;
            }
            match wire::to_line(&event.data) {
                Some(line) => {
                    if !self.send(line).await {
                        return events::End::Closed;
                    }
                }
                None => {
                    tracing::warn!("dropping an SSE event of the remote server that is not JSON")
                }
            }
        }
    }

    /// Answer request `msg` with the bridge's own error (nothing for a notification or a response).
    pub async fn fail(&self, msg: &wire::Message, message: &str) {
        tracing::warn!(url = %self.given, "{message}");
        if let (Some(id), true) = (&msg.id, msg.is_request()) {
            self.send(wire::error_line(
                id,
                message,
                Some(serde_json::json!({ "url": self.given })),
            ))
            .await;
        }
    }

    /// A 401: ask the authorizer for a credential; true if there is a new one to retry with.
    /// `sent`: the Authorization the refused request carried.
    pub async fn reauthorize(
        &self,
        response: &reqwest::Response,
        sent: Option<HeaderValue>,
    ) -> Result<bool, String> {
        let challenge = Challenge {
            url: self.given.clone(),
            sent: sent.and_then(|v| v.to_str().ok().map(str::to_owned)),
            www_authenticate: response
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect(),
        };
        match self.auth.on_unauthorized(&challenge).await {
            Ok(Some(value)) => {
                let mut value = HeaderValue::from_str(&value).map_err(|_| {
                    "the authorizer gave an Authorization value that is not a valid header"
                        .to_string()
                })?;
                value.set_sensitive(true);
                if let Ok(mut slot) = self.authorization.lock() {
                    *slot = Some(value);
                }
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(err) => Err(match err.hint {
                Some(hint) => format!("{} ({hint})", err.message),
                None => err.message,
            }),
        }
    }
}

/// The message of a 401 nobody could answer.
pub fn unauthorized(given: &str, detail: Option<&str>) -> String {
    let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
    format!("the remote MCP server {given} answered 401 Unauthorized{detail}; give it credentials with --header 'Authorization: Bearer <token>' (or an OAuth sign-in where the server supports it)")
}
