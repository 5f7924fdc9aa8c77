//! tracing to stderr (and `--log-file`), never stdout. The level comes from settings (`--log-level`, else
//! THOTH_LOG, else info).

use std::fs::OpenOptions;
use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Logging could not start (what went wrong, in words).
#[derive(Debug, thiserror::Error)]
#[error("could not start logging: {0}")]
pub struct Error(String);

impl crate::hint::Hint for Error {
    fn hint(&self) -> Option<String> {
        Some("check that the --log-file folder exists and is writable".into())
    }
}

/// Start logging at `level` (a level or tracing filter); keep the guard alive until exit so the log file is
/// flushed.
pub fn init(level: &str, log_file: Option<&Path>) -> Result<Option<WorkerGuard>, Error> {
    // A bad level must not stop thoth (in `thoth run` that would break the session): log at info, say so.
    let (filter, bad_level) = match EnvFilter::try_new(level) {
        Ok(filter) => (filter, None),
        Err(e) => (
            EnvFilter::new("info"),
            Some(format!(
                "ignoring log level {level:?} (--log-level / THOTH_LOG): {e}"
            )),
        ),
    };
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false);
    let (file_layer, guard) = match log_file {
        None => (None, None),
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Error(format!("cannot open --log-file {}: {e}", path.display())))?;
            let (writer, guard) = tracing_appender::non_blocking(file);
            (
                Some(fmt::layer().with_writer(writer).with_ansi(false).boxed()),
                Some(guard),
            )
        }
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file_layer)
        .try_init()
        .map_err(|e| Error(e.to_string()))?;
    if let Some(warning) = bad_level {
        tracing::warn!("{warning}");
    }
    Ok(guard)
}
