//! The fleet checks of `thoth doctor` (DESIGN.md §5): with a GovAPI configured, is it reachable through the
//! hardened client (the TLS chain and THOTH_TLS_PINNED_CERT_SHA256 pins are checked on the way), is this
//! endpoint registered (`~/.thoth/state/endpoint.json`), and how far the local clock is from the server's
//! `Date` header. One HEAD request to the GovAPI base URL; nothing about the endpoint is sent.

use serde::Serialize;

use super::problem::Problem;
use crate::fleet::endpoint_state;
use crate::fleet::govapi::GovApi;
use crate::settings::Settings;

/// A clock further than this from GovAPI's is a problem (tokens and audit times go wrong).
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 60;

#[derive(Debug, Clone, Serialize)]
pub struct FleetRow {
    pub govapi_url: String,
    /// GovAPI answered over HTTPS (any status): DNS, TCP, TLS and pins are fine.
    pub reachable: bool,
    pub http_status: Option<u16>,
    /// Why it could not be reached.
    pub error: Option<String>,
    pub registered: bool,
    pub last_checkin_at: Option<String>,
    pub last_error: Option<String>,
    /// Local clock minus GovAPI's `Date` (positive: this machine is ahead).
    pub clock_skew_seconds: Option<i64>,
}

/// The row and its problems; None unless GovAPI is configured (a URL and a credential).
pub fn check(settings: &Settings) -> (Option<FleetRow>, Vec<Problem>) {
    let url = match &settings.govapi_url {
        Some(url) if crate::fleet::govapi::configured(settings) => url.value.clone(),
        _ => return (None, Vec::new()),
    };
    let mut problems = Vec::new();
    let mut row = FleetRow {
        govapi_url: url.clone(),
        reachable: false,
        http_status: None,
        error: None,
        registered: false,
        last_checkin_at: None,
        last_error: None,
        clock_skew_seconds: None,
    };
    match probe(settings) {
        Ok((status, skew)) => {
            row.reachable = true;
            row.http_status = Some(status);
            row.clock_skew_seconds = skew;
        }
        Err(error) => {
            let tls = error.contains("certificate");
            problems.push(Problem {
                check: if tls { "govapi_tls" } else { "govapi_reachable" },
                problem: format!("GovAPI {url} cannot be reached: {error}"),
                fix: Some(if tls {
                    "check THOTH_TLS_CA_BUNDLE and THOTH_TLS_PINNED_CERT_SHA256 against the certificate GovAPI presents".into()
                } else {
                    "check THOTH_GOVAPI_URL (or THOTH_TENANT_ID + THOTH_APEX_DOMAIN) and the network path (proxy, firewall)".into()
                }),
            });
            row.error = Some(error);
        }
    }
    if let Some(skew) = row
        .clock_skew_seconds
        .filter(|s| s.abs() > MAX_CLOCK_SKEW_SECONDS)
    {
        problems.push(Problem {
            check: "clock_skew",
            problem: format!("this machine's clock is {skew} s off GovAPI's (more than {MAX_CLOCK_SKEW_SECONDS} s)"),
            fix: Some("turn on automatic time (NTP) on this machine".into()),
        });
    }
    let state = settings
        .thoth_dir
        .as_deref()
        .and_then(|dir| {
            endpoint_state::load(&endpoint_state::path(dir))
                .ok()
                .flatten()
        })
        .unwrap_or_default();
    row.registered = state.registered_at.is_some();
    row.last_checkin_at = state.last_checkin_at;
    row.last_error = state.last_error;
    if !row.registered {
        problems.push(Problem {
            check: "govapi_registered",
            problem: match &row.last_error {
                Some(error) => {
                    format!("this endpoint is not registered with GovAPI; last error: {error}")
                }
                None => "this endpoint is not registered with GovAPI yet".into(),
            },
            fix: Some("run `thoth checkin` (it registers and says what fails)".into()),
        });
    }
    (Some(row), problems)
}

/// HEAD the GovAPI base URL: (status, clock skew from its Date header) or the error in one line.
fn probe(settings: &Settings) -> Result<(u16, Option<i64>), String> {
    let api = GovApi::from_settings(settings)
        .map_err(|e| e.to_string())?
        .ok_or("no GovAPI URL")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        // No credential on this request: it only proves the path and the certificate.
        let response = api
            .net()
            .http()
            .head(format!("{}/", api.base_url()))
            .send()
            .await
            .map_err(|e| crate::net::describe(&e))?;
        let skew = response
            .headers()
            .get("date")
            .and_then(|d| d.to_str().ok())
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .map(|server| skew_seconds(std::time::SystemTime::now(), server));
        Ok((response.status().as_u16(), skew))
    })
}

/// `local - server` in whole seconds.
fn skew_seconds(local: std::time::SystemTime, server: std::time::SystemTime) -> i64 {
    match local.duration_since(server) {
        Ok(ahead) => ahead.as_secs() as i64,
        Err(behind) => -(behind.duration().as_secs() as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn skew_is_signed() {
        let t = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(skew_seconds(t + Duration::from_secs(90), t), 90);
        assert_eq!(skew_seconds(t, t + Duration::from_secs(90)), -90);
    }
}
