//! `thoth wrap-config`: find the config, read it, apply the plan, and save it (or show the diff). Every
//! refusal leaves the file untouched; a second run with the same flags writes nothing.

pub mod cli_args;
pub mod vault;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::clients::private;

use crate::clients::{self, Client};
use crate::platform::users::TargetUser;
use crate::settings::{Credential, Environment, Settings};
use crate::wrap::document::Document;
use crate::wrap::edit::{Plan, ServerResult, WrapPlan};
use crate::wrap::save::{self, SaveOptions};
use crate::wrap::{inspect, locate, lock, managed, record, secrets, Error};
use crate::Exit;
use cli_args::WrapConfigArgs;

/// What `wrap-config` did (schemas/wrap-report.schema.json).
#[derive(Debug, Serialize)]
pub struct WrapReport {
    pub schema_version: u32,
    pub config: PathBuf,
    pub output: PathBuf,
    pub action: &'static str,
    pub dry_run: bool,
    pub created: bool,
    pub changed: bool,
    pub backup: Option<PathBuf>,
    pub servers: Vec<ServerResult>,
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// `--vault-secrets`: the env keys moved (or, in a dry run, that would move) to the secret store.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vaulted: Vec<vault::VaultedKey>,
}

pub fn run(args: WrapConfigArgs, settings: &Settings) -> Result<Exit, crate::Error> {
    if args.unwrap && args.embed_api_key {
        return Err(Error::Usage("--unwrap and --embed-api-key do not go together".into()).into());
    }
    let client = args.client.unwrap_or(Client::ClaudeDesktop);
    let format = clients::format(client);
    let (input, user, is_current) = config_path(&args, client)?;
    // Absolute in reports and backups: scripts log them, and a relative path says little there.
    let input = std::path::absolute(&input).unwrap_or(input);
    let output = args.output.as_ref().map_or_else(
        || input.clone(),
        |o| std::path::absolute(o).unwrap_or(o.clone()),
    );
    let mut warnings = Vec::new();
    // The whole read-modify-write under one lock on what is written: parallel runs lose no update. (No
    // folder: nothing to lock, and nothing can be written there either; the error says which.)
    let folder_exists = output.parent().is_some_and(Path::is_dir);
    let _lock = if args.dry_run || !folder_exists {
        None
    } else {
        Some(lock::acquire(&output, lock::WAIT)?)
    };

    let (text, created) = match inspect::read_text(&input) {
        Ok(text) => (text, false),
        Err(Error::Missing { .. }) if args.create => (format.new_config().to_owned(), true),
        Err(e) => return Err(e.into()),
    };
    let parsed = format.parse(&input, &text)?;
    if parsed.risky_comments {
        warnings.push(format!(
            "{} has comments: kept as they are, but {}'s JSON parser may reject the file",
            input.display(),
            client.label()
        ));
    }
    let plan = plan(&args, settings, &user, is_current, &mut warnings)?;
    if let Some(wrap) = &plan.wrap {
        let names: Vec<String> = parsed.servers.iter().map(|s| s.name.clone()).collect();
        for name in wrap.intents.keys().filter(|n| !names.contains(n)) {
            warnings.push(format!(
                "the intent map names \"{name}\", which is not a server in this config"
            ));
        }
        for name in plan
            .only
            .iter()
            .chain(&plan.exclude)
            .filter(|n| !names.contains(n))
        {
            warnings.push(format!("no server named \"{name}\" (--only / --exclude)"));
        }
    }
    // What wrapping INPUT changed is recorded beside INPUT: read there, whatever the output.
    let mut records = record::load(&input)?;
    let before = if output == input {
        records.clone()
    } else {
        record::load(&output)?
    };
    // Vaulting edits the `mcpServers` layout (Claude Desktop, Cursor, Windsurf); other formats refuse it.
    let vault_here = matches!(
        client,
        Client::ClaudeDesktop | Client::Cursor | Client::Windsurf
    );
    let (text_in, vaulted) = if vault_here {
        let doc = Document::parse(&input, &text)?;
        let vaulted = vault::before_wrap(&args, settings, &doc, &plan, &mut records)?;
        (doc.to_text(), vaulted)
    } else if vault::wanted(&args)? || args.keep_vaulted {
        return Err(Error::Usage(format!(
            "--vault-secrets / --keep-vaulted work on Claude Desktop, Cursor and Windsurf configs; not yet on {}",
            client.name()
        ))
        .into());
    } else {
        (text.clone(), Vec::new())
    };
    let old_secrets = clients::secret_values(&parsed);
    let (new_text, servers) = format.apply(&input, &text_in, &plan, &mut records)?;
    let (new_text, restored) = if vault_here {
        vault::after_unwrap(&args, settings, &output, new_text, &servers)?
    } else {
        (new_text, Vec::new())
    };
    let old_output = if output == input {
        Some(text.clone())
    } else {
        std::fs::read_to_string(&output).ok()
    };
    let changed = old_output.as_deref() != Some(new_text.as_str());

    let mut report = WrapReport {
        schema_version: 1,
        config: input.clone(),
        output: output.clone(),
        action: if args.unwrap { "unwrap" } else { "wrap" },
        dry_run: args.dry_run,
        created,
        changed,
        backup: None,
        servers,
        warnings,
        diff: None,
        vaulted: vault::report(&vaulted),
    };
    if args.dry_run {
        let mut hidden = old_secrets;
        hidden.extend(vault::values(&vaulted));
        let values = |t: &str| {
            format
                .parse(&output, t)
                .map_or_else(|_| Vec::new(), |p| clients::secret_values(&p))
        };
        hidden.extend(values(&new_text));
        if let Some(old) = old_output.as_deref() {
            hidden.extend(values(old));
        }
        let shown = diff(old_output.as_deref().unwrap_or(""), &new_text, &output);
        report.diff = Some(secrets::mask(&shown, &hidden));
    } else {
        let options = SaveOptions {
            new_owner: (!is_current).then_some(&user),
            backup: true,
            crash_before_rename: crash_hook(settings),
            redact_backup: args.unwrap.then_some(private::redact as save::Redact),
            holds_secret: private::holds_secret,
        };
        vault::store(settings, &vaulted)?;
        report.backup = save::save(&output, new_text.as_bytes(), &options)?;
        vault::scrub_backups(&output, &vaulted)?;
        drop(restored);
        if records != before {
            private::save_records(&output, &records, options.new_owner)?;
        }
    }
    render(&report, args.json);
    Ok(Exit::Ok)
}

