//! The one owner of stdout for commands, and the renderer of errors on stderr (STYLE.md §5). In `thoth run`
//! stdout belongs to the MCP client: only `proxy::session` writes it, and only frames.
#![allow(clippy::print_stderr, clippy::print_stdout)]

use crate::hint::Hint;

/// Print an error with its causes and hint on stderr; returns the exit code it deserves (every error is a
/// failure).
pub fn report<E: std::error::Error + Hint + ?Sized>(err: &E) -> crate::Exit {
    tracing::debug!(error = ?err, "command failed");
    eprintln!("thoth: error: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    if let Some(hint) = err.hint() {
        eprintln!("  hint: {hint}");
    }
    crate::Exit::Failure
}

/// A one-line message for the person at the terminal (stderr: stdout is for data).
pub fn message(text: &str) {
    eprintln!("thoth: {text}");
}

/// A command's report as one JSON document on stdout.
pub fn json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(err) => eprintln!("thoth: error: cannot render JSON: {err}"),
    }
}

/// A command's report as text on stdout.
pub fn text(text: &str) {
    print!("{text}");
}

/// A command's report on stdout, rendered once: one JSON document when `json`, else its text form.
pub fn render<T: serde::Serialize>(json: bool, report: &T, text: impl FnOnce(&T) -> String) {
    if json {
        self::json(report);
    } else {
        self::text(&text(report));
    }
}

/// Is a person watching? (stderr is a terminal: progress bars go there.)
pub fn is_watched() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// A download progress bar on stderr, or a hidden one when `show` is false (--json, MDM, no terminal).
pub fn progress(show: bool, label: &str, total: Option<u64>) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(total, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_owned());
    bar
}
