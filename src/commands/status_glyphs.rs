//! The marks of the `thoth status` tables: `✓`, `✗`, `—` and the `─` rule where the console can print
//! them, ASCII where it cannot (`yes`, `no`, `--` for an empty value, a `-` rule).
//!
//! Decided from the environment, not from the terminal: the locale of the C library (`LC_ALL`, else
//! `LC_CTYPE`, else `LANG`, the first one set and non-empty) names UTF-8 (`…UTF-8`, `…utf8`). No locale at
//! all (cron, launchd, Jamf and Intune scripts run as root with an empty environment) is the POSIX locale,
//! which is ASCII. On Windows, where the legacy console prints with an OEM code page, Unicode only inside
//! Windows Terminal (`WT_SESSION`), or when a UTF-8 locale variable is set (Git Bash, MSYS). THOTH_ASCII=1
//! forces ASCII; THOTH_ASCII=0 forces Unicode.

/// One set of marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    pub governed: &'static str,
    pub ungoverned: &'static str,
    pub empty: &'static str,
    /// Repeated under the header.
    pub rule: char,
}

pub const UNICODE: Glyphs = Glyphs {
    governed: "✓",
    ungoverned: "✗",
    empty: "—",
    rule: '─',
};

pub const ASCII: Glyphs = Glyphs {
    governed: "yes",
    ungoverned: "no",
    empty: "--",
    rule: '-',
};

pub const FORCE_ENV: &str = "THOTH_ASCII";

/// The marks for this process's console.
pub fn current() -> Glyphs {
    choose(|name| std::env::var(name).ok(), cfg!(windows))
}

/// The marks for an environment (`var` reads a variable) on Windows or elsewhere.
pub fn choose(var: impl Fn(&str) -> Option<String>, windows: bool) -> Glyphs {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    match set(FORCE_ENV).as_deref() {
        Some("1") | Some("true") => return ASCII,
        Some("0") | Some("false") => return UNICODE,
        _ => {}
    }
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|name| set(name));
    let utf8 = locale.as_deref().is_some_and(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("utf-8") || l.contains("utf8")
    });
    if utf8 || (windows && locale.is_none() && set("WT_SESSION").is_some()) {
        UNICODE
    } else {
        ASCII
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn pick(vars: &[(&str, &str)], windows: bool) -> Glyphs {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        choose(|n| map.get(n).cloned(), windows)
    }

    #[test]
    fn the_first_locale_variable_set_decides() {
        assert_eq!(pick(&[("LANG", "en_US.UTF-8")], false), UNICODE);
        assert_eq!(pick(&[("LANG", "C.utf8")], false), UNICODE);
        assert_eq!(pick(&[], false), ASCII);
        assert_eq!(pick(&[("LANG", "C")], false), ASCII);
        assert_eq!(
            pick(&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")], false),
            ASCII
        );
        assert_eq!(
            pick(&[("LC_ALL", ""), ("LC_CTYPE", "de_DE.UTF-8")], false),
            UNICODE
        );
        assert_eq!(pick(&[("LANG", "en_US.ISO-8859-1")], false), ASCII);
    }

    #[test]
    fn windows_prints_unicode_in_windows_terminal_only() {
        assert_eq!(pick(&[], true), ASCII);
        assert_eq!(pick(&[("WT_SESSION", "1c2f")], true), UNICODE);
        assert_eq!(pick(&[("LANG", "en_US.UTF-8")], true), UNICODE);
        assert_eq!(pick(&[("WT_SESSION", "x"), ("LANG", "C")], true), ASCII);
    }

    #[test]
    fn thoth_ascii_forces_either_way() {
        assert_eq!(
            pick(&[("THOTH_ASCII", "1"), ("LANG", "C.UTF-8")], false),
            ASCII
        );
        assert_eq!(pick(&[("THOTH_ASCII", "0")], true), UNICODE);
    }
}
