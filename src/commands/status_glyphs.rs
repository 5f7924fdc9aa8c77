//! The marks of the `thoth status` tables: `✓`, `✗`, `—` and the `─` rule where the console can print
//! them, ASCII where it cannot (`yes`, `no`, `--` for an empty value, a `-` rule).
//!
//! The table is a stable format that scripts read, so it does not change with the locale: Unicode (as UTF-8
//! bytes) everywhere, cron and MDM scripts with an empty environment included. The one exception is a
//! legacy Windows console (stdout is a console, not Windows Terminal, no UTF-8 locale variable), whose
//! fonts cannot show the marks: it gets ASCII. THOTH_ASCII=1 forces ASCII; THOTH_ASCII=0 forces Unicode.

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
    use std::io::IsTerminal;
    choose(
        |name| std::env::var(name).ok(),
        cfg!(windows) && std::io::stdout().is_terminal(),
    )
}

/// The marks for an environment (`var` reads a variable); `windows_console`: stdout is a Windows console.
pub fn choose(var: impl Fn(&str) -> Option<String>, windows_console: bool) -> Glyphs {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    match set(FORCE_ENV).as_deref() {
        Some("1") | Some("true") => return ASCII,
        Some("0") | Some("false") => return UNICODE,
        _ => {}
    }
    if !windows_console {
        return UNICODE;
    }
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|name| set(name));
    let utf8 = locale.as_deref().is_some_and(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("utf-8") || l.contains("utf8")
    });
    if utf8 || (locale.is_none() && set("WT_SESSION").is_some()) {
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
    fn the_locale_never_changes_the_table_outside_a_windows_console() {
        for vars in [
            vec![],
            vec![("LANG", "C")],
            vec![("LC_ALL", "POSIX"), ("LANG", "en_US.UTF-8")],
            vec![("LANG", "en_US.ISO-8859-1")],
            vec![("LANG", "en_US.UTF-8")],
        ] {
            assert_eq!(pick(&vars, false), UNICODE, "{vars:?}");
        }
    }

    #[test]
    fn a_windows_console_prints_unicode_in_windows_terminal_or_a_utf8_locale_only() {
        assert_eq!(pick(&[], true), ASCII);
        assert_eq!(pick(&[("WT_SESSION", "1c2f")], true), UNICODE);
        assert_eq!(pick(&[("LANG", "en_US.UTF-8")], true), UNICODE);
        assert_eq!(pick(&[("LANG", "C.utf8")], true), UNICODE);
        assert_eq!(pick(&[("WT_SESSION", "x"), ("LANG", "C")], true), ASCII);
        assert_eq!(
            pick(&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")], true),
            ASCII
        );
        assert_eq!(
            pick(&[("LC_ALL", ""), ("LC_CTYPE", "de_DE.UTF-8")], true),
            UNICODE
        );
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
