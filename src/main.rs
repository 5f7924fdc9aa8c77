//! Entry point: parse the command line, resolve settings, start logging, call one command, map its result to
//! an exit code. Nothing else lives here (STYLE.md §1).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = thoth::cli::Cli::parse();
    let settings = match thoth::settings::resolve(&cli.global) {
        Ok(settings) => settings,
        Err(err) => return thoth::output::report(&err.into()).code(),
    };
    let _log_guard =
        match thoth::logging::init(&settings.log_filter.value, cli.global.log_file.as_deref()) {
            Ok(guard) => guard,
            Err(err) => return thoth::output::report(&err).code(),
        };
    match thoth::run(cli.command, &settings) {
        Ok(exit) => exit.code(),
        Err(err) => thoth::output::report(&err).code(),
    }
}
