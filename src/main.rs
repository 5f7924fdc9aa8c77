//! Entry point: parse the command line, resolve settings, start logging, call one command, map its result to
//! an exit code. Nothing else lives here (STYLE.md §1).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = thoth::cli::Cli::parse();
    // A settings error is the command's to report: `thoth run` must answer it over MCP.
    let settings = thoth::settings::resolve(&thoth::setting_flags(&cli));
    let level = settings
        .as_ref()
        .map_or("info", |s| s.log_filter.value.as_str())
        .to_owned();
    let _log_guard = match thoth::logging::init(&level, cli.global.log_file.as_deref()) {
        Ok(guard) => guard,
        Err(err) => return thoth::output::report(&err).code(),
    };
    match thoth::run(cli.command, settings) {
        Ok(exit) => exit.code(),
        Err(err) => thoth::output::report(&err).code(),
    }
}
