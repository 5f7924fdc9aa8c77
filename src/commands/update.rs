//! `thoth update` / `thoth self-update`: the composition over `update` (DESIGN.md §1): resolve the channel and
//! keys, look up releases, download and verify, install or roll back, record the attempt in the state file,
//! and render the report as text or JSON.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::settings::Settings;
use crate::update::cli_args::UpdateArgs;
use crate::update::config::{self, UpdateConfig};
use crate::update::release::{self, Candidate, Plan};
use crate::update::report::{self, Action, UpdateReport};
use crate::update::state::{self, UpdateState};
use crate::update::{
    archive, download, install, package, verify, Error, CONNECT_TIMEOUT, CURRENT_VERSION,
};
use crate::Exit;

/// `thoth update`: one attempt, recorded whatever its outcome.
pub fn run(args: UpdateArgs, settings: &Settings) -> Result<Exit, crate::Error> {
    let mut record = Record::new(settings);
    let outcome = attempt(&args, settings, &mut record);
    match &outcome {
        Ok(report) => record.finish(None, Some(report.action.as_str())),
        Err(err) => record.finish(Some(err.to_string()), Some("failed")),
    }
    let report = outcome?;
    crate::output::render(args.json, &report, report::render);
    Ok(Exit::Ok)
}

fn attempt(
    args: &UpdateArgs,
    settings: &Settings,
    record: &mut Record,
) -> Result<UpdateReport, Error> {
    let config = config::resolve(settings, args)?;
    record.state.channel = config.channel.as_str().into();
    if let Some(origin) = &config.disabled {
        return Err(Error::Disabled {
            origin: origin.clone(),
        });
    }
    let exe = current_exe()?;
    if args.rollback {
        return rollback(&exe, &config, record);
    }
    let current = config::parse_version("the running version", CURRENT_VERSION)?;
    if !args.check && config.keys.is_empty() {
        return Err(Error::NoKeys);
    }
    let client = crate::net::NetClient::new(
        settings,
        crate::net::Timeouts {
            connect: CONNECT_TIMEOUT.min(config.timeout),
            total: config.timeout,
            stall: Some(config.stall.min(config.timeout)),
        },
    )
    .map_err(|e| Error::Lookup {
        url: config.api_url.clone(),
        reason: e.to_string(),
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Lookup {
            url: config.api_url.clone(),
            reason: format!("cannot start the async runtime: {e}"),
        })?;
    let releases = runtime.block_on(download::releases(&client, &config.api_url, &config.repo))?;
    let (candidates, skipped) = release::candidates(releases);
    let newest = release::newest(&candidates, config.channel).map(|c| c.version.to_string());
    record.state.latest_seen = newest.clone();
    let plan = release::plan(
        &current,
        &candidates,
        &skipped,
        config.channel,
        config.wanted.as_ref(),
        args.force,
    )?;
    let mut report = UpdateReport::new(&config, newest);
    let (candidate, kind) = match plan {
        Plan::UpToDate => {
            report.action = if args.check {
                Action::Check
            } else {
                Action::UpToDate
            };
            return Ok(report);
        }
        Plan::Install { candidate, kind } => (candidate, kind),
    };
    report.target_version = Some(candidate.version.to_string());
    report.install = Some(kind.as_str());
    report.update_available = true;
    let base_name = release::this_asset_name().unwrap_or("thoth-unsupported-platform");
    // The bare binary, else an archive of it.
    let asset_name = std::iter::once(base_name.to_owned())
        .chain(archive::SUFFIXES.iter().map(|s| format!("{base_name}{s}")))
        .find(|name| candidate.asset(name).is_some())
        .unwrap_or_else(|| base_name.to_owned());
    let asset_name = asset_name.as_str();
    report.asset = Some(asset_name.into());
    if args.check {
        report.action = Action::Check;
        return Ok(report);
    }
    if let Some(how) = package::installed_by(&exe, &package::InstallFacts::gather(&exe)) {
        return Err(Error::PackageManaged { path: exe, how });
    }
    let show_progress = !args.json && !config.managed && crate::output::is_watched();
    let bytes = runtime.block_on(fetch_verified(
        &client,
        &config,
        &candidate,
        asset_name,
        show_progress,
    ))?;
    drop(runtime);
    let previous = install::replace(&exe, &bytes)?;
    record.state.current_version = candidate.version.to_string();
    record.state.previous_path = Some(previous.display().to_string());
    record.state.previous_version = Some(CURRENT_VERSION.into());
    report.action = Action::Updated;
    report.installed_path = Some(exe.display().to_string());
    report.previous_path = Some(previous.display().to_string());
    Ok(report)
}

/// Download the asset, its signature and the checksum list, and let only verified bytes through.
async fn fetch_verified(
    client: &crate::net::NetClient,
    config: &UpdateConfig,
    candidate: &Candidate,
    asset_name: &str,
    show_progress: bool,
) -> Result<Vec<u8>, Error> {
    let version = candidate.version.to_string();
    let signature_name = format!("{asset_name}.minisig");
    let missing = |what: &str| Error::NoAsset {
        version: version.clone(),
        asset: asset_name.into(),
        missing: what.into(),
    };
    let asset = candidate
        .asset(asset_name)
        .ok_or_else(|| missing(asset_name))?;
    let signature = candidate
        .asset(&signature_name)
        .ok_or_else(|| missing(&signature_name))?;
    let checksums = candidate
        .asset("checksums.sha256")
        .ok_or_else(|| missing("checksums.sha256"))?;
    let small = download::MAX_SMALL_BYTES;
    let signature = download::fetch(
        client,
        &signature_name,
        &signature.browser_download_url,
        small,
        None,
    )
    .await?;
    let checksums = download::fetch(
        client,
        "checksums.sha256",
        &checksums.browser_download_url,
        small,
        None,
    )
    .await?;
    let progress = crate::output::progress(show_progress, asset_name, asset.size);
    let bytes = download::fetch(
        client,
        asset_name,
        &asset.browser_download_url,
        download::MAX_ASSET_BYTES,
        Some(&progress),
    )
    .await;
    progress.finish_and_clear();
    let bytes = bytes?;
    if let Some(expected) = asset.size {
        if bytes.len() as u64 != expected {
            return Err(Error::Truncated {
                asset: asset_name.into(),
                got: bytes.len() as u64,
                expected,
            });
        }
    }
    verify::check_checksum(&String::from_utf8_lossy(&checksums), asset_name, &bytes)?;
    verify::check_signature(
        &config.keys,
        &String::from_utf8_lossy(&signature),
        &bytes,
        asset_name,
        &candidate.version,
    )?;
    archive::binary(bytes, asset_name, download::MAX_ASSET_BYTES)
}

fn rollback(exe: &Path, config: &UpdateConfig, record: &mut Record) -> Result<UpdateReport, Error> {
    if let Some(how) = package::installed_by(exe, &package::InstallFacts::gather(exe)) {
        return Err(Error::PackageManaged {
            path: exe.to_owned(),
            how,
        });
    }
    let restored_version = record.state.previous_version.clone();
    let previous = install::rollback(exe)?;
    let mut report = UpdateReport::new(config, record.state.latest_seen.clone());
    report.action = Action::RolledBack;
    report.target_version = restored_version.clone();
    report.installed_path = Some(exe.display().to_string());
    report.previous_path = Some(previous.display().to_string());
    record.state.previous_version = Some(record.state.current_version.clone());
    record.state.previous_path = Some(previous.display().to_string());
    record.state.current_version = restored_version.unwrap_or_else(|| "unknown".into());
    Ok(report)
}

/// The running binary, with links resolved (a link is not what gets replaced).
fn current_exe() -> Result<PathBuf, Error> {
    let io = |error| Error::Install {
        action: "locate",
        path: PathBuf::from("the running thoth binary"),
        error,
    };
    std::env::current_exe()
        .map_err(io)?
        .canonicalize()
        .map_err(io)
}

/// The state file as this attempt will leave it.
struct Record {
    dir: Option<PathBuf>,
    state: UpdateState,
}

impl Record {
    fn new(settings: &Settings) -> Record {
        let dir = settings.thoth_dir.clone();
        let previous = dir.as_deref().and_then(state::load);
        let state = UpdateState {
            schema_version: state::SCHEMA_VERSION,
            channel: config::channel_of(settings).as_str().into(),
            current_version: CURRENT_VERSION.into(),
            latest_seen: previous.as_ref().and_then(|s| s.latest_seen.clone()),
            last_check_at: None,
            last_error: None,
            last_result: None,
            previous_path: previous.as_ref().and_then(|s| s.previous_path.clone()),
            previous_version: previous.and_then(|s| s.previous_version),
        };
        Record { dir, state }
    }

    fn finish(&mut self, error: Option<String>, result: Option<&str>) {
        self.state.last_check_at = Some(crate::time::rfc3339_at(
            SystemTime::now(),
            crate::time::Precision::Millis,
        ));
        self.state.last_error = error;
        self.state.last_result = result.map(str::to_owned);
        let Some(dir) = &self.dir else { return };
        if let Err(err) = state::save(dir, &self.state) {
            tracing::warn!(error = %err, "could not record the update state");
        }
    }
}
