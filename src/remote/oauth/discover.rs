//! From a 401 to an authorization server (MCP authorization, 2025-06-18): the `WWW-Authenticate: Bearer`
//! parameters (`resource_metadata`, `scope`), the protected resource metadata (RFC 9728: the header's URL,
//! else `/.well-known/oauth-protected-resource` with the server's path, then at its origin), its first
//! `authorization_servers` entry, and that server's metadata (RFC 8414, else OpenID discovery, through
//! `auth::metadata`). Every URL must be https (http only on loopback); PKCE S256 must be offered.

use serde::Deserialize;

use crate::auth::metadata::Metadata;

/// The `Bearer` challenge's auth-params (RFC 6750 §3, RFC 9728 §5.1), names lower-cased.
pub fn bearer_params(headers: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for header in headers {
        let mut rest = header.trim();
        // One header may hold several challenges; only the Bearer one's parameters are read.
        while !rest.is_empty() {
            let (scheme, after) = split_token(rest);
            if scheme.is_empty() {
                break;
            }
            let bearer = scheme.eq_ignore_ascii_case("bearer");
            let (params, after) = auth_params(after);
            if bearer {
                out.extend(params);
            }
            rest = after.trim_start_matches([',', ' ', '\t']);
        }
    }
    out
}

fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s
        .find(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '"')
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// `name=value` or `name="quoted"` pairs, comma separated, until the next challenge's scheme.
fn auth_params(mut s: &str) -> (Vec<(String, String)>, &str) {
    let mut out = Vec::new();
    loop {
        let trimmed = s.trim_start_matches([',', ' ', '\t']);
        let (name, after) = split_token(trimmed);
        let after_ws = after.trim_start();
        if name.is_empty() || !after_ws.starts_with('=') {
            // Not a parameter: the start of another challenge (or the end, or token68 junk).
            return (out, trimmed);
        }
        let value_part = after_ws[1..].trim_start();
        let (value, rest) = if let Some(quoted) = value_part.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end.min(quoted.len())..])
        } else {
            let end = value_part.find(',').unwrap_or(value_part.len());
            (value_part[..end].trim().to_owned(), &value_part[end..])
        };
        out.push((name.to_ascii_lowercase(), value));
        s = rest;
    }
}

