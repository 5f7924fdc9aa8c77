//! Every setting thoth reads, declared once: its name (the environment variable, and the same key in the
//! MDM plist, registry and managed.json), the flag that sets it, its kind, whether MDM can lock it, whether it
//! is a secret, its default and what it does. `doctor`, the upstream environment scrub and tests iterate this
//! table (STYLE.md §3, DESIGN.md §4).

/// How a value is checked (and parsed) during resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    /// A whole number of seconds (or a count).
    Seconds,
    Uid,
    /// https, or http on loopback only.
    Url,
    Email,
    /// tenant, agent, fleet, endpoint ids: letters, digits, `.`, `_`, `-`.
    Id,
    Domain,
    Environment,
    Mode,
    FailureDecision,
    /// `sha256:<hex>` or 64 hex characters, comma separated.
    Pins,
    Path,
    /// A credential: never printed, never logged.
    Secret,
}

/// One setting.
#[derive(Debug)]
pub struct KeyDef {
    /// The environment variable, and the key name in every managed format.
    pub name: &'static str,
    pub kind: Kind,
    /// The command-line flag that sets it, if any.
    pub flag: Option<&'static str>,
    /// A managed (MDM) value wins over env and flags: the user cannot override it.
    pub lockable: bool,
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

impl KeyDef {
    pub fn is_secret(&self) -> bool {
        self.kind == Kind::Secret
    }
}

const fn key(
    name: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    doc: &'static str,
) -> KeyDef {
    KeyDef {
        name,
        kind,
        flag: None,
        lockable: true,
        default,
        doc,
    }
}

const fn flag(name: &'static str, kind: Kind, flag: &'static str, doc: &'static str) -> KeyDef {
    KeyDef {
        name,
        kind,
        flag: Some(flag),
        lockable: true,
        default: None,
        doc,
    }
}

pub const KEYS: &[KeyDef] = &[
    key(
        "THOTH_ENV",
        Kind::Environment,
        Some("prod"),
        "dev | staging | prod: how strict thoth is with no policy, root, fallbacks",
    ),
    KeyDef {
        name: "THOTH_LOG",
        kind: Kind::Text,
        flag: Some("--log-level"),
        lockable: false,
        default: Some("info"),
        doc: "log level or tracing filter",
    },
    key(
        "THOTH_REQUIRE_NON_ROOT",
        Kind::Bool,
        None,
        "refuse to run as root / elevated (default: true in staging and prod, false in dev)",
    ),
    key(
        "THOTH_EXPECTED_PROXY_USER",
        Kind::Text,
        None,
        "the only user name thoth may run as",
    ),
    key(
        "THOTH_EXPECTED_PROXY_UID",
        Kind::Uid,
        None,
        "the only uid thoth may run as",
    ),
    flag(
        "THOTH_ENFORCEMENT_MODE",
        Kind::Mode,
        "--enforcement-mode",
        "observe | block | step_up | progressive (default block)",
    ),
    flag(
        "THOTH_POLICY_FILE",
        Kind::Path,
        "--policy",
        "the local policy file (default ~/.thoth/policy.json when it exists)",
    ),
    flag("THOTH_TENANT_ID", Kind::Id, "--tenant-id", "tenant id"),
    key(
        "THOTH_APEX_DOMAIN",
        Kind::Domain,
        None,
        "apex domain the tenant URLs derive from",
    ),
    key(
        "THOTH_ENFORCER_URL",
        Kind::Url,
        None,
        "enforcer base URL (default https://enforce.<tenant>.<apex>)",
    ),
    key(
        "THOTH_GOVAPI_URL",
        Kind::Url,
        None,
        "GovAPI base URL (default https://grid.<tenant>.<apex>)",
    ),
    key("THOTH_USER_ID", Kind::Email, None, "the user's email"),
    key("THOTH_FLEET_ID", Kind::Id, None, "fleet id"),
    key(
        "THOTH_ENDPOINT_ID",
        Kind::Id,
        None,
        "endpoint id (overrides managed and OS ids)",
    ),
    key(
        "THOTH_ENROLLMENT_SOURCE",
        Kind::Text,
        None,
        "how this endpoint was enrolled (jamf, intune, manual)",
    ),
    key(
        "THOTH_HEARTBEAT_INTERVAL_SECONDS",
        Kind::Seconds,
        None,
        "GovAPI heartbeat interval (default 60)",
    ),
    key(
        "THOTH_ENDPOINT_CHECKIN_INTERVAL_SEC",
        Kind::Seconds,
        None,
        "GovAPI heartbeat interval (older spelling)",
    ),
    key(
        "THOTH_TLS_VERIFY",
        Kind::Bool,
        Some("true"),
        "verify TLS certificates (false is refused in staging and prod)",
    ),
    key(
        "THOTH_TLS_CA_BUNDLE",
        Kind::Path,
        None,
        "PEM bundle of extra trusted CAs",
    ),
    key(
        "THOTH_TLS_PINNED_CERT_SHA256",
        Kind::Pins,
        None,
        "SHA-256 pins of the server leaf certificate, comma separated",
    ),
    key(
        "THOTH_TLS_PIN_CACHE_SECONDS",
        Kind::Seconds,
        Some("300"),
        "how long a verified pin is trusted",
    ),
    key(
        "THOTH_TLS_REQUIRE_AWS_BACKED_CERTS",
        Kind::Bool,
        Some("false"),
        "require AWS ACM / Private CA backed certificates",
    ),
    key(
        "THOTH_TLS_AWS_ACM_CERT_ARN",
        Kind::Text,
        None,
        "expected ACM certificate ARN",
    ),
    key(
        "THOTH_TLS_AWS_PRIVATE_CA_ARN",
        Kind::Text,
        None,
        "expected AWS Private CA ARN",
    ),
    key(
        "THOTH_ENFORCER_FAILURE_DECISION",
        Kind::FailureDecision,
        Some("block"),
        "block | step_up | allow when the enforcer is unreachable",
    ),
    key(
        "THOTH_ENFORCER_ALLOW_FALLBACK_OVERRIDE",
        Kind::Bool,
        Some("false"),
        "honour an allow fallback in staging and prod",
    ),
    key(
        "THOTH_INTUNE_DEVICE_ID",
        Kind::Text,
        None,
        "Intune device id",
    ),
    key(
        "INTUNE_DEVICE_ID",
        Kind::Text,
        None,
        "Intune device id (as Intune sets it)",
    ),
    key(
        "THOTH_JAMF_COMPUTER_ID",
        Kind::Text,
        None,
        "Jamf computer id",
    ),
    key(
        "JAMF_COMPUTER_ID",
        Kind::Text,
        None,
        "Jamf computer id (as Jamf sets it)",
    ),
    key(
        "THOTH_API_KEY",
        Kind::Secret,
        None,
        "API key for the enforcer (x-api-key); default ~/.thoth/proxy_api_key.json",
    ),
    key(
        "THOTH_API_KEY_FILE",
        Kind::Path,
        None,
        "file holding the API key (raw, or JSON with api_key)",
    ),
    key(
        "THOTH_RUNTIME_BEARER_TOKEN",
        Kind::Secret,
        None,
        "runtime bearer token for the enforcer",
    ),
    key(
        "THOTH_AUTH_TOKEN",
        Kind::Secret,
        None,
        "SSO token for the enforcer",
    ),
    key(
        "THOTH_AUTH_TOKEN_FILE",
        Kind::Path,
        None,
        "file holding the SSO token (raw JWT, or a JSON session file)",
    ),
    key(
        "THOTH_GOVAPI_BEARER_TOKEN",
        Kind::Secret,
        None,
        "bearer token for GovAPI",
    ),
    key(
        "THOTH_GOVAPI_API_KEY",
        Kind::Secret,
        None,
        "API key for GovAPI",
    ),
    key(
        "THOTH_WRAP_ON_INSTALL",
        Kind::Bool,
        Some("false"),
        "true: the macOS package's postinstall wraps the console user's Claude Desktop config (installers only)",
    ),
    key(
        "THOTH_UPDATE_DISABLED",
        Kind::Bool,
        Some("false"),
        "true: `thoth update` refuses to run (updates come through MDM only)",
    ),
    flag(
        "THOTH_UPDATE_CHANNEL",
        Kind::Text,
        "--channel",
        "release channel for `thoth update`: stable | beta (default stable)",
    ),
    key(
        "THOTH_UPDATE_PINNED_VERSION",
        Kind::Text,
        None,
        "the only version `thoth update` may install (semver)",
    ),
    key(
        "THOTH_UPDATE_URL",
        Kind::Url,
        Some("https://api.github.com"),
        "GitHub API base URL for release lookup (GitHub Enterprise: https://<host>/api/v3)",
    ),
    key(
        "THOTH_UPDATE_REPO",
        Kind::Text,
        Some("atensecurity/thoth"),
        "owner/name of the repository whose releases `thoth update` installs",
    ),
    key(
        "THOTH_UPDATE_TIMEOUT_SECONDS",
        Kind::Seconds,
        Some("300"),
        "longest `thoth update` waits for one release lookup or download",
    ),
    key(
        "THOTH_UPDATE_PUBKEY",
        Kind::Text,
        None,
        "an extra minisign public key trusted for updates (THOTH_ENV=dev only)",
    ),
    key(
        "THOTH_TRUSTED_INSTALL_PATHS",
        Kind::Text,
        None,
        "managed only: more absolute paths of thoth binaries that count as governing a Claude Desktop server \
         (separated as PATH is: `:`, `;` on Windows); the running binary always counts",
    ),
    key(
        "THOTH_UPDATE_STALL_SECONDS",
        Kind::Seconds,
        Some("30"),
        "longest `thoth update` waits for the next byte from the release server",
    ),
    key(
        "THOTH_AUDIT_MAX_FILE_BYTES",
        Kind::Seconds,
        Some("16777216"),
        "size at which the audit log goes on in a new file (bytes, default 16 MiB, at least 4096)",
    ),
    key(
        "THOTH_AUDIT_MAX_TOTAL_BYTES",
        Kind::Seconds,
        Some("268435456"),
        "the oldest audit files are pruned while all of them together are larger (bytes, default 256 MiB; 0: no limit)",
    ),
    key(
        "THOTH_AUDIT_RETENTION_DAYS",
        Kind::Seconds,
        Some("90"),
        "audit files last written longer ago are pruned (days, default 90; 0: kept until the size limit)",
    ),
    key(
        "THOTH_LOCK_DIR",
        Kind::Path,
        None,
        "where signed lockfiles are delivered (<server>.lock.json and .minisig); `thoth run` without --lock uses <DIR>/<agent id>.lock.json",
    ),
    key(
        "THOTH_LOCK_PUBLIC_KEYS",
        Kind::Text,
        None,
        "minisign public keys (`RW...` lines or .pub paths, comma separated) lockfile signatures must verify against; managed keys replace --lock-pubkey",
    ),
    key(
        "THOTH_REQUIRE_LOCK",
        Kind::Bool,
        Some("false"),
        "refuse to start a governed server without a valid signed lockfile",
    ),
    flag(
        "THOTH_AUTH_ISSUER",
        Kind::Url,
        "--issuer",
        "OAuth issuer `thoth auth login` signs in at (default the GovAPI URL)",
    ),
    key(
        "THOTH_AUTH_CLIENT_ID",
        Kind::Text,
        Some("thoth-cli"),
        "OAuth client id of thoth (a public client) at the issuer",
    ),
    key(
        "THOTH_REQUIRE_VAULTED_SECRETS",
        Kind::Bool,
        Some("false"),
        "`status`/`health` report a plain-text secret in a governed server's env as a finding (`thoth wrap-config --vault-secrets` moves it to the secret store)",
    ),
    key(
        "THOTH_ALLOWED_REMOTE_HOSTS",
        Kind::Text,
        None,
        "host names `thoth run --url` may bridge to, comma separated (unset: any host)",
    ),
    key(
        "THOTH_AUTO_WRAP",
        Kind::Bool,
        Some("false"),
        "managed only: true makes the heartbeat leader wrap again, at each heartbeat, every stdio server a user \
         added to or unwrapped in a client config, and report it in the heartbeat (`drift`); a user's own value is ignored",
    ),
];

/// The definition of a key by name.
pub fn get(name: &str) -> Option<&'static KeyDef> {
    KEYS.iter().find(|k| k.name == name)
}

