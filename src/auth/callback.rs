//! The loopback redirect of the authorization code flow (RFC 8252 §7.3): a one-request-at-a-time HTTP
//! server on `127.0.0.1:<ephemeral port>` that waits for `GET /callback?code=..&state=..`. A callback whose
//! `state` is not this login's is answered 400 and ignored (its code is never used): the wait goes on.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use tokio::sync::mpsc;

use super::Error;

pub const PATH: &str = "/callback";

/// What the browser brought back with the right state.
#[derive(Debug)]
pub enum Outcome {
    Code(String),
    /// The authorization server's `error` (and `error_description`).
    Refused(String),
}

/// The listening callback server.
pub struct Callback {
    listener: tokio::net::TcpListener,
    port: u16,
}

impl Callback {
    pub async fn bind() -> Result<Callback, Error> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(Error::Callback)?;
        let port = listener.local_addr().map_err(Error::Callback)?.port();
        Ok(Callback { listener, port })
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{PATH}", self.port)
    }

    /// Wait up to `timeout` for the callback carrying `state`.
    pub async fn wait(self, state: &str, timeout: Duration) -> Result<Outcome, Error> {
        let (tx, mut rx) = mpsc::channel::<Outcome>(1);
        let mut connections = tokio::task::JoinSet::new();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let outcome = loop {
            tokio::select! {
                _ = &mut deadline => break Err(Error::CallbackTimeout(timeout.as_secs())),
                Some(outcome) = rx.recv() => break Ok(outcome),
                accepted = self.listener.accept() => {
                    let Ok((tcp, _)) = accepted else { continue };
                    let (tx, state) = (tx.clone(), state.to_owned());
                    connections.spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            let reply = answer(&request, &state, &tx);
                            async move { Ok::<_, std::convert::Infallible>(reply) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .keep_alive(false)
                            .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                            .await;
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        };
        // Let the browser's page be written before the process moves on (and maybe exits).
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        outcome
    }
}

fn answer<B>(
    request: &Request<B>,
    state: &str,
    tx: &mpsc::Sender<Outcome>,
) -> Response<Full<Bytes>> {
    if request.method() != hyper::Method::GET || request.uri().path() != PATH {
        return page(404, "Not found.");
    }
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("state") != Some(state) {
        tracing::warn!("ignored a sign-in callback whose state is not this login's (a stale tab, or a forged request)");
        return page(400, "This sign-in response does not belong to the sign-in thoth is waiting for; it was ignored.");
    }
    let outcome = match (get("code"), get("error")) {
        (_, Some(error)) => {
            let description = get("error_description")
                .map(|d| format!(": {}", d.chars().take(300).collect::<String>()))
                .unwrap_or_default();
            Outcome::Refused(format!("{error}{description}"))
        }
        (Some(code), None) if !code.is_empty() => Outcome::Code(code.to_owned()),
        _ => return page(400, "The sign-in response has no code."),
    };
    let refused = matches!(outcome, Outcome::Refused(_));
    let _ = tx.try_send(outcome);
    if refused {
        page(200, "Sign-in was not completed. You can close this window.")
    } else {
        page(
            200,
            "Signed in to thoth. You can close this window and return to the terminal.",
        )
    }
}

fn page(status: u16, text: &str) -> Response<Full<Bytes>> {
    let body = format!("<!doctype html><title>thoth</title><p>{text}</p>\n");
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("connection", "close")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
