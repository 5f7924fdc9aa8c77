//! Files thoth takes orders or credentials from (the policy, a managed stand-in, token and key files) must
//! not be writable by anyone but their owner (this user or root): another user who can change them could
//! widen the policy or swap a credential. `resolve` refuses them outside THOTH_ENV=dev and warns in dev; doctor
//! names them. The OS check is `platform::file_trust`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{credentials, Sourced};

/// The problem with one file, naming it and what pointed thoth at it; `None` when it is safe or missing.
pub fn check_file(path: &Path, named_by: &str) -> Option<String> {
    crate::platform::file_trust::foreign_writer(path).map(|why| {
        format!(
            "{} (named by {named_by}) can be changed by other users: {why}",
            path.display()
        )
    })
}

/// Every trusted file the resolved values point at (or the defaults under `~/.thoth` that exist).
pub fn files(
    values: &BTreeMap<&'static str, Sourced<String>>,
    thoth_dir: Option<&Path>,
) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for name in [
        "THOTH_POLICY_FILE",
        "THOTH_API_KEY_FILE",
        "THOTH_AUTH_TOKEN_FILE",
    ] {
        if let Some(v) = values.get(name) {
            files.push((PathBuf::from(&v.value), format!("{name}, {}", v.source)));
        }
    }
    if let Some(dir) = thoth_dir {
        if !values.contains_key("THOTH_POLICY_FILE") {
            files.push((
                crate::platform::paths::policy_file(dir),
                "the default policy".into(),
            ));
        }
        files.push((
            crate::platform::paths::proxy_api_key_file(dir),
            "thoth set-api-key".into(),
        ));
        files.push((
            crate::platform::paths::config_file(dir),
            "the ~/.thoth profile".into(),
        ));
    }
    let text = |name: &str| values.get(name).map(|v| v.value.as_str());
    let govapi = text("THOTH_GOVAPI_URL");
    if let Some(session) =
        credentials::admin_session_path(thoth_dir, text("THOTH_TENANT_ID"), govapi)
    {
        files.push((session, "the saved admin session".into()));
    }
    files
}

/// The problems of every file in `files`.
pub fn problems(files: &[(PathBuf, String)]) -> Vec<String> {
    files
        .iter()
        .filter_map(|(path, named_by)| check_file(path, named_by))
        .collect()
}
