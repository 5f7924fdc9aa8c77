//! The `under` argument constraint: is a path argument inside a folder? A pure, lexical function over strings
//! (DESIGN.md §3): nothing touches the filesystem, so the answer is the same on every OS and in every test.
//! It must not resolve symlinks or read the working directory; whatever it cannot judge safely fails.
//!
//! The prefix says which path rules apply. A POSIX prefix (`/srv/data`): `/` separates, case matters; and as
//! `\` separates on some servers but not others, the value must be inside under both readings. A Windows
//! prefix (`C:\Users\alice` or `\\server\share\dir`): `\` and `/` both separate, case does not matter.
//! Normalisation collapses repeated separators, drops `.`, and makes `..` remove the previous component (never
//! above the root). A relative value is taken relative to the prefix; the prefix itself counts as inside.
//!
//! Always outside (the constraint fails): a NUL byte (C code would stop reading there), a `~` start (servers
//! expand it to a home folder), a URL (`file:///etc`), and on Windows a rooted path without a drive (`\x`), a
//! drive-relative path (`C:x`), and device or verbatim paths (`\\?\`, `\\.\`, `\??\`), where `..` is not
//! interpreted. Symlinks are not followed: a link inside the folder that points out of it is the server's
//! job to refuse.

/// Is `value` inside the folder `prefix` (or the folder itself)? False when `prefix` is not absolute.
pub fn is_under(value: &str, prefix: &str) -> bool {
    if value.contains('\0') || value.starts_with('~') || looks_like_url(value) {
        return false;
    }
    match style_of(prefix) {
        Some(Style::Posix | Style::PosixBackslash) => {
            is_under_with(value, prefix, Style::Posix)
                && is_under_with(value, prefix, Style::PosixBackslash)
        }
        Some(Style::Windows) => is_under_with(value, prefix, Style::Windows),
        None => false,
    }
}

/// Can `prefix` be used as an `under` folder: an absolute POSIX or Windows path (not a device path)?
pub fn is_absolute(prefix: &str) -> bool {
    style_of(prefix).is_some() && !prefix.contains('\0')
}

/// Which path rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `/` separates, case-sensitive.
    Posix,
    /// POSIX rules, reading `\` as a separator too (the stricter second reading).
    PosixBackslash,
    /// `\` and `/` separate, case-insensitive, drive or UNC roots.
    Windows,
}

impl Style {
    fn is_separator(self, c: char) -> bool {
        c == '/' || (c == '\\' && self != Style::Posix)
    }
}

/// An absolute path split into its root (`/`, `c:`, `//server/share`) and its remaining text.
struct Rooted<'a> {
    root: String,
    rest: &'a str,
}

fn style_of(prefix: &str) -> Option<Style> {
    if prefix.starts_with('/') && !is_device_path(prefix) {
        Some(Style::Posix)
    } else if windows_root(prefix).is_some() {
        Some(Style::Windows)
    } else {
        None
    }
}

fn is_under_with(value: &str, prefix: &str, style: Style) -> bool {
    let Some(prefix) = rooted(prefix, style) else {
        return false;
    };
    let base = components(prefix.rest, style, Vec::new());
    let (root, parts) = match rooted(value, style) {
        Some(abs) => (abs.root, components(abs.rest, style, Vec::new())),
        None if is_rooted_or_drive_relative(value, style) => return false,
        None => (prefix.root.clone(), components(value, style, base.clone())),
    };
    same(&root, &prefix.root, style)
        && parts.len() >= base.len()
        && parts.iter().zip(&base).all(|(a, b)| same(a, b, style))
}

/// The root of an absolute path in `style`, or None when the path is relative (or a device path).
fn rooted(path: &str, style: Style) -> Option<Rooted<'_>> {
    match style {
        Style::Posix | Style::PosixBackslash => path.strip_prefix('/').map(|rest| Rooted {
            root: "/".into(),
            rest,
        }),
        Style::Windows => windows_root(path),
    }
}

/// `C:\…` / `C:/…` (root `c:`) or `\\server\share\…` (root `//server/share`); device paths are refused.
fn windows_root(path: &str) -> Option<Rooted<'_>> {
    if is_device_path(path) {
        return None;
    }
    let sep = |c: char| c == '/' || c == '\\';
    let mut chars = path.chars();
    let (first, second, third) = (chars.next(), chars.next(), chars.next());
    match (first, second, third) {
        (Some(d), Some(':'), Some(s)) if d.is_ascii_alphabetic() && sep(s) => Some(Rooted {
            root: format!("{}:", d.to_ascii_lowercase()),
            rest: &path[3..],
        }),
        (Some(a), Some(b), _) if sep(a) && sep(b) => {
            let mut parts = path[2..].splitn(3, sep);
            let server = parts.next().filter(|s| !s.is_empty())?;
            let share = parts.next().filter(|s| !s.is_empty())?;
            Some(Rooted {
                root: format!("//{server}/{share}").to_lowercase(),
                rest: parts.next().unwrap_or(""),
            })
        }
        _ => None,
    }
}

/// `\\?\…`, `\\.\…`, `\??\…` (either slash): Windows paths where `..` is not normalised.
fn is_device_path(path: &str) -> bool {
    let b = path.as_bytes();
    let sep = |c: u8| c == b'/' || c == b'\\';
    b.len() >= 4
        && sep(b[3])
        && ((sep(b[0]) && sep(b[1]) && (b[2] == b'?' || b[2] == b'.'))
            || (sep(b[0]) && b[1] == b'?' && b[2] == b'?'))
}

/// A value that is neither absolute nor relative in `style`: `\x` or `C:x` on Windows, or a device path.
fn is_rooted_or_drive_relative(value: &str, style: Style) -> bool {
    if style != Style::Windows {
        return false;
    }
    let b = value.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    is_device_path(value) || drive || value.starts_with(['/', '\\'])
}

/// `scheme://…`: a URL, not a path.
fn looks_like_url(value: &str) -> bool {
    value.split_once("://").is_some_and(|(scheme, _)| {
        scheme.len() > 1
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// Apply `path`'s components to `base`: skip empty and `.`, pop on `..` (never below the root).
fn components(path: &str, style: Style, mut base: Vec<String>) -> Vec<String> {
    for part in path.split(|c| style.is_separator(c)) {
        // Windows drops trailing spaces, so `.. ` is `..` there.
        let bare = if style == Style::Windows {
            part.trim_end_matches(' ')
        } else {
            part
        };
        match bare {
            "" | "." => {}
            ".." => {
                base.pop();
            }
            _ => base.push(part.to_owned()),
        }
    }
    base
}

/// Component equality: exact on POSIX, case-insensitive on Windows.
fn same(a: &str, b: &str, style: Style) -> bool {
    match style {
        Style::Windows => a == b || a.to_lowercase() == b.to_lowercase(),
        Style::Posix | Style::PosixBackslash => a == b,
    }
}

#[cfg(test)]
mod tests;
