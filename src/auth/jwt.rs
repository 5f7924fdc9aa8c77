//! The claims of a JWT access token, read without verifying it: thoth only needs who and until when, and
//! GovAPI and the enforcer verify the signature. A token that is not a JWT has no claims (an opaque token).

use base64::Engine as _;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// `exp`, seconds since the epoch.
    pub exp: Option<i64>,
    pub sub: Option<String>,
    /// `email`, else `preferred_username` / `upn` when they look like one.
    pub email: Option<String>,
    /// `tenant_id` / `tenant` / `tid`.
    pub tenant: Option<String>,
}

/// The claims of `token`, or None when it is not a JWT with a JSON object payload.
pub fn claims(token: &str) -> Option<Claims> {
    let mut parts = token.trim().split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes).ok()?;
    let text = |names: &[&str]| {
        names.iter().find_map(|n| {
            object
                .get(*n)?
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        })
    };
    let exp = object.get("exp").and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
    });
    Some(Claims {
        exp,
        sub: text(&["sub"]),
        email: text(&["email"])
            .or_else(|| text(&["preferred_username", "upn"]).filter(|s| s.contains('@'))),
        tenant: text(&["tenant_id", "tenant", "tid"]),
    })
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Has a token with these claims expired (`exp` at or before now + `margin_seconds`)? No `exp`: never.
pub fn is_expired(claims: Option<&Claims>, margin_seconds: i64) -> bool {
    claims
        .and_then(|c| c.exp)
        .is_some_and(|exp| exp <= now().saturating_add(margin_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn jwt(payload: &str) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            b64.encode(r#"{"alg":"RS256"}"#),
            b64.encode(payload)
        )
    }

    #[test]
    fn claims_are_read_from_the_payload() {
        let c = claims(&jwt(
            r#"{"sub":"u1","email":"a@b.example","exp":1700000000,"tid":"acme"}"#,
        ))
        .unwrap();
        assert_eq!(c.exp, Some(1_700_000_000));
        assert_eq!(c.sub.as_deref(), Some("u1"));
        assert_eq!(c.email.as_deref(), Some("a@b.example"));
        assert_eq!(c.tenant.as_deref(), Some("acme"));
        assert!(is_expired(Some(&c), 0));
        let later = claims(&jwt(&format!(r#"{{"exp":{}}}"#, now() + 3600))).unwrap();
        assert!(!is_expired(Some(&later), 10));
        assert!(
            !is_expired(None, 0),
            "an opaque token is never known to expire"
        );
    }

    #[test]
    fn not_jwts_have_no_claims() {
        for t in [
            "opaque",
            "a.b",
            "a.b.c.d",
            "x.!!!.y",
            &jwt("[1]"),
            &jwt("not json"),
        ] {
            assert!(claims(t).is_none(), "{t}");
        }
    }

    proptest! {
        #[test]
        fn any_text_is_read_without_a_panic(s in ".{0,200}") {
            let _ = claims(&s);
        }

        #[test]
        fn any_payload_is_read_without_a_panic(p in proptest::collection::vec(any::<u8>(), 0..200)) {
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let _ = claims(&format!("h.{}.s", b64.encode(p)));
        }
    }
}
