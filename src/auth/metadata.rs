//! Authorization server metadata: `<issuer>/.well-known/oauth-authorization-server` (RFC 8414), and when that
//! is not there, `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery). Every endpoint
//! thoth calls comes from here, and each must be https (http only on loopback), like every thoth URL.

use serde::Deserialize;

use super::Error;

/// The endpoints thoth uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: String,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// RFC 7591 dynamic client registration (remote MCP servers' authorization servers offer it).
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

/// The well-known documents tried, in order. An issuer with a path (`https://id.example/tenant1`) is tried
/// first with the well-known part inserted after the host (RFC 8414 §3.1, OpenID Connect Discovery 1.0 as
/// amended by RFC 8414 §5), then appended to the path (OpenID Connect Discovery's own form).
pub fn candidates(issuer: &str) -> Vec<String> {
    let base = issuer.trim_end_matches('/');
    let appended = [
        format!("{base}/.well-known/oauth-authorization-server"),
        format!("{base}/.well-known/openid-configuration"),
    ];
    let inserted = url::Url::parse(base).ok().and_then(|u| {
        let path = u.path().trim_end_matches('/').to_owned();
        (!path.is_empty() && u.query().is_none()).then(|| {
            let origin = u.origin().ascii_serialization();
            [
                format!("{origin}/.well-known/oauth-authorization-server{path}"),
                format!("{origin}/.well-known/openid-configuration{path}"),
            ]
        })
    });
    match inserted {
        Some([oauth, openid]) => {
            let [appended_oauth, appended_openid] = appended;
            vec![oauth, openid, appended_oauth, appended_openid]
        }
        None => appended.to_vec(),
    }
}

/// Fetch the metadata of `issuer`.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Metadata, Error> {
    let mut tried = Vec::new();
    for url in candidates(issuer) {
        match get_json::<Metadata>(http, &url).await {
            Ok(metadata) => {
                check(&metadata, &url)?;
                tracing::debug!(url, "authorization server metadata");
                return Ok(metadata);
            }
            Err(why) => tried.push(format!("{url}: {why}")),
        }
    }
    Err(Error::Discovery {
        issuer: issuer.to_owned(),
        detail: tried.join("; "),
    })
}

/// GET a small JSON document (bounded: metadata is a few kB).
pub async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    const MAX_BYTES: usize = 256 * 1024;
    let response = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| crate::net::describe(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| crate::net::describe(&e))?;
    if body.len() > MAX_BYTES {
        return Err(format!("larger than {MAX_BYTES} bytes"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("not the expected JSON: {e}"))
}

fn check(metadata: &Metadata, url: &str) -> Result<(), Error> {
    let endpoints = [
        ("token_endpoint", Some(&metadata.token_endpoint)),
        (
            "authorization_endpoint",
            metadata.authorization_endpoint.as_ref(),
        ),
        (
            "device_authorization_endpoint",
            metadata.device_authorization_endpoint.as_ref(),
        ),
        ("revocation_endpoint", metadata.revocation_endpoint.as_ref()),
        (
            "registration_endpoint",
            metadata.registration_endpoint.as_ref(),
        ),
    ];
    for (name, value) in endpoints {
        if let Some(value) = value {
            crate::settings::validate::url(value).map_err(|expected| Error::Metadata {
                url: url.to_owned(),
                reason: format!("its {name} {value:?} is not valid: expected {expected}"),
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8414_is_tried_before_openid_discovery() {
        assert_eq!(
            candidates("https://id.example/"),
            [
                "https://id.example/.well-known/oauth-authorization-server".to_owned(),
                "https://id.example/.well-known/openid-configuration".to_owned()
            ]
        );
        assert_eq!(
            candidates("https://id.example/t1/"),
            [
                "https://id.example/.well-known/oauth-authorization-server/t1",
                "https://id.example/.well-known/openid-configuration/t1",
                "https://id.example/t1/.well-known/oauth-authorization-server",
                "https://id.example/t1/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn endpoints_must_be_https_or_loopback() {
        let m = |token: &str| Metadata {
            issuer: None,
            authorization_endpoint: None,
            token_endpoint: token.to_owned(),
            device_authorization_endpoint: None,
            revocation_endpoint: None,
            registration_endpoint: None,
            code_challenge_methods_supported: None,
        };
        assert!(check(&m("https://id.example/t"), "u").is_ok());
        assert!(check(&m("http://127.0.0.1:8/t"), "u").is_ok());
        assert!(check(&m("http://id.example/t"), "u").is_err());
    }
}