/// The file to work on, whose it is, and whether that is the user thoth runs as: INPUT / `--config`, else
/// the client's project file in `--project DIR`, else the client's user-level file.
fn config_path(
    args: &WrapConfigArgs,
    client: Client,
) -> Result<(PathBuf, TargetUser, bool), Error> {
    let explicit = args.input.clone().or_else(|| args.config.clone());
    if let Some(path) = explicit {
        return Ok((
            path,
            locate::resolve_user(args.for_user.as_deref())?.0,
            true,
        ));
    }
    if let Some(dir) = &args.project {
        let path = clients::project_file(client, dir).ok_or_else(|| {
            Error::Usage(format!(
                "--project: {} has no project-scoped config; leave --project out to use the user's file",
                client.name()
            ))
        })?;
        return Ok((
            path,
            locate::resolve_user(args.for_user.as_deref())?.0,
            true,
        ));
    }
    let (user, is_current) = locate::resolve_user(args.for_user.as_deref())?;
    let env = clients::Env::current(&user.home, is_current);
    let path = match client {
        // Today's path (and its tests) unless the Windows Store build's file is there.
        Client::ClaudeDesktop
            if clients::user_file(client, &env) != clients::paths::claude_msix_config(&env) =>
        {
            locate::config_path(&user, is_current)
        }
        _ => clients::user_file(client, &env),
    };
    Ok((path, user, is_current))
}

