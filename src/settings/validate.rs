//! Checks for setting values by kind. Each returns the normalised text or what was expected, so the caller
//! can name the variable, its value and its source in the error.

use std::net::IpAddr;

/// Letters, digits, `.`, `_`, `-`; 1 to 128 characters; no `..` (ids go into URL paths and headers).
pub fn id(v: &str) -> Result<String, &'static str> {
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !v.starts_with(['.', '-'])
        && !v.contains("..");
    ok.then(|| v.to_owned())
        .ok_or("1-128 letters, digits, '.', '_' or '-' (not starting with '.' or '-', no '..')")
}

/// A plain email address: one `@`, a non-empty local part, a dotted domain, no spaces or control characters.
pub fn email(v: &str) -> Result<String, &'static str> {
    const EXPECTED: &str = "an email address (name@example.com)";
    if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(EXPECTED);
    }
    let (local, domain) = v.split_once('@').ok_or(EXPECTED)?;
    let domain_ok = domain.contains('.')
        && !domain.contains('@')
        && domain.split('.').all(|label| !label.is_empty());
    (!local.is_empty() && domain_ok)
        .then(|| v.to_owned())
        .ok_or(EXPECTED)
}

/// A DNS domain such as `thoth.example.com` (lowercased).
pub fn domain(v: &str) -> Result<String, &'static str> {
    const EXPECTED: &str = "a domain name such as example.com";
    let lower = v.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    (lower.contains('.') && lower.split('.').all(label_ok))
        .then_some(lower)
        .ok_or(EXPECTED)
}

/// An https URL, or http on a loopback host (a local test enforcer). Returned without a trailing slash.
pub fn url(v: &str) -> Result<String, &'static str> {
    const EXPECTED: &str = "an https:// URL (http:// only for localhost / 127.0.0.1 / [::1])";
    let parsed = url::Url::parse(v).map_err(|_| EXPECTED)?;
    if !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err("a URL without credentials, query or fragment");
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err(EXPECTED),
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(EXPECTED),
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

pub fn boolean(v: &str) -> Result<bool, &'static str> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("true or false"),
    }
}

/// A positive whole number.
pub fn seconds(v: &str) -> Result<u64, &'static str> {
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or("a positive whole number")
}

pub fn uid(v: &str) -> Result<u32, &'static str> {
    v.trim().parse::<u32>().map_err(|_| "a numeric user id")
}

/// Leaf certificate pins: `sha256:<64 hex>` or 64 hex characters, comma separated; returned as lowercase hex.
pub fn pins(v: &str) -> Result<Vec<String>, &'static str> {
    const EXPECTED: &str = "sha256:<64 hex characters> or 64 hex characters, comma separated";
    v.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let hex = p
                .strip_prefix("sha256:")
                .or_else(|| p.strip_prefix("SHA256:"))
                .unwrap_or(p);
            (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| hex.to_ascii_lowercase())
                .ok_or(EXPECTED)
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|pins| {
            if pins.is_empty() {
                Err(EXPECTED)
            } else {
                Ok(pins)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_path_and_header_injection() {
        assert!(id("acme-corp.eu_1").is_ok());
        for bad in [
            "",
            "../etc",
            "a/b",
            "a b",
            "a\r\nx",
            "-x",
            ".x",
            "a..b",
            &"x".repeat(129),
        ] {
            assert!(id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails() {
        assert!(email("alice@example.com").is_ok());
        for bad in [
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "a@b@c.com",
            "a@example..com",
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_are_https_unless_loopback() {
        assert_eq!(
            url("https://enforce.acme.example.com/").unwrap(),
            "https://enforce.acme.example.com"
        );
        assert!(url("http://127.0.0.1:8443").is_ok());
        assert!(url("http://localhost:1").is_ok());
        assert!(url("http://[::1]:9").is_ok());
        for bad in [
            "http://enforce.acme.com",
            "ftp://x.com",
            "enforce.acme.com",
            "https://user:pw@x.com",
            "https://x.com/?a=1",
        ] {
            assert!(url(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pins_accept_both_spellings() {
        let hex = "AB".repeat(32);
        assert_eq!(
            pins(&format!("sha256:{hex}, {}", "cd".repeat(32))).unwrap(),
            vec!["ab".repeat(32), "cd".repeat(32)]
        );
        assert!(pins("sha256:abc").is_err());
        assert!(pins(&"g".repeat(64)).is_err());
        assert!(pins(" , ").is_err());
    }

    #[test]
    fn domains_and_numbers() {
        assert_eq!(domain("Thoth.Example.COM.").unwrap(), "thoth.example.com");
        assert!(domain("localhost").is_err());
        assert!(domain("a/b.com").is_err());
        assert_eq!(seconds("60").unwrap(), 60);
        assert!(seconds("0").is_err());
        assert!(boolean("maybe").is_err());
    }
}
