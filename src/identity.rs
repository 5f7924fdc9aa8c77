//! Endpoint identity (DESIGN.md §5): the id this machine reports to GovAPI and the enforcer, and where it came
//! from. In order: `THOTH_ENDPOINT_ID`; an MDM device id (Intune, then Jamf); the OS machine id; the hostname.
//! `resolve` is pure over injected lookups: it reads no environment, file or registry itself (the caller's
//! `lookup` decides between env and managed settings), and it never fails: nothing usable is `Unknown`.

use std::fmt;

/// Find a settings key: its value and a description of where it was set (`env THOTH_ENDPOINT_ID`,
/// `managed /Library/Managed Preferences/...`).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<(String, String)>;

/// The longest id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// This endpoint's id and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Empty when the source is `Unknown`.
    pub id: String,
    pub source: IdentitySource,
}

/// Where an endpoint id came from. The strings say where the key was set, as the lookup described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// `THOTH_ENDPOINT_ID`, set by the admin. Named `endpoint_id`.
    Explicit(String),
    /// An Intune device id (`THOTH_INTUNE_DEVICE_ID`, `INTUNE_DEVICE_ID`). Named `intune`.
    Intune(String),
    /// A Jamf computer id (`THOTH_JAMF_COMPUTER_ID`, `JAMF_COMPUTER_ID`; Jamf fills `$JSSID`). Named `jamf`.
    Jamf(String),
    /// The OS machine id: `/etc/machine-id`, the macOS hardware UUID, the Windows MachineGuid. Named
    /// `machine_id`.
    MachineId,
    /// The hostname, lower-cased. Named `hostname`.
    Hostname,
    /// Nothing usable was found. Named `unknown`.
    Unknown,
}

impl IdentitySource {
    /// The source's name in `health --json` (`endpoint.source`) and GovAPI's `identity_source`:
    /// `endpoint_id`, `intune`, `jamf`, `machine_id`, `hostname` or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            IdentitySource::Explicit(_) => "endpoint_id",
            IdentitySource::Intune(_) => "intune",
            IdentitySource::Jamf(_) => "jamf",
            IdentitySource::MachineId => "machine_id",
            IdentitySource::Hostname => "hostname",
            IdentitySource::Unknown => "unknown",
        }
    }

    /// Where the key was set, for the sources that come from a key.
    pub fn detail(&self) -> Option<&str> {
        match self {
            IdentitySource::Explicit(from)
            | IdentitySource::Intune(from)
            | IdentitySource::Jamf(from) => Some(from),
            IdentitySource::MachineId | IdentitySource::Hostname | IdentitySource::Unknown => None,
        }
    }
}

impl fmt::Display for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail() {
            Some(from) => write!(f, "{} ({from})", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

/// The kind of id a settings key holds, made from where the key was set.
type SourceFrom = fn(String) -> IdentitySource;

/// The settings keys that name the endpoint, in priority order, and the source each one means.
const ID_KEYS: &[(&str, SourceFrom)] = &[
    ("THOTH_ENDPOINT_ID", IdentitySource::Explicit),
    ("THOTH_INTUNE_DEVICE_ID", IdentitySource::Intune),
    ("INTUNE_DEVICE_ID", IdentitySource::Intune),
    ("THOTH_JAMF_COMPUTER_ID", IdentitySource::Jamf),
    ("JAMF_COMPUTER_ID", IdentitySource::Jamf),
];

/// What systemd writes to /etc/machine-id before the first boot has finished.
const UNINITIALIZED_MACHINE_ID: &str = "uninitialized";

/// The first usable id: the keys of `ID_KEYS` through `lookup`, then `machine_id()`, then `hostname()`.
/// Values are trimmed; empty ones, unexpanded MDM variables (`$JSSID`, `{{deviceid}}`) and ids that are not
/// safe in a URL path are skipped (with a warning for the last two). A hostname is lower-cased.
pub fn resolve(
    lookup: Lookup<'_>,
    machine_id: &dyn Fn() -> Option<String>,
    hostname: &dyn Fn() -> Option<String>,
) -> Identity {
    from_keys(lookup)
        .or_else(|| from_machine_id(machine_id()))
        .or_else(|| from_hostname(hostname()))
        .unwrap_or(Identity {
            id: String::new(),
            source: IdentitySource::Unknown,
        })
}

/// `resolve` with this machine's id (machine-uid) and hostname. Blocks on a file read or system call: call
/// from `spawn_blocking` in async code.
pub fn resolve_system(lookup: Lookup<'_>) -> Identity {
    resolve(lookup, &os_machine_id, &sysinfo::System::host_name)
}

fn os_machine_id() -> Option<String> {
    match machine_uid::get() {
        Ok(id) => Some(id),
        Err(error) => {
            tracing::debug!(%error, "no OS machine id");
            None
        }
    }
}

fn from_keys(lookup: Lookup<'_>) -> Option<Identity> {
    ID_KEYS.iter().find_map(|&(key, source)| {
        let (value, from) = lookup(key)?;
        let id = usable_id(&value, &|| format!("{key} ({from})"))?;
        Some(Identity {
            id,
            source: source(from),
        })
    })
}

fn from_machine_id(machine_id: Option<String>) -> Option<Identity> {
    let id = usable_id(&machine_id?, &|| "the OS machine id".to_owned())?;
    (id != UNINITIALIZED_MACHINE_ID).then_some(Identity {
        id,
        source: IdentitySource::MachineId,
    })
}

fn from_hostname(hostname: Option<String>) -> Option<Identity> {
    let id = usable_id(&hostname?, &|| "the hostname".to_owned())?;
    Some(Identity {
        id: id.to_lowercase(),
        source: IdentitySource::Hostname,
    })
}

/// `value` trimmed, if it can identify an endpoint. `what` names it for the warning.
fn usable_id(value: &str, what: &dyn Fn() -> String) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if is_unexpanded_mdm_variable(value) {
        tracing::warn!(
            "{} is `{value}`, an MDM variable the MDM did not fill in; ignoring it",
            what()
        );
        return None;
    }
    if !is_safe_id(value) {
        tracing::warn!(
            "{} is not a usable endpoint id (letters, digits, `-._~:`, at most {MAX_ID_BYTES} bytes); ignoring it",
            what()
        );
        return None;
    }
    Some(value.to_owned())
}

/// Jamf's `$JSSID`-style payload variables and Intune's `{{deviceid}}`-style tokens, left as written.
fn is_unexpanded_mdm_variable(value: &str) -> bool {
    let jamf = value.strip_prefix('$').is_some_and(|name| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    });
    let intune = value.starts_with("{{") && value.ends_with("}}");
    jamf || intune
}

/// An id that goes into a URL path (`/v1/endpoints/{endpoint_id}/checkin`) unescaped without changing it:
/// URL-unreserved characters and `:`, not only dots (`..` would climb the path).
fn is_safe_id(value: &str) -> bool {
    value.len() <= MAX_ID_BYTES
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ':'))
        && !value.chars().all(|c| c == '.')
}

#[cfg(test)]
mod tests;