/// RFC 9728 protected resource metadata (the members thoth reads).
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceMetadata {
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

/// Where the protected resource metadata may be, in order.
pub fn resource_metadata_urls(server: &url::Url, from_header: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(url) = from_header {
        out.push(url.to_owned());
    }
    let origin = server.origin().ascii_serialization();
    let path = server.path().trim_end_matches('/');
    if !path.is_empty() {
        out.push(format!(
            "{origin}/.well-known/oauth-protected-resource{path}"
        ));
    }
    out.push(format!("{origin}/.well-known/oauth-protected-resource"));
    out
}

/// The canonical resource identifier of a server URL (RFC 8707 §2: no fragment; MCP: no trailing slash).
pub fn canonical(server: &url::Url) -> String {
    let mut u = server.clone();
    u.set_fragment(None);
    let text = u.to_string();
    if u.query().is_none() {
        text.trim_end_matches('/').to_owned()
    } else {
        text
    }
}

/// Does the metadata's `resource` cover `server` (same origin; the server's path at or under it)?
pub fn covers(resource: &str, server: &url::Url) -> bool {
    let Ok(r) = url::Url::parse(resource) else {
        return false;
    };
    let base = r.path().trim_end_matches('/');
    let path = server.path();
    r.origin() == server.origin()
        && (path.trim_end_matches('/') == base || path.starts_with(&format!("{base}/")))
}

/// What discovery found: where to sign in, and for which resource and scope.
#[derive(Debug, Clone)]
pub struct Found {
    pub issuer: String,
    pub metadata: Metadata,
    pub resource: String,
    pub scope: Option<String>,
}

/// Why discovery stopped: no OAuth offered at all (the plain 401 stands), or a broken setup.
#[derive(Debug)]
pub enum Failed {
    NotOffered(String),
    Broken(String),
}

pub async fn discover(
    http: &reqwest::Client,
    server: &url::Url,
    www_authenticate: &[String],
) -> Result<Found, Failed> {
    let params = bearer_params(www_authenticate);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let from_header = param("resource_metadata");
    let mut tried = Vec::new();
    let mut found = None;
    for url in resource_metadata_urls(server, from_header.as_deref()) {
        if let Err(expected) = crate::settings::validate::url(&url) {
            tried.push(format!("{url}: not valid ({expected})"));
            continue;
        }
        match crate::auth::metadata::get_json::<ResourceMetadata>(http, &url).await {
            Ok(m) => {
                found = Some((url, m));
                break;
            }
            Err(why) => tried.push(format!("{url}: {why}")),
        }
    }
    let Some((prm_url, prm)) = found else {
        return Err(Failed::NotOffered(format!(
            "it offers no OAuth protected resource metadata ({})",
            tried.join("; ")
        )));
    };
    let resource = match &prm.resource {
        Some(r) if covers(r, server) => r.clone(),
        Some(r) => {
            return Err(Failed::Broken(format!(
                "its protected resource metadata {prm_url} is for another resource ({r})"
            )))
        }
        None => canonical(server),
    };
    let Some(issuer) = prm.authorization_servers.first().cloned() else {
        return Err(Failed::Broken(format!(
            "its protected resource metadata {prm_url} names no authorization server"
        )));
    };
    if let Err(expected) = crate::settings::validate::url(&issuer) {
        return Err(Failed::Broken(format!(
            "its authorization server {issuer:?} is not valid: expected {expected}"
        )));
    }
    let metadata = crate::auth::metadata::discover(http, &issuer)
        .await
        .map_err(|e| Failed::Broken(e.to_string()))?;
    let s256 = metadata
        .code_challenge_methods_supported
        .as_ref()
        .is_some_and(|m| m.iter().any(|m| m == "S256"));
    if !s256 {
        return Err(Failed::Broken(format!(
            "its authorization server {issuer} does not offer PKCE S256 (code_challenge_methods_supported), which OAuth 2.1 requires"
        )));
    }
    if metadata.authorization_endpoint.is_none() {
        return Err(Failed::Broken(format!(
            "its authorization server {issuer} has no authorization_endpoint"
        )));
    }
    let scope = param("scope").or_else(|| prm.scopes_supported.map(|s| s.join(" ")));
    Ok(Found {
        issuer,
        metadata,
        resource,
        scope: scope.filter(|s| !s.trim().is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(h: &str) -> Vec<(String, String)> {
        bearer_params(&[h.to_owned()])
    }

    #[test]
    fn bearer_parameters_are_read_quoted_or_not_among_other_challenges() {
        assert_eq!(
            one(
                r#"Bearer realm="mcp", resource_metadata="https://x.example/.well-known/oauth-protected-resource", scope="a b""#
            ),
            vec![
                ("realm".into(), "mcp".into()),
                (
                    "resource_metadata".into(),
                    "https://x.example/.well-known/oauth-protected-resource".into()
                ),
                ("scope".into(), "a b".into()),
            ]
        );
        assert_eq!(
            one(r#"Basic realm="x", Bearer error=invalid_token, Resource_Metadata="u\"v""#),
            vec![
                ("error".into(), "invalid_token".into()),
                ("resource_metadata".into(), "u\"v".into()),
            ]
        );
        assert!(one("Basic realm=\"x\"").is_empty());
        assert!(one("Bearer").is_empty());
    }

    #[test]
    fn resource_metadata_is_looked_for_at_the_header_url_then_with_the_path_then_the_origin() {
        let u = url::Url::parse("https://mcp.example/v1/mcp").unwrap();
        assert_eq!(
            resource_metadata_urls(&u, Some("https://m.example/prm")),
            vec![
                "https://m.example/prm",
                "https://mcp.example/.well-known/oauth-protected-resource/v1/mcp",
                "https://mcp.example/.well-known/oauth-protected-resource",
            ]
        );
        assert_eq!(canonical(&u), "https://mcp.example/v1/mcp");
        assert!(covers("https://mcp.example/v1", &u));
        assert!(covers("https://mcp.example/v1/mcp/", &u));
        assert!(!covers("https://mcp.example/v1/m", &u));
        assert!(!covers("https://other.example/v1/mcp", &u));
    }

    proptest! {
        #[test]
        fn any_header_parses_without_panicking_and_quoted_values_come_back(
            junk in "\\PC{0,80}",
            value in "[ -~]{0,40}",
        ) {
            let _ = one(&junk);
            let _ = one(&format!("Bearer {junk}"));
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            let got = one(&format!("Bearer realm=\"r\", resource_metadata=\"{escaped}\""));
            prop_assert_eq!(&got[1], &("resource_metadata".to_owned(), value));
        }
    }
}
