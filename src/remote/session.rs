//! The session at the server: a new one when a restarted server forgot it, the GET stream for
//! server-initiated messages (resumed with `Last-Event-ID`), and the DELETE at stdin EOF.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;

use super::events;
use super::shared::{Shared, SESSION_HEADER};

const POST_TIMEOUT: Duration = Duration::from_secs(600);
const DELETE_TIMEOUT: Duration = Duration::from_millis(1500);

/// A new session for a restarted server: the client's initialize again (its answer swallowed), then
/// `notifications/initialized`. Only one task does it; the others see the new id.
pub async fn reinitialize(shared: &Shared, stale: Option<HeaderValue>) -> bool {
    let _guard = shared.reinit.lock().await;
    let current = shared.session_id.lock().ok().and_then(|s| s.clone());
    if current != stale {
        return true;
    }
    let Some(init) = shared.init_line.lock().ok().and_then(|l| l.clone()) else {
        return false;
    };
    tracing::warn!(url = %shared.given, "the remote MCP server forgot the session (404); starting a new one");
    let response = shared
        .request(reqwest::Method::POST, &shared.url, false)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .timeout(POST_TIMEOUT)
        .body(init)
        .send()
        .await;
    let Ok(response) = response else { return false };
    if !response.status().is_success() {
        return false;
    }
    let id = response.headers().get(SESSION_HEADER).cloned();
    let mut response = response;
    let _ = events::read_body(&mut response, shared.limit).await;
    if let Ok(mut slot) = shared.session_id.lock() {
        *slot = id;
    }
    let note = Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    let done = shared
        .request(reqwest::Method::POST, &shared.url, true)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .body(note)
        .send()
        .await;
    done.is_ok()
}

/// The GET stream for server-initiated messages, reopened with `Last-Event-ID` when it breaks.
pub async fn listen(shared: Arc<Shared>) {
    let mut last: Option<String> = None;
    let mut delay = Duration::from_millis(100);
    // The session `last` belongs to: a new session (the server restarted) starts its stream afresh.
    let mut last_of: Option<HeaderValue> = None;
    loop {
        let current = shared.session_id.lock().ok().and_then(|s| s.clone());
        if current != last_of {
            last = None;
            last_of = current.clone();
        }
        let mut req = shared
            .request(reqwest::Method::GET, &shared.url, true)
            .header(ACCEPT, "text/event-stream")
            .timeout(Duration::from_secs(86400));
        if let Some(id) = &last {
            req = req.header("last-event-id", id.as_str());
        }
        match req.send().await {
            Ok(response) if response.status() == StatusCode::METHOD_NOT_ALLOWED => {
                tracing::debug!("the remote server offers no GET stream");
                return;
            }
            Ok(response) if response.status().is_success() => {
                let mut stream = events::Stream::new(response, shared.limit);
                // A stream dropped for an oversized event keeps backing off; a clean end starts over.
                if shared.forward(&mut stream, |_| {}).await == events::End::Closed {
                    delay = Duration::from_millis(100);
                }
                if let Some(id) = stream.last_id() {
                    last = Some(id.to_owned());
                }
                if shared.out.is_closed() {
                    return;
                }
            }
            Ok(response)
                if current.is_some()
                    && matches!(
                        response.status(),
                        StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST
                    ) =>
            {
                // The server restarted while the client was idle: a new session, so its messages still come.
                if forgot(response).await {
                    reinitialize(&shared, current).await;
                }
            }
            Ok(response) => tracing::debug!(
                status = response.status().as_u16(),
                "the GET stream was refused"
            ),
            Err(err) => {
                tracing::debug!(error = %crate::net::describe(&err), "the GET stream failed")
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Did the server forget the session (consumes the response)? 404 is what the spec says; the TypeScript SDK's
/// example servers (server-everything among them) answer 400 "No valid session ID provided" instead, so a 400
/// whose body speaks of the session counts too (any other 400 is the message's own fault).
pub async fn forgot(mut response: reqwest::Response) -> bool {
    match response.status() {
        StatusCode::NOT_FOUND => true,
        StatusCode::BAD_REQUEST => {
            events::read_body(&mut response, 64 * 1024)
                .await
                .is_ok_and(|body| {
                    String::from_utf8_lossy(&body)
                        .to_ascii_lowercase()
                        .contains("session")
                })
        }
        _ => false,
    }
}

/// Stdin EOF: end the session at the server (DELETE with the session id), bounded.
pub async fn close(shared: &Shared, legacy: bool) {
    if legacy
        || shared
            .session_id
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .is_none()
    {
        return;
    }
    let deleted = shared
        .request(reqwest::Method::DELETE, &shared.url, true)
        .timeout(DELETE_TIMEOUT)
        .send()
        .await;
    match deleted {
        Ok(response) => tracing::debug!(
            status = response.status().as_u16(),
            "ended the remote session"
        ),
        Err(err) => {
            tracing::debug!(error = %crate::net::describe(&err), "could not end the remote session")
        }
    }
}
