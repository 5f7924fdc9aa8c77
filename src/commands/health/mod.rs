//! `thoth health`: gather the facts (settings, `~/.thoth/state`, the Claude Desktop config, the runtime user,
//! the update state), judge them (`model`), and print one form of the report (human, JSON, Jamf EA, Intune
//! detection or remediation detection; `mdm`). Exit codes per format are in README "Exit codes".

pub mod check;
pub mod claude_config;
pub mod clients;
pub mod mdm;
pub mod model;

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::fleet::endpoint_state;
use crate::platform::users::TargetUser;
use crate::settings::Settings;
use crate::{Error, Exit};
use model::{Endpoint, Facts, HealthReport, Status};

/// How `thoth health` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HealthFormat {
    Human,
    Json,
    JamfEa,
    IntuneDetect,
    IntuneRemediationDetect,
}

/// `thoth health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Print the report as JSON (schemas/health.schema.json); the same as --format json.
    #[arg(long)]
    pub json: bool,
    /// human | json | jamf-ea (a Jamf Extension Attribute) | intune-detect (an Intune detection script) |
    /// intune-remediation-detect (an Intune remediation's detection script).
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "human")]
    pub format: HealthFormat,
    /// With --format jamf-ea: the value to print.
    #[arg(long, value_enum, value_name = "FIELD", default_value = "status")]
    pub field: mdm::JamfField,
    /// With --format intune-detect: detected only at this version or newer (semver, e.g. 1.2.0).
    #[arg(long, value_name = "VERSION")]
    pub min_version: Option<String>,
    /// Report on this user's Claude config and ~/.thoth/state (default: the console user when run as root,
    /// as a Jamf policy or EA is; else yourself).
    #[arg(long, value_name = "USER")]
    pub for_user: Option<String>,
    /// The Claude Desktop config to inspect (default: the target user's claude_desktop_config.json).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(
    args: HealthArgs,
    settings: Result<Settings, crate::settings::Error>,
) -> Result<Exit, Error> {
    let format = if args.json {
        HealthFormat::Json
    } else {
        args.format
    };
    let min_version = match &args.min_version {
        None => None,
        Some(text) => Some(semver::Version::parse(text.trim()).map_err(|e| {
            Error::Input(format!(
                "--min-version {text:?} is not a version (expected semver such as 1.2.0): {e}"
            ))
        })?),
    };
    let (user, is_current) = crate::wrap::locate::resolve_user(args.for_user.as_deref())?;
    let report = build(settings, &user, is_current, args.config.as_deref());
    Ok(match format {
        HealthFormat::Human => {
            crate::output::text(&render(&report));
            exit_for(report.status)
        }
        HealthFormat::Json => {
            crate::output::json(&report);
            exit_for(report.status)
        }
        HealthFormat::JamfEa => {
            crate::output::text(&mdm::jamf_ea(&report, args.field));
            Exit::Ok
        }
        HealthFormat::IntuneDetect => match mdm::intune_detect(&report, min_version.as_ref()) {
            Some(line) => {
                crate::output::text(&line);
                Exit::Ok
            }
            None => Exit::Failure,
        },
        HealthFormat::IntuneRemediationDetect => {
            let (line, needs_fixing) = mdm::intune_remediation(&report);
            crate::output::text(&line);
            if needs_fixing {
                Exit::Failure
            } else {
                Exit::Ok
            }
        }
    })
}

/// Human and JSON forms: 0 unless unhealthy.
fn exit_for(status: Status) -> Exit {
    if status == Status::Unhealthy {
        Exit::Failure
    } else {
        Exit::Ok
    }
}

