//! `thoth audit verify [--json] [FILE...]`: check the local audit chains (`audit::verify`) and render the
//! report as text or JSON (schemas/audit-verify.schema.json). Exit 0 when every chain verifies, 1 otherwise.

pub mod cli_args;

use crate::audit::verify;
use crate::settings::Settings;
use crate::{home, Error, Exit};
use cli_args::{AuditArgs, AuditCommand};

/// `thoth audit ...`.
pub fn run(args: AuditArgs, settings: &Settings) -> Result<Exit, Error> {
    match args.command {
        AuditCommand::Verify { json, files } => {
            let report = if files.is_empty() {
                let dir = settings.thoth_dir.as_deref().ok_or(home::Error::NoHome)?;
                verify::verify_dir(&crate::platform::paths::audit_dir(dir))
            } else {
                verify::verify_paths(&files)
            };
            crate::output::render(json, &report, verify::render);
            Ok(if report.status == "ok" {
                Exit::Ok
            } else {
                Exit::Failure
            })
        }
    }
}
