//! THOTH_ALLOWED_REMOTE_HOSTS: which hosts `thoth run --url` may bridge to, decided before any request.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("--url {url:?} is not a valid http(s) URL")]
    Url { url: String },
    #[error("the remote MCP server host `{host}` is not in THOTH_ALLOWED_REMOTE_HOSTS ({allowed}); no request was sent to {url}")]
    NotAllowed {
        host: String,
        url: String,
        allowed: String,
    },
}

/// Parse `url` and check its host against `allowed` (the key's value; `None`: any host).
pub fn check(url: &str, allowed: Option<&str>) -> Result<url::Url, Error> {
    let parsed = url::Url::parse(url).map_err(|_| Error::Url { url: url.into() })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Url { url: url.into() });
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| Error::Url { url: url.into() })?
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let Some(allowed) = allowed else {
        return Ok(parsed);
    };
    // url lowercases and IDNA-folds the host; the list is folded the same way.
    let listed = allowed
        .split(',')
        .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .any(|h| {
            h == host
                || h.trim_start_matches('[').trim_end_matches(']')
                    == host.trim_start_matches('[').trim_end_matches(']')
        });
    if listed {
        Ok(parsed)
    } else {
        Err(Error::NotAllowed {
            host,
            url: url.into(),
            allowed: allowed.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_matched_whole_and_folded() {
        let ok = |u: &str, a: &str| check(u, Some(a)).is_ok();
        assert!(ok("https://MCP.example.com./mcp", "mcp.example.com"));
        assert!(ok("http://127.0.0.1:9/mcp", "a.b, 127.0.0.1"));
        assert!(!ok("https://mcp.example.com.evil.io/", "mcp.example.com"));
        assert!(!ok("https://evil.io/?mcp.example.com", "mcp.example.com"));
        assert!(!ok("https://mcp.example.com@evil.io/", "mcp.example.com"));
        assert!(check("https://any.where/", None).is_ok());
        assert!(check("file:///etc/passwd", None).is_err());
        let err = check("https://evil.io/", Some("mcp.example.com"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("evil.io") && err.contains("THOTH_ALLOWED_REMOTE_HOSTS"));
    }
}
