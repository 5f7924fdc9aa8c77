//! Every setting thoth reads, declared once: its environment variable, whether it is a secret, and what it
//! does. `doctor`, the docs, the upstream environment scrub and tests iterate this table (STYLE.md §3).

/// One setting.
#[derive(Debug)]
pub struct KeyDef {
    /// The environment variable.
    pub env: &'static str,
    /// A credential: printed as `***`, never logged, removed from the upstream server's environment.
    pub secret: bool,
    pub doc: &'static str,
}

const fn key(env: &'static str, doc: &'static str) -> KeyDef {
    KeyDef {
        env,
        secret: false,
        doc,
    }
}

const fn secret(env: &'static str, doc: &'static str) -> KeyDef {
    KeyDef {
        env,
        secret: true,
        doc,
    }
}

pub const KEYS: &[KeyDef] = &[
    key(
        "THOTH_ENV",
        "dev | staging | prod (default prod): how strict thoth is with no policy, root, fallbacks",
    ),
    key(
        "THOTH_LOG",
        "log level or tracing filter (default info); --log-level wins",
    ),
    key(
        "THOTH_REQUIRE_NON_ROOT",
        "refuse to run as root / elevated (default true in staging and prod)",
    ),
    secret("THOTH_API_KEY", "API key for the enforcer (x-api-key)"),
    secret("THOTH_API_KEY_FILE", "file holding the API key"),
    secret(
        "THOTH_RUNTIME_BEARER_TOKEN",
        "runtime bearer token for the enforcer",
    ),
    secret("THOTH_AUTH_TOKEN", "SSO token for the enforcer"),
    secret("THOTH_AUTH_TOKEN_FILE", "file holding the SSO token"),
    key("THOTH_TENANT_ID", "tenant id"),
    key(
        "THOTH_APEX_DOMAIN",
        "apex domain the tenant URLs derive from",
    ),
    key(
        "THOTH_ENFORCER_URL",
        "enforcer base URL (overrides the derived one)",
    ),
    key(
        "THOTH_GOVAPI_URL",
        "GovAPI base URL (overrides the derived one)",
    ),
    secret("THOTH_GOVAPI_BEARER_TOKEN", "bearer token for GovAPI"),
    secret("THOTH_GOVAPI_API_KEY", "API key for GovAPI"),
    key("THOTH_USER_ID", "the user's email"),
    key("THOTH_FLEET_ID", "fleet id"),
    key(
        "THOTH_ENDPOINT_ID",
        "endpoint id (overrides managed and OS ids)",
    ),
    key(
        "THOTH_ENROLLMENT_SOURCE",
        "how this endpoint was enrolled (jamf, intune, manual)",
    ),
    key(
        "THOTH_HEARTBEAT_INTERVAL_SECONDS",
        "GovAPI heartbeat interval",
    ),
    key(
        "THOTH_ENDPOINT_CHECKIN_INTERVAL_SEC",
        "GovAPI heartbeat interval (older spelling)",
    ),
    key(
        "THOTH_TLS_VERIFY",
        "verify TLS certificates (refused false in staging and prod)",
    ),
    key("THOTH_TLS_CA_BUNDLE", "PEM bundle of extra trusted CAs"),
    key(
        "THOTH_TLS_PINNED_CERT_SHA256",
        "SHA-256 pins of the server leaf certificate",
    ),
    key(
        "THOTH_TLS_PIN_CACHE_SECONDS",
        "how long a verified pin is trusted",
    ),
    key(
        "THOTH_TLS_REQUIRE_AWS_BACKED_CERTS",
        "require AWS ACM / Private CA backed certificates",
    ),
    key("THOTH_TLS_AWS_ACM_CERT_ARN", "expected ACM certificate ARN"),
    key(
        "THOTH_TLS_AWS_PRIVATE_CA_ARN",
        "expected AWS Private CA ARN",
    ),
    key(
        "THOTH_EXPECTED_PROXY_USER",
        "the only user thoth may run as",
    ),
    key("THOTH_EXPECTED_PROXY_UID", "the only uid thoth may run as"),
    key(
        "THOTH_ENFORCER_FAILURE_DECISION",
        "block | step_up | allow when the enforcer is unreachable",
    ),
    key(
        "THOTH_ENFORCER_ALLOW_FALLBACK_OVERRIDE",
        "honour an allow fallback in staging and prod",
    ),
    key("THOTH_INTUNE_DEVICE_ID", "Intune device id"),
    key("INTUNE_DEVICE_ID", "Intune device id (as Intune sets it)"),
    key("THOTH_JAMF_COMPUTER_ID", "Jamf computer id"),
    key("JAMF_COMPUTER_ID", "Jamf computer id (as Jamf sets it)"),
];

/// Is this environment variable a credential that must not reach the upstream server? The declared secrets,
/// plus any THOTH_* name that looks like one (so a future secret is scrubbed before it is declared).
pub fn is_secret_env(name: &str) -> bool {
    if KEYS.iter().any(|k| k.secret && k.env == name) {
        return true;
    }
    name.starts_with("THOTH_")
        && [
            "_KEY",
            "_TOKEN",
            "_SECRET",
            "_PASSWORD",
            "_KEY_FILE",
            "_TOKEN_FILE",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_and_lookalike_secrets_are_secret() {
        assert!(is_secret_env("THOTH_API_KEY"));
        assert!(is_secret_env("THOTH_AUTH_TOKEN_FILE"));
        assert!(is_secret_env("THOTH_SOMETHING_NEW_SECRET"));
        assert!(!is_secret_env("THOTH_TENANT_ID"));
        assert!(!is_secret_env("THOTH_ENV"));
        assert!(!is_secret_env("OTHER_API_KEY"));
    }

    #[test]
    fn every_key_is_declared_once() {
        let mut names: Vec<_> = KEYS.iter().map(|k| k.env).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }
}
