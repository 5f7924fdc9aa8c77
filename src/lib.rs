//! thoth: an MCP governance sidecar. `thoth run -- <server>` sits on the stdio pipe between an MCP client and
//! its server and decides every `tools/call` before the server sees it (DESIGN.md).

pub mod cli;
pub mod error;
pub mod exit;
pub mod logging;
pub mod output;
pub mod platform;
pub mod policy;
pub mod proxy;
pub mod settings;

pub use error::Error;
pub use exit::Exit;

/// Run one parsed command line to completion.
pub fn run(command: cli::Command, settings: &settings::Settings) -> Result<Exit, Error> {
    match command {
        cli::Command::Run(args) => proxy::run(args, settings),
    }
}
