//! `thoth doctor [--json]`: every setting with its value (secrets masked) and source, the endpoint identity
//! and its source, the runtime user checks, the policy in force, and each problem with how to fix it.
//! Exits 0 when nothing is wrong, 1 otherwise. Schema: `schemas/doctor.schema.json`.

use serde::Serialize;

pub use problem::Problem;

use crate::cli::DoctorArgs;
use crate::hint::Hint;
use crate::policy::select::PolicySource;
use crate::runtime_user::RuntimeUser;
use crate::settings::{keys, Settings};
use crate::{Error, Exit};

pub mod fleet;
mod problem;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct DoctorReport {
    pub schema_version: u32,
    pub version: &'static str,
    /// `ok` or `problems`.
    pub status: &'static str,
    pub environment: Option<&'static str>,
    pub thoth_dir: Option<String>,
    pub settings: Vec<SettingRow>,
    pub unknown_managed_keys: Vec<String>,
    pub identity: Option<IdentityRow>,
    pub runtime: Option<RuntimeUser>,
    pub policy: Option<PolicyRow>,
    pub credentials: CredentialRow,
    /// Self-update policy and the last attempt (null when settings could not be resolved).
    pub update: Option<crate::update::status::UpdateStatus>,
    /// GovAPI reachability, registration and clock skew (null without a GovAPI).
    pub fleet: Option<fleet::FleetRow>,
    /// The saved SSO session of the tenant (`thoth auth login`), without its token; null when none is named.
    pub session: Option<crate::auth::status::SessionStatus>,
    /// Claude Desktop's own managed keys (extensions, local MCP), as `health --json` `claude_desktop.policy`.
    pub claude_desktop_policy: crate::fleet::claude_desktop::policy::DesktopPolicy,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Serialize)]
pub struct SettingRow {
    pub name: &'static str,
    /// The value (`***` for secrets), or null when unset.
    pub value: Option<String>,
    /// default | derived | profile | env | flag | managed, or null when unset.
    pub source: Option<&'static str>,
    /// Where exactly: the variable, flag, file or registry value.
    pub origin: Option<String>,
    pub secret: bool,
    /// An MDM value here cannot be overridden by the user.
    pub lockable: bool,
}