/// Gather the facts about `user` (the user thoth runs as when `is_current`) and judge them.
fn build(
    settings: Result<Settings, crate::settings::Error>,
    user: &TargetUser,
    is_current: bool,
    config: Option<&std::path::Path>,
) -> HealthReport {
    let (settings, settings_error) = match settings {
        Ok(settings) => (Some(settings), None),
        Err(err) => (None, Some(err.to_string())),
    };
    // Another user's files are under their home; ours are where the settings put them (honouring $HOME).
    let thoth_dir = match (&settings, is_current) {
        (Some(s), true) => s.thoth_dir.clone(),
        _ => Some(crate::platform::paths::thoth_dir(&user.home)),
    };
    let config_path = config
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::wrap::locate::config_path(user, is_current));
    let trust = crate::wrap::Trust::current(settings.as_ref());
    let mut claude_config = claude_config::inspect(&config_path, &trust);
    if let Some(settings) = &settings {
        claude_config.check_locks(settings);
    }
    let state = match &thoth_dir {
        Some(dir) => endpoint_state::load(&endpoint_state::path(dir)),
        None => Ok(None),
    };
    let update = thoth_dir
        .as_ref()
        .and_then(|dir| crate::update::state::load_object(dir));
    let endpoint = match &settings {
        Some(s) => {
            let identity = crate::identity::resolve_system(&|name| {
                s.get(name).map(|v| (v.value.clone(), v.source.to_string()))
            });
            Endpoint {
                id: (!identity.id.is_empty()).then(|| identity.id.clone()),
                source: identity.source.name().to_owned(),
            }
        }
        None => Endpoint {
            id: None,
            source: "unknown".into(),
        },
    };
    // The runtime checks judge the user whose `thoth run` this is about (the console user under Jamf).
    let runtime = match &settings {
        Some(s) if is_current => crate::runtime_user::check(s),
        Some(s) => {
            crate::runtime_user::evaluate(s, Some(user.name.clone()), user.uid, user.uid == Some(0))
        }
        None => crate::runtime_user::RuntimeUser {
            user: Some(user.name.clone()),
            uid: user.uid,
            is_root: false,
            require_non_root: true,
            problems: Vec::new(),
        },
    };
    let session = settings
        .as_ref()
        .and_then(|s| crate::auth::status::of_settings(s, thoth_dir.as_deref()));
    let mut report = model::build(Facts {
        endpoint,
        tenant_id: settings
            .as_ref()
            .and_then(|s| s.tenant_id.as_ref().map(|t| t.value.clone())),
        environment: settings.as_ref().map(|s| s.environment.value.as_str()),
        enforcement_mode: settings.as_ref().map(|s| s.enforcement_mode.value.as_str()),
        govapi_url: settings
            .as_ref()
            .and_then(|s| s.govapi_url.as_ref().map(|u| u.value.clone())),
        interval_seconds: settings
            .as_ref()
            .map_or(60, |s| s.heartbeat_interval_seconds.value),
        state,
        claude_config,
        runtime,
        update,
        settings_error,
        settings_warnings: settings
            .as_ref()
            .map(|s| {
                s.managed_problems
                    .iter()
                    .chain(&s.untrusted_files)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
        now: time::OffsetDateTime::now_utc(),
    });
    let plaintext = crate::secrets::findings::required_findings(
        settings.as_ref(),
        &config_path,
        &report.claude_config.governed_servers,
    );
    if !plaintext.is_empty() {
        report.checks.push(model::Check {
            name: "vaulted_secrets",
            status: model::CheckStatus::Warn,
            detail: crate::secrets::findings::describe(&plaintext),
        });
        report.status = model::status(&report.checks);
    }
    if let Some(s) = session.as_ref().filter(|s| s.state != "missing") {
        // Only a session thoth would use can make the endpoint unhealthy.
        let in_use = settings
            .as_ref()
            .is_some_and(|s| crate::settings::credentials::session_in_use(s).is_some());
        let (status, detail) = match crate::auth::status::problem(s) {
            Some(problem) if in_use => (model::CheckStatus::Fail, problem),
            _ => (model::CheckStatus::Ok, crate::auth::status::summary(s)),
        };
        report.checks.push(model::Check {
            name: "sso_session",
            status,
            detail,
        });
        report.status = model::status(&report.checks);
    }
    report.session = session;
    add_clients(&mut report, user, is_current, settings.as_ref());
    report
}

/// Claude Desktop's extensions and managed keys, and every client's row; the endpoint is governed only
/// when every client is.
fn add_clients(
    report: &mut HealthReport,
    user: &TargetUser,
    is_current: bool,
    settings: Option<&Settings>,
) {
    let config_path = std::path::Path::new(&report.claude_config.path);
    let policy = crate::fleet::claude_desktop::policy::load(Some(&user.name));
    let desktop = clients::ClaudeDesktop {
        extensions_allowed: policy.extensions_allowed(),
        policy,
        extensions: crate::fleet::claude_desktop::extensions::scan_beside(config_path),
    };
    let mut rows = vec![clients::claude_desktop_row(&report.claude_config, &desktop)];
    let env = crate::clients::Env::current(&user.home, is_current);
    let trust = crate::wrap::Trust::current(settings);
    for client in crate::clients::Client::ALL.into_iter().skip(1) {
        let files = crate::clients::user_files(client, &env);
        rows.push(clients::client_row(client, &files, &trust));
    }
    report.checks.extend(clients::checks(&rows, &desktop));
    report.governed = clients::endpoint_governed(&rows);
    report.status = model::status(&report.checks);
    report.mcp_clients = rows;
    report.claude_desktop = Some(desktop);
}

/// The human form.
pub fn render(r: &HealthReport) -> String {
    let mut out = format!("thoth {} health: {}\n", r.version, r.status.as_str());
    out += &format!(
        "Endpoint: {} ({})\n",
        r.endpoint.id.as_deref().unwrap_or("(unknown)"),
        r.endpoint.source
    );
    let g = &r.govapi;
    if g.configured {
        out += &format!(
            "GovAPI: {} registered={} last check-in {}\n",
            g.url.as_deref().unwrap_or(""),
            g.registered,
            g.last_checkin_at.as_deref().unwrap_or("never")
        );
    }
    out += &format!("Claude config: {}\n", r.claude_config.path);
    if let Some(session) = &r.session {
        out += &crate::auth::status::summary(session);
        out += "\n";
    }
    for c in &r.checks {
        let mark = match c.status {
            model::CheckStatus::Ok => "ok  ",
            model::CheckStatus::Warn => "WARN",
            model::CheckStatus::Fail => "FAIL",
            model::CheckStatus::Skip => "skip",
        };
        out += &format!("  [{mark}] {}: {}\n", c.name, c.detail);
    }
    out
}
