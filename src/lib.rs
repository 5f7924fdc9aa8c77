//! thoth: an MCP governance sidecar. `thoth run -- <server>` sits on the stdio pipe between an MCP client and
//! its server and decides every `tools/call` before the server sees it (DESIGN.md).

pub mod audit;
pub mod auth;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod error;
pub mod exit;
pub mod fleet;
pub mod hint;
pub mod home;
pub mod identity;
pub mod lock;
pub mod logging;
pub mod minisig;
pub mod mode;
pub mod net;
pub mod output;
pub mod platform;
pub mod policy;
pub mod proxy;
pub mod remote;
pub mod runtime_user;
pub mod secrets;
pub mod settings;
pub mod update;
pub mod wrap;

pub mod backoff;
pub mod time;

pub use error::Error;
pub use exit::Exit;

/// The command line's flags that are settings (resolved once, with the other sources).
pub fn setting_flags(cli: &cli::Cli) -> settings::GlobalFlags {
    settings::GlobalFlags {
        log_level: cli.global.log_level.clone(),
        command: match &cli.command {
            cli::Command::Run(args) => commands::run::setting_flags(args),
            _ => Vec::new(),
        },
    }
}

/// Run one parsed command with the settings resolved for it (or the reason they could not be).
pub fn run(
    command: cli::Command,
    settings: Result<settings::Settings, settings::Error>,
) -> Result<Exit, Error> {
    match command {
        cli::Command::Run(args) => commands::run::run(args, settings),
        cli::Command::SetApiKey(args) => commands::set_api_key::run(args, &settings?),
        cli::Command::Doctor(args) => commands::doctor::run(args, settings),
        cli::Command::Audit(args) => commands::audit::run(args, &settings?),
        cli::Command::WrapConfig(args) => commands::wrap_config::run(args, &settings?),
        cli::Command::Status(args) => commands::status::run(args, settings.as_ref().ok()),
        cli::Command::Update(args) => commands::update::run(args, &settings?),
        cli::Command::Health(args) => commands::health::run(args, settings),
        cli::Command::Checkin(args) => commands::checkin::run(args, &settings?),
        cli::Command::Lock(args) => commands::lock::run_lock(args),
        cli::Command::Diff(args) => commands::lock::run_diff(args),
        cli::Command::Auth(args) => commands::auth::run(args, settings),
        cli::Command::Secrets(args) => commands::secrets::run(args, &settings?),
        cli::Command::Mdm(args) => commands::client_policy::run(args, settings.as_ref().ok()),
    }
}
