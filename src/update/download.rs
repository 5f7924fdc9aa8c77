//! Release lookup and downloads over the one hardened client (`net`: CA bundle, pins, timeouts). GitHub
//! answers asset downloads with redirects to its object store; `net` follows none, so they are followed here,
//! a few hops and https only (or loopback http, as settings allow). Bodies are capped; a body shorter than
//! the size the API recorded is reported as truncated. Trust comes from `verify`, not from the transport.
//! (Not self_update's backend: its own HTTP client cannot take the CA bundle and pins of `net`.)

use indicatif::ProgressBar;

use super::release::Release;
use super::Error;
use crate::net::NetClient;

/// The largest release asset thoth accepts.
pub const MAX_ASSET_BYTES: u64 = 256 * 1024 * 1024;
/// The largest API answer, signature or checksum list.
pub const MAX_SMALL_BYTES: u64 = 8 * 1024 * 1024;
const MAX_REDIRECTS: usize = 5;

/// `GET {api}/repos/{repo}/releases`: the releases, newest first as GitHub lists them.
pub async fn releases(client: &NetClient, api: &str, repo: &str) -> Result<Vec<Release>, Error> {
    let url = format!("{api}/repos/{repo}/releases?per_page=100");
    let lookup = |reason: String| Error::Lookup {
        url: url.clone(),
        reason,
    };
    let body = get(client, &url, MAX_SMALL_BYTES, None)
        .await
        .map_err(|failure| lookup(failure.to_string()))?;
    serde_json::from_slice(&body)
        .map_err(|e| lookup(format!("the answer is not a GitHub release list: {e}")))
}

/// Download `url` (the release file `name`, at most `limit` bytes), drawing `progress` as it comes.
pub async fn fetch(
    client: &NetClient,
    name: &str,
    url: &str,
    limit: u64,
    progress: Option<&ProgressBar>,
) -> Result<Vec<u8>, Error> {
    get(client, url, limit, progress)
        .await
        .map_err(|failure| match failure {
            Failure::Cut { got, expected } => Error::Truncated {
                asset: name.into(),
                got,
                expected,
            },
            Failure::Reason(reason) => Error::Download {
                url: url.into(),
                reason,
            },
        })
}

/// Why a GET failed.
#[derive(Debug)]
enum Failure {
    /// The connection ended before the announced Content-Length.
    Cut {
        got: u64,
        expected: u64,
    },
    Reason(String),
}

impl From<String> for Failure {
    fn from(reason: String) -> Failure {
        Failure::Reason(reason)
    }
}

impl From<&str> for Failure {
    fn from(reason: &str) -> Failure {
        Failure::Reason(reason.into())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Cut { got, expected } => {
                write!(f, "the connection ended after {got} of {expected} bytes")
            }
            Failure::Reason(reason) => f.write_str(reason),
        }
    }
}

async fn get(
    client: &NetClient,
    url: &str,
    limit: u64,
    progress: Option<&ProgressBar>,
) -> Result<Vec<u8>, Failure> {
    let mut target = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let started = std::time::Instant::now();
    let failed = |err: reqwest::Error| failure(client, started, err);
    let mut hops = 0;
    let mut response = loop {
        check_scheme(&target)?;
        let response = client
            .http()
            .get(target.clone())
            .header(
                "accept",
                "application/vnd.github+json, application/octet-stream",
            )
            .send()
            .await
            .map_err(failed)?;
        if !response.status().is_redirection() {
            break response;
        }
        hops += 1;
        if hops > MAX_REDIRECTS {
            return Err(format!("more than {MAX_REDIRECTS} redirects").into());
        }
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or("a redirect without a Location")?;
        target = target
            .join(location)
            .map_err(|e| format!("a redirect to a bad URL: {e}"))?;
    };
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()).into());
    }
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(format!("larger than the {limit}-byte limit").into());
    }
    if let (Some(bar), Some(total)) = (progress, response.content_length()) {
        bar.set_length(total);
    }
    let expected = response.content_length();
    let mut body = Vec::new();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(err) => {
                return Err(match expected {
                    // A body error before the announced length: the transfer was cut.
                    Some(expected) if !err.is_timeout() && (body.len() as u64) < expected => {
                        Failure::Cut {
                            got: body.len() as u64,
                            expected,
                        }
                    }
                    _ => failed(err),
                });
            }
        };
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(format!("larger than the {limit}-byte limit").into());
        }
        body.extend_from_slice(&chunk);
        if let Some(bar) = progress {
            bar.inc(chunk.len() as u64);
        }
    }
    Ok(body)
}

/// A request error in one line; a timeout says which bound it hit and the setting that sets it.
fn failure(client: &NetClient, started: std::time::Instant, err: reqwest::Error) -> Failure {
    let timeouts = client.timeouts();
    if !err.is_timeout() || err.is_connect() {
        return Failure::Reason(crate::net::describe(&err.without_url()));
    }
    let elapsed = started.elapsed();
    Failure::Reason(match timeouts.stall {
        // The total bound fired (give it a little slack: timers are not exact).
        _ if elapsed + std::time::Duration::from_millis(200) >= timeouts.total => format!(
            "timed out: no complete answer within {} s (THOTH_UPDATE_TIMEOUT_SECONDS)",
            timeouts.total.as_secs()
        ),
        Some(stall) => format!(
            "timed out: the server sent nothing for {} s (THOTH_UPDATE_STALL_SECONDS); it stalled",
            stall.as_secs()
        ),
        None => crate::net::describe(&err.without_url()),
    })
}

/// https anywhere; http only to loopback (tests, a local mirror), as THOTH_UPDATE_URL allows.
fn check_scheme(url: &url::Url) -> Result<(), String> {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("refusing to download from {url}: https only")),
    }
}
