//! tracing to stderr (and `--log-file`), never stdout. The level comes from `--log-level`, else THOTH_LOG.

use std::fs::OpenOptions;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

use std::path::Path;

/// Start logging at `level` (a level or tracing filter, from settings); keep the guard alive until exit so the
/// log file is flushed.
pub fn init(level: &str, log_file: Option<&Path>) -> Result<Option<WorkerGuard>, crate::Error> {
    let filter = EnvFilter::try_new(level).map_err(|e| {
        crate::Error::Logging(format!(
            "bad log level {level:?} (--log-level / THOTH_LOG): {e}"
        ))
    })?;
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
                .map_err(|e| {
                    crate::Error::Logging(format!("cannot open --log-file {}: {e}", path.display()))
                })?;
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
        .map_err(|e| crate::Error::Logging(e.to_string()))?;
    Ok(guard)
}
