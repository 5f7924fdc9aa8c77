//! Open a URL in the user's browser: `$BROWSER` when set (the Unix convention: a `:`-separated list of
//! commands, `%s` standing for the URL, else the URL appended), else the platform's opener (`open` on macOS,
//! `xdg-open` elsewhere on Unix, `rundll32 url.dll,FileProtocolHandler` on Windows). The opener is started
//! detached from thoth's stdio (stdout may carry JSON) and never waited for.

use std::process::{Command, Stdio};

/// Start the browser on `url`; an error when no opener could be started.
pub fn open(url: &str) -> std::io::Result<()> {
    let mut last = None;
    for mut command in candidates(url) {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match command.spawn() {
            Ok(mut child) => {
                let program = format!("{:?}", command.get_program());
                tracing::debug!(program, "opened the browser");
                // Reaped off the caller's thread: a browser run directly may live long.
                let _ = std::thread::Builder::new()
                    .name("browser".into())
                    .spawn(move || child.wait());
                return Ok(());
            }
            Err(err) => last = Some(err),
        }
    }
    Err(last
        .unwrap_or_else(|| std::io::Error::other("no browser opener is known on this platform")))
}

/// The commands to try, in order.
fn candidates(url: &str) -> Vec<Command> {
    let mut out = Vec::new();
    if let Some(browser) = std::env::var_os("BROWSER").and_then(|b| b.into_string().ok()) {
        out.extend(browser_commands(&browser, url));
    }
    out.extend(platform_opener(url));
    out
}

/// `$BROWSER`'s commands for `url`.
fn browser_commands(browser: &str, url: &str) -> Vec<Command> {
    browser
        .split(':')
        .filter_map(|entry| {
            let mut words = entry.split_whitespace();
            let program = words.next()?;
            let mut command = Command::new(program);
            let mut placed = false;
            for word in words {
                if word.contains("%s") {
                    command.arg(word.replace("%s", url));
                    placed = true;
                } else {
                    command.arg(word);
                }
            }
            if !placed {
                command.arg(url);
            }
            Some(command)
        })
        .collect()
}

#[cfg(target_os = "macos")]
fn platform_opener(url: &str) -> Vec<Command> {
    let mut command = Command::new("/usr/bin/open");
    command.arg(url);
    vec![command]
}

#[cfg(windows)]
fn platform_opener(url: &str) -> Vec<Command> {
    let mut command = Command::new("rundll32.exe");
    command.arg("url.dll,FileProtocolHandler").arg(url);
    vec![command]
}

#[cfg(all(unix, not(target_os = "macos")))]
fn platform_opener(url: &str) -> Vec<Command> {
    let mut command = Command::new("xdg-open");
    command.arg(url);
    vec![command]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_entries_take_the_url_at_percent_s_or_last() {
        let got: Vec<Vec<String>> =
            browser_commands("true:firefox --new-window %s:: ", "http://x/?a=1&b")
                .iter()
                .map(|c| {
                    std::iter::once(c.get_program())
                        .chain(c.get_args())
                        .map(|a| a.to_string_lossy().into_owned())
                        .collect()
                })
                .collect();
        assert_eq!(
            got,
            vec![
                vec!["true".to_owned(), "http://x/?a=1&b".to_owned()],
                vec![
                    "firefox".to_owned(),
                    "--new-window".to_owned(),
                    "http://x/?a=1&b".to_owned()
                ],
            ]
        );
    }
}
