//! One client message POSTed (Streamable HTTP): the 401 hook, the re-initialize when a restarted server forgot
//! the session, the `auto` fallback signal on the initialize, and the answer (202, one JSON body, or an SSE
//! stream whose every message goes to the client as it arrives), all read within `--max-line-bytes`.

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use tokio::sync::oneshot;

use super::shared::{unauthorized, Shared, SESSION_HEADER};
use super::{events, session, wire};

const POST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// How a POST ended.
pub enum Posted {
    Done,
    /// A 4xx other than 401 to the initialize: the server may speak only the legacy transport.
    Fallback(StatusCode),
}

pub async fn post_ready(
    shared: &Shared,
    line: Bytes,
    msg: &wire::Message,
    ready: oneshot::Sender<()>,
) -> Posted {
    let mut ready = Some(ready);
    post_with(shared, line, msg, false, &mut ready).await
}

pub async fn post(shared: &Shared, line: Bytes, msg: &wire::Message, init: bool) -> Posted {
    post_with(shared, line, msg, init, &mut None).await
}

async fn post_with(
    shared: &Shared,
    line: Bytes,
    msg: &wire::Message,
    init: bool,
    ready: &mut Option<oneshot::Sender<()>>,
) -> Posted {
    // A kept token refused, its refresh, then a sign-in: at most this many credentials per message.
    let mut authorizations = 0u8;
    let mut reinitialized = false;
    loop {
        let stale = shared.session_id.lock().ok().and_then(|s| s.clone());
        let sent_auth = shared.authorization.lock().ok().and_then(|a| a.clone());
        let sent = shared
            .request(reqwest::Method::POST, &shared.url, !init)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .timeout(POST_TIMEOUT)
            .body(line.clone())
            .send()
            .await;
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        let response = match sent {
            Ok(response) => response,
            Err(err) => {
                shared
                    .fail(
                        msg,
                        &format!(
                            "could not reach the remote MCP server {}: {}",
                            shared.given,
                            crate::net::describe(&err)
                        ),
                    )
                    .await;
                return Posted::Done;
            }
        };
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            match shared.reauthorize(&response, sent_auth).await {
                Ok(true) if authorizations < 3 => {
                    authorizations += 1;
                    continue;
                }
                Ok(_) => shared.fail(msg, &unauthorized(&shared.given, None)).await,
                Err(detail) => {
                    shared
                        .fail(msg, &unauthorized(&shared.given, Some(&detail)))
                        .await
                }
            }
            return Posted::Done;
        }
        if matches!(status, StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST)
            && !init
            && stale.is_some()
            && !reinitialized
        {
            // The server forgot the session (it restarted): a new one, then this message again.
            reinitialized = true;
            if session::forgot(response).await && session::reinitialize(shared, stale).await {
                continue;
            }
            shared.fail(msg, &refused(shared, status, msg)).await;
            return Posted::Done;
        }
        if init && status.is_client_error() {
            return Posted::Fallback(status);
        }
        if !status.is_success() {
            shared.fail(msg, &refused(shared, status, msg)).await;
            return Posted::Done;
        }
        if init {
            if let Some(id) = response.headers().get(SESSION_HEADER) {
                if let Ok(mut slot) = shared.session_id.lock() {
                    *slot = Some(id.clone());
                }
            }
        }
        read_answer(shared, response, msg).await;
        return Posted::Done;
    }
}

/// Forward a 2xx answer: nothing (202), one JSON body, or every message of an SSE stream as it arrives.
async fn read_answer(shared: &Shared, response: reqwest::Response, msg: &wire::Message) {
    let kind = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if response.status() == StatusCode::ACCEPTED {
        return;
    }
    if kind.starts_with("text/event-stream") {
        let mut stream = events::Stream::new(response, shared.limit);
        if let events::End::TooBig(limit) = shared.forward(&mut stream, |_| {}).await {
            shared
                .fail(
                    msg,
                    &format!(
                        "the remote MCP server {} sent an SSE event larger than {limit} bytes (--max-line-bytes); its answer was dropped",
                        shared.given
                    ),
                )
                .await;
        }
        return;
    }
    let mut response = response;
    match events::read_body(&mut response, shared.limit).await {
        Ok(body) if body.iter().all(u8::is_ascii_whitespace) => {}
        Ok(body) => match wire::to_line(&body) {
            Some(line) => {
                shared.send(line).await;
            }
            None => {
                shared
                    .fail(
                        msg,
                        &format!(
                            "the remote MCP server {} answered with a body that is not JSON",
                            shared.given
                        ),
                    )
                    .await
            }
        },
        Err(err) => {
            shared
                .fail(
                    msg,
                    &format!(
                        "reading the answer of the remote MCP server {} failed: {err}",
                        shared.given
                    ),
                )
                .await
        }
    }
}

/// The message of a POST the server answered with an error status.
fn refused(shared: &Shared, status: StatusCode, msg: &wire::Message) -> String {
    format!(
        "the remote MCP server {} answered HTTP {status} to {}",
        shared.given,
        msg.method.as_deref().unwrap_or("a message")
    )
}