fn plan(
    args: &WrapConfigArgs,
    settings: &Settings,
    user: &TargetUser,
    is_current: bool,
    warnings: &mut Vec<String>,
) -> Result<Plan, Error> {
    let mut plan = Plan {
        wrap: None,
        only: args.only.clone(),
        exclude: args.exclude.clone(),
    };
    if args.unwrap {
        return Ok(plan);
    }
    let thoth_path = match &args.thoth_path {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .map_err(|e| {
                Error::Usage(format!(
                    "cannot tell where this thoth binary is ({e}): pass --thoth-path"
                ))
            })?,
    };
    if !thoth_path.is_absolute() {
        return Err(Error::Usage(format!(
            "--thoth-path {} is not absolute: Claude Desktop starts servers with a bare PATH",
            thoth_path.display()
        )));
    }
    if args.thoth_path.is_some() {
        if let Err(why) =
            crate::wrap::Trust::current(Some(settings)).judge(&thoth_path.to_string_lossy())
        {
            warnings.push(format!(
                "--thoth-path: {why}; `thoth status` and `thoth health` will report these servers as not governed"
            ));
        }
    }
    let managed = managed::Managed::of(settings);
    let tenant_id = managed
        .tenant_id(args.tenant_id.clone(), warnings)
        .or_else(|| {
            args.tenant_id
                .clone()
                .or_else(|| settings.tenant_id.as_ref().map(|t| t.value.clone()))
        });
    if let Some(tenant) = &tenant_id {
        if crate::settings::validate::id(tenant).is_err() {
            return Err(Error::Usage(format!(
                "--tenant-id {tenant:?} is not a tenant id (letters, digits, '.', '_', '-')"
            )));
        }
    }
    let mut env = Vec::new();
    for pair in &args.env {
        let Some((key, value)) = pair.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(Error::Usage(format!("--env {pair:?} is not KEY=VALUE")));
        };
        if crate::settings::keys::is_secret_env(key) && !args.embed_api_key {
            return Err(Error::Usage(format!(
                "--env {key}=... would write a secret into the config: add --embed-api-key to mean it, or \
                 leave the secret in ~/.thoth (thoth set-api-key)"
            )));
        }
        env.push((key.to_owned(), value.to_owned()));
    }
    if args.embed_api_key {
        let credential = settings.enforcer_credential.as_ref().ok_or_else(|| {
            Error::Usage(
                "--embed-api-key: no API key is configured (set THOTH_API_KEY or run `thoth set-api-key`)"
                    .into(),
            )
        })?;
        let (key, secret) = match &credential.value {
            Credential::ApiKey(secret) => ("THOTH_API_KEY", secret),
            Credential::Bearer(secret) => ("THOTH_AUTH_TOKEN", secret),
        };
        env.retain(|(k, _)| k != key);
        env.push((key.to_owned(), secret.expose().to_owned()));
        warnings.push(format!(
            "--embed-api-key: {key} is written into the config in clear; anyone who can read the file can \
             read the key"
        ));
    }
    let thoth_dir = if is_current {
        settings.thoth_dir.clone()
    } else {
        Some(crate::platform::paths::thoth_dir(&user.home))
    };
    let intents = intent_map(args.intent_map.as_deref(), thoth_dir.as_deref())?;
    plan.wrap = Some(WrapPlan {
        thoth_path: thoth_path.to_string_lossy().into_owned(),
        tenant_id,
        enforcement_mode: managed
            .enforcement_mode(args.enforcement_mode, warnings)
            .unwrap_or(
                args.enforcement_mode
                    .unwrap_or(settings.enforcement_mode.value),
            )
            .as_str()
            .to_owned(),
        agent_id_prefix: args.agent_id_prefix.clone(),
        env,
        intents,
        lock: match &args.lock_dir {
            Some(dir) => Some((
                std::path::absolute(dir)
                    .map_err(|e| Error::Usage(format!("--lock-dir {}: {e}", dir.display())))?,
                args.lock_pubkey.clone(),
            )),
            None => None,
        },
        drop_flags: managed.drop_flags(),
    });
    if plan.wrap.as_ref().is_some_and(|w| w.tenant_id.is_none()) {
        warnings.push(
            "no tenant id (--tenant-id or THOTH_TENANT_ID): wrapped servers use the one thoth run resolves".into(),
        );
    }
    Ok(plan)
}

/// `{server name: intent}` from `--intent-map`, else `~/.thoth/intent_map.json` when it exists.
pub fn intent_map(
    flag: Option<&Path>,
    thoth_dir: Option<&Path>,
) -> Result<BTreeMap<String, String>, Error> {
    let path = match (flag, thoth_dir.map(crate::platform::paths::intent_map_file)) {
        (Some(path), _) => path.to_owned(),
        (None, Some(default)) if default.is_file() => default,
        _ => return Ok(BTreeMap::new()),
    };
    crate::home::read_intent_map(&path).map_err(|detail| Error::IntentMap { path, detail })
}

/// The dev-only test hook that simulates a crash between the temp write and the rename.
fn crash_hook(settings: &Settings) -> bool {
    // Read here, not through settings: it is not a setting, and only honoured in dev.
    settings.environment.value == Environment::Dev
        && std::env::var_os("THOTH_TEST_CRASH_BEFORE_RENAME").is_some_and(|v| v == "1")
}

fn diff(old: &str, new: &str, path: &Path) -> String {
    let name = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&name, &name)
        .to_string()
}

fn render(report: &WrapReport, json: bool) {
    for warning in &report.warnings {
        crate::output::message(&format!("warning: {warning}"));
    }
    if json {
        crate::output::json(report);
        return;
    }
    let mut text = String::new();
    for server in &report.servers {
        let outcome = serde_json::to_value(server.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        text.push_str(&format!("{outcome:<12} {}", server.name));
        if let Some(agent) = &server.agent_id {
            text.push_str(&format!("  (agent id {agent}"));
            if let Some(intent) = &server.session_intent {
                text.push_str(&format!(", intent {intent}"));
            }
            text.push(')');
        }
        if let Some(detail) = &server.detail {
            text.push_str(&format!("  ({detail})"));
        }
        text.push('\n');
    }
    text.push_str(&vault::render(&report.vaulted, report.dry_run));
    let output = report.output.display();
    match (&report.diff, report.changed) {
        (Some(diff), true) => text.push_str(&format!("dry run: {output} would change:\n{diff}")),
        (Some(_), false) => text.push_str(&format!("dry run: {output} would not change\n")),
        (None, true) => {
            text.push_str(&format!("wrote {output}"));
            if let Some(backup) = &report.backup {
                text.push_str(&format!(" (previous content in {})", backup.display()));
            }
            text.push('\n');
        }
        (None, false) => text.push_str(&format!("{output} already as wanted: nothing written\n")),
    }
    crate::output::text(&text);
}