/// Is this environment variable a credential that must not reach the upstream server? The declared secrets
/// and credential files, plus any THOTH_* name that looks like one (so a future secret is scrubbed before it
/// is declared).
pub fn is_secret_env(name: &str) -> bool {
    if get(name).is_some_and(KeyDef::is_secret) {
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
    fn every_key_is_declared_once_and_every_design_variable_is_declared() {
        let mut names: Vec<_> = KEYS.iter().map(|k| k.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        // DESIGN.md section 4's list.
        for name in [
            "THOTH_API_KEY",
            "THOTH_API_KEY_FILE",
            "THOTH_RUNTIME_BEARER_TOKEN",
            "THOTH_AUTH_TOKEN",
            "THOTH_AUTH_TOKEN_FILE",
            "THOTH_TENANT_ID",
            "THOTH_APEX_DOMAIN",
            "THOTH_ENFORCER_URL",
            "THOTH_GOVAPI_URL",
            "THOTH_GOVAPI_BEARER_TOKEN",
            "THOTH_GOVAPI_API_KEY",
            "THOTH_USER_ID",
            "THOTH_FLEET_ID",
            "THOTH_ENDPOINT_ID",
            "THOTH_ENROLLMENT_SOURCE",
            "THOTH_ENV",
            "THOTH_HEARTBEAT_INTERVAL_SECONDS",
            "THOTH_ENDPOINT_CHECKIN_INTERVAL_SEC",
            "THOTH_TLS_VERIFY",
            "THOTH_TLS_CA_BUNDLE",
            "THOTH_TLS_PINNED_CERT_SHA256",
            "THOTH_TLS_PIN_CACHE_SECONDS",
            "THOTH_TLS_REQUIRE_AWS_BACKED_CERTS",
            "THOTH_TLS_AWS_ACM_CERT_ARN",
            "THOTH_TLS_AWS_PRIVATE_CA_ARN",
            "THOTH_REQUIRE_NON_ROOT",
            "THOTH_EXPECTED_PROXY_USER",
            "THOTH_EXPECTED_PROXY_UID",
            "THOTH_ENFORCER_FAILURE_DECISION",
            "THOTH_ENFORCER_ALLOW_FALLBACK_OVERRIDE",
            "THOTH_INTUNE_DEVICE_ID",
            "INTUNE_DEVICE_ID",
            "THOTH_JAMF_COMPUTER_ID",
            "JAMF_COMPUTER_ID",
        ] {
            assert!(get(name).is_some(), "{name} is not declared");
        }
    }
}