#[derive(Debug, Serialize)]
pub struct IdentityRow {
    pub endpoint_id: String,
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct PolicyRow {
    /// file | flags | none
    pub kind: &'static str,
    pub path: Option<String>,
    pub named_by: Option<String>,
    pub mode: &'static str,
    pub mode_source: String,
    /// What a tools/call gets when no policy exists (dev: allowed; staging/prod: refused).
    pub without_policy: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct CredentialRow {
    /// bearer | api_key | null
    pub enforcer: Option<&'static str>,
    pub enforcer_source: Option<String>,
    pub govapi: Option<&'static str>,
    pub govapi_source: Option<String>,
}

pub fn run(
    args: DoctorArgs,
    settings: Result<Settings, crate::settings::Error>,
) -> Result<Exit, Error> {
    let report = match settings {
        Ok(settings) => build(&settings),
        Err(err) => unresolved(&err),
    };
    if args.json {
        crate::output::json(&report);
    } else {
        crate::output::text(&render(&report));
    }
    Ok(if report.problems.is_empty() {
        Exit::Ok
    } else {
        Exit::Failure
    })
}

/// The report for resolved settings.
pub fn build(settings: &Settings) -> DoctorReport {
    let mut problems = Vec::new();
    let rows = keys::KEYS
        .iter()
        .map(|k| {
            let v = settings.get(k.name);
            SettingRow {
                name: k.name,
                value: settings.display(k.name),
                source: v.map(|v| v.source.kind()),
                origin: v.map(|v| v.source.to_string()),
                secret: k.is_secret(),
                lockable: k.lockable,
            }
        })
        .collect();
    for key in &settings.unknown_managed_keys {
        problems.push(Problem {
            check: "managed_settings",
            problem: format!("managed settings name `{key}`, which thoth does not know (ignored)"),
            fix: Some("ask your administrator to fix the key name (thoth doctor --json lists the valid names)".into()),
        });
    }
    for problem in &settings.managed_problems {
        problems.push(Problem {
            check: "managed_settings",
            problem: problem.clone(),
            fix: Some(
                "ask your administrator to fix this managed value; until then it fails closed"
                    .into(),
            ),
        });
    }
    for problem in &settings.untrusted_files {
        problems.push(Problem {
            check: "file_permissions",
            problem: problem.clone(),
            fix: Some("chmod go-w the file (and its folder) and own it yourself; outside THOTH_ENV=dev thoth refuses it".into()),
        });
    }
    let runtime = crate::runtime_user::check(settings);
    for problem in &runtime.problems {
        problems.push(Problem {
            check: "runtime_user",
            problem: problem.clone(),
            fix: crate::proxy::Error::RuntimeUser(vec![]).hint(),
        });
    }
    let identity = crate::identity::resolve_system(&|name| {
        settings
            .get(name)
            .map(|v| (v.value.clone(), v.source.to_string()))
    });
    let policy = match crate::policy::select::select(settings, "doctor", None, &[]) {
        Ok(selected) => Some(policy_row(&selected)),
        Err(err) => {
            problems.push(Problem {
                check: "policy",
                problem: err.to_string(),
                fix: err.hint(),
            });
            None
        }
    };
    if let Some(PolicyRow {
        kind: "none",
        without_policy: Some("refused"),
        ..
    }) = &policy
    {
        problems.push(Problem {
            check: "policy",
            problem: format!("no policy is configured and THOTH_ENV is {}: every tools/call will be refused", settings.environment.value.as_str()),
            fix: Some("configure an enforcer (THOTH_TENANT_ID and a credential), a policy file (--policy or ~/.thoth/policy.json), or --approved-scope".into()),
        });
    }
    if let Some((problem, fix)) = crate::update::status::problem(settings) {
        problems.push(Problem {
            check: "update",
            problem,
            fix,
        });
    }
    let (fleet, fleet_problems) = fleet::check(settings);
    problems.extend(fleet_problems);
    let session = crate::auth::status::of_settings(settings, settings.thoth_dir.as_deref());
    // Only a session thoth would use is a problem (a higher-priority credential makes it moot).
    if let Some(problem) = session
        .as_ref()
        .filter(|_| crate::settings::credentials::session_in_use(settings).is_some())
        .and_then(crate::auth::status::problem)
    {
        problems.push(Problem {
            check: "session",
            problem,
            fix: Some("sign in again: `thoth auth login`".into()),
        });
    }
    let credentials = CredentialRow {
        enforcer: settings
            .enforcer_credential
            .as_ref()
            .map(|c| c.value.kind()),
        enforcer_source: settings
            .enforcer_credential
            .as_ref()
            .map(|c| c.source.to_string()),
        govapi: settings.govapi_credential.as_ref().map(|c| c.value.kind()),
        govapi_source: settings
            .govapi_credential
            .as_ref()
            .map(|c| c.source.to_string()),
    };
    DoctorReport {
        schema_version: SCHEMA_VERSION,
        version: env!("CARGO_PKG_VERSION"),
        status: if problems.is_empty() {
            "ok"
        } else {
            "problems"
        },
        environment: Some(settings.environment.value.as_str()),
        thoth_dir: settings.thoth_dir.as_ref().map(|d| d.display().to_string()),
        settings: rows,
        unknown_managed_keys: settings.unknown_managed_keys.clone(),
        identity: Some(IdentityRow {
            endpoint_id: identity.id,
            source: identity.source.name().to_owned(),
        }),
        runtime: Some(runtime),
        policy,
        credentials,
        update: Some(crate::update::status::status(settings)),
        fleet,
        session,
        claude_desktop_policy: claude_desktop_policy(),
        problems,
    }
}

fn policy_row(selected: &crate::policy::select::Selected) -> PolicyRow {
    let (kind, path, named_by, without_policy) = match &selected.source {
        PolicySource::File { path, named_by } => (
            "file",
            Some(path.display().to_string()),
            Some(named_by.to_string()),
            None,
        ),
        PolicySource::Flags => ("flags", None, None, None),
        PolicySource::Unconfigured(env) => (
            "none",
            None,
            None,
            Some(if *env == crate::settings::Environment::Dev {
                "allowed"
            } else {
                "refused"
            }),
        ),
    };
    PolicyRow {
        kind,
        path,
        named_by,
        mode: selected.mode.value.as_str(),
        mode_source: selected.mode.source.to_string(),
        without_policy,
    }
}

/// Settings could not be resolved: the report is that one problem.
fn unresolved(err: &crate::settings::Error) -> DoctorReport {
    DoctorReport {
        schema_version: SCHEMA_VERSION,
        version: env!("CARGO_PKG_VERSION"),
        status: "problems",
        environment: None,
        thoth_dir: None,
        settings: Vec::new(),
        unknown_managed_keys: Vec::new(),
        identity: None,
        runtime: None,
        policy: None,
        credentials: CredentialRow {
            enforcer: None,
            enforcer_source: None,
            govapi: None,
            govapi_source: None,
        },
        update: None,
        fleet: None,
        session: None,
        claude_desktop_policy: claude_desktop_policy(),
        problems: vec![Problem {
            check: "settings",
            problem: err.to_string(),
            fix: err.hint(),
        }],
    }
}

/// The human form.
pub fn render(r: &DoctorReport) -> String {
    let mut out = format!(
        "thoth {} doctor\n\nSettings (unset ones omitted):\n",
        r.version
    );
    let width = r
        .settings
        .iter()
        .filter(|s| s.value.is_some())
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    for s in r.settings.iter().filter(|s| s.value.is_some()) {
        out += &format!(
            "  {:width$}  {}  ({})\n",
            s.name,
            s.value.as_deref().unwrap_or(""),
            s.origin.as_deref().unwrap_or("")
        );
    }
    if let Some(id) = &r.identity {
        out += &format!(
            "\nEndpoint identity: {} (from {})\n",
            id.endpoint_id, id.source
        );
    }
    if let Some(rt) = &r.runtime {
        let who = rt.user.as_deref().unwrap_or("(unknown)");
        let uid = rt.uid.map_or(String::new(), |u| format!(", uid {u}"));
        out += &format!(
            "Runtime user: {who}{uid}{}\n",
            if rt.is_root { " (root/elevated)" } else { "" }
        );
    }
    if let Some(p) = &r.policy {
        let what = match (p.kind, &p.path, p.without_policy) {
            ("file", Some(path), _) => format!(
                "policy file {path} ({})",
                p.named_by.as_deref().unwrap_or("")
            ),
            ("flags", _, _) => "--approved-scope flags only".into(),
            (_, _, Some(outcome)) => format!("none (every tools/call {outcome})"),
            _ => "none".into(),
        };
        out += &format!("Policy: {what}; mode {} ({})\n", p.mode, p.mode_source);
    }
    let cred = |kind: Option<&str>, source: &Option<String>| {
        kind.map_or("none".into(), |k| {
            format!("{k} ({})", source.as_deref().unwrap_or(""))
        })
    };
    out += &format!(
        "Credentials: enforcer {}, GovAPI {}\n",
        cred(r.credentials.enforcer, &r.credentials.enforcer_source),
        cred(r.credentials.govapi, &r.credentials.govapi_source)
    );
    if let Some(update) = &r.update {
        out += &crate::update::status::render(update);
    }
    if let Some(f) = &r.fleet {
        let reach = match (&f.error, f.http_status) {
            (Some(error), _) => format!("unreachable ({error})"),
            (None, status) => format!("reachable (HTTP {})", status.unwrap_or(0)),
        };
        let skew = f
            .clock_skew_seconds
            .map_or(String::new(), |s| format!(", clock skew {s} s"));
        out += &format!(
            "GovAPI: {} {reach}{skew}; registered: {}\n",
            f.govapi_url,
            if f.registered { "yes" } else { "no" }
        );
    }
    if let Some(session) = &r.session {
        out += &crate::auth::status::summary(session);
        out += "\n";
    }
    let desktop = &r.claude_desktop_policy;
    out += &format!(
        "\nClaude Desktop managed keys ({}):\n",
        desktop
            .source
            .as_deref()
            .unwrap_or("none deployed; defaults apply")
    );
    for (key, value) in &desktop.keys {
        let shown = value.map_or("unset".to_owned(), |v| v.to_string());
        out += &format!("  {key:37}  {shown}\n");
    }
    for problem in &desktop.problems {
        out += &format!("  problem: {problem}\n");
    }
    if r.problems.is_empty() {
        out += "\nNo problems found.\n";
    } else {
        out += &format!("\n{} problem(s):\n", r.problems.len());
        for p in &r.problems {
            out += &format!("  - [{}] {}\n", p.check, p.problem);
            if let Some(fix) = &p.fix {
                out += &format!("    fix: {fix}\n");
            }
        }
    }
    out
}

/// Claude Desktop's managed keys for the user doctor runs as.
fn claude_desktop_policy() -> crate::fleet::claude_desktop::policy::DesktopPolicy {
    crate::fleet::claude_desktop::policy::load(crate::platform::user_name().as_deref())
}
