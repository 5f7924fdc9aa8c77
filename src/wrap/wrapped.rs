//! The wrapped form of a server entry: `command: <thoth>`, `args: ["run", <thoth flags>..., "--", <original
//! command>, <original args>...]`. Builds it, and reads it back (an entry written by any thoth version),
//! so an entry is never wrapped twice and `--unwrap` finds the original.

/// thoth's own flags in a wrapped entry, in the order they are written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunFlags {
    pub agent_id: Option<String>,
    pub tenant_id: Option<String>,
    pub enforcement_mode: Option<String>,
    pub session_intent: Option<String>,
    /// Other flags found in an existing entry (`--policy X`, `--approved-scope Y`...), kept as they were.
    pub other: Vec<String>,
}

/// A wrapped entry taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrapped {
    pub flags: RunFlags,
    pub command: String,
    pub args: Vec<String>,
}

/// Flags of `thoth run` that take a value (so the value is not mistaken for the `--` separator's neighbour).
const VALUE_FLAGS: &[&str] = &[
    "--agent-id",
    "--tenant-id",
    "--enforcement-mode",
    "--session-intent",
    "--policy",
    "--approved-scope",
    "--step-up-wait",
    "--max-line-bytes",
    "--max-pending",
    "--shutdown-grace-ms",
    "--log-level",
    "--log-file",
    "--lock",
    "--lock-mode",
    "--lock-pubkey",
    // `thoth run --url` (issue 18).
    "--url",
    "--header",
    "--transport",
];

/// Does this `thoth run` flag take a value?
pub fn takes_value(flag: &str) -> bool {
    VALUE_FLAGS.contains(&flag)
}

/// The other flags with `--lock` / `--lock-pubkey` set for `lock` (`--lock-dir` and its key), else kept.
/// Old lock flags are removed and the new ones appended last, so wrapping again changes nothing.
pub fn with_lock(
    other: &[String],
    lock: Option<&(std::path::PathBuf, Option<String>)>,
    name: &str,
) -> Vec<String> {
    let Some((dir, pubkey)) = lock else {
        return other.to_vec();
    };
    let mut out = Vec::with_capacity(other.len() + 4);
    let mut rest = other.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--lock" | "--lock-pubkey" => {
                rest.next();
            }
            a if a.starts_with("--lock=") || a.starts_with("--lock-pubkey=") => {}
            _ => out.push(arg.clone()),
        }
    }
    let file = dir.join(format!("{}.lock.json", agent_id_for(None, name)));
    out.push("--lock".into());
    out.push(file.to_string_lossy().into_owned());
    if let Some(key) = pubkey {
        out.push("--lock-pubkey".into());
        out.push(key.clone());
    }
    out
}

/// Is this command a thoth binary (any path, any version)? `thoth`, `thoth.exe`, `/opt/x/bin/thoth`.
pub fn is_thoth_binary(command: &str) -> bool {
    let name = command.rsplit(['/', '\\']).next().unwrap_or(command);
    let name = name.to_ascii_lowercase();
    name == "thoth" || name == "thoth.exe"
}

/// Does this entry run `thoth run`? (Governed, whether or not the rest can be taken apart.)
pub fn runs_thoth(command: &str, args: &[String]) -> bool {
    is_thoth_binary(command) && args.first().map(String::as_str) == Some("run")
}

/// Take a wrapped entry apart; `None` when it is not `thoth run ... -- <command> ...`.
pub fn parse(command: &str, args: &[String]) -> Option<Wrapped> {
    if !runs_thoth(command, args) {
        return None;
    }
    let mut flags = RunFlags::default();
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        if arg == "--" {
            let command = rest.next()?.clone();
            return Some(Wrapped {
                flags,
                command,
                args: rest.cloned().collect(),
            });
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let takes_value = VALUE_FLAGS.contains(&name);
        let value = match (&inline, takes_value) {
            (Some(v), _) => Some(v.clone()),
            (None, true) => Some(rest.next()?.clone()),
            (None, false) => None,
        };
        let slot = match name {
            "--agent-id" => &mut flags.agent_id,
            "--tenant-id" => &mut flags.tenant_id,
            "--enforcement-mode" => &mut flags.enforcement_mode,
            "--session-intent" => &mut flags.session_intent,
            _ => {
                flags.other.push(arg.clone());
                if inline.is_none() {
                    flags.other.extend(value);
                }
                continue;
            }
        };
        *slot = value;
    }
    None
}

/// `other` flags without the named ones (and their values): (kept, dropped).
pub fn drop_flags(other: &[String], names: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut kept, mut dropped) = (Vec::new(), Vec::new());
    let mut rest = other.iter();
    while let Some(arg) = rest.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, _)) if name.starts_with("--") => (name, true),
            _ => (arg.as_str(), false),
        };
        let value = (!inline && VALUE_FLAGS.contains(&name))
            .then(|| rest.next())
            .flatten();
        let out = if names.iter().any(|n| n == name) {
            &mut dropped
        } else {
            &mut kept
        };
        out.push(arg.clone());
        out.extend(value.cloned());
    }
    (kept, dropped)
}

/// The `args` of a wrapped entry.
pub fn build_args(flags: &RunFlags, command: &str, args: &[String]) -> Vec<String> {
    let mut out = vec!["run".to_owned()];
    let pairs = [
        ("--agent-id", &flags.agent_id),
        ("--tenant-id", &flags.tenant_id),
        ("--enforcement-mode", &flags.enforcement_mode),
        ("--session-intent", &flags.session_intent),
    ];
    for (name, value) in pairs {
        if let Some(value) = value {
            out.push(name.to_owned());
            out.push(value.clone());
        }
    }
    out.extend(flags.other.iter().cloned());
    out.push("--".to_owned());
    out.push(command.to_owned());
    out.extend(args.iter().cloned());
    out
}

/// An agent id from a server name, valid for `thoth run --agent-id` (ASCII letters, digits, `.`, `_`, `-`, at
/// most 128): anything else becomes one `-`.
pub fn agent_id_for(prefix: Option<&str>, name: &str) -> String {
    let raw = format!("{}{name}", prefix.unwrap_or(""));
    let mut id = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            c
        } else {
            '-'
        };
        if (c == '-' || c == '.') && id.ends_with(c) {
            continue;
        }
        id.push(c);
    }
    let id: String = id.trim_matches(['-', '.']).chars().take(128).collect();
    crate::settings::validate::id(&id).unwrap_or_else(|_| "server".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn builds_and_parses_back() {
        let flags = RunFlags {
            agent_id: Some("fs".into()),
            tenant_id: Some("acme".into()),
            enforcement_mode: Some("block".into()),
            session_intent: Some("coding".into()),
            other: vec![],
        };
        let args = build_args(&flags, "npx", &strings(&["-y", "--", "x"]));
        assert_eq!(
            args,
            strings(&[
                "run",
                "--agent-id",
                "fs",
                "--tenant-id",
                "acme",
                "--enforcement-mode",
                "block",
                "--session-intent",
                "coding",
                "--",
                "npx",
                "-y",
                "--",
                "x"
            ])
        );
        let parsed = parse("/usr/local/bin/thoth", &args).unwrap();
        assert_eq!(parsed.flags, flags);
        assert_eq!(parsed.command, "npx");
        assert_eq!(parsed.args, strings(&["-y", "--", "x"]));
    }

    #[test]
    fn older_entries_with_other_flags_and_inline_values() {
        let args = strings(&[
            "run",
            "--agent-id=a",
            "--policy",
            "/p.json",
            "--approved-scope=x,y",
            "--",
            "node",
            "s.js",
        ]);
        let parsed = parse("C:\\Program Files\\Thoth\\THOTH.EXE", &args).unwrap();
        assert_eq!(parsed.flags.agent_id.as_deref(), Some("a"));
        assert_eq!(
            parsed.flags.other,
            strings(&["--policy", "/p.json", "--approved-scope=x,y"])
        );
        assert_eq!(parsed.command, "node");
    }

    #[test]
    fn managed_flags_are_dropped_with_their_values() {
        let other = strings(&[
            "--policy",
            "/p.json",
            "--approved-scope=x",
            "--max-pending",
            "9",
            "--approved-scope",
            "y",
        ]);
        let names = strings(&["--policy", "--approved-scope"]);
        let (kept, dropped) = drop_flags(&other, &names);
        assert_eq!(kept, strings(&["--max-pending", "9"]));
        assert_eq!(
            dropped,
            strings(&[
                "--policy",
                "/p.json",
                "--approved-scope=x",
                "--approved-scope",
                "y"
            ])
        );
    }

    #[test]
    fn not_wrapped() {
        assert!(parse("npx", &strings(&["run", "--", "x"])).is_none());
        assert!(parse("thoth", &strings(&["doctor"])).is_none());
        assert!(parse("thoth", &strings(&["run", "--agent-id", "a"])).is_none());
        assert!(parse("thoth", &strings(&["run", "--"])).is_none());
        assert!(!is_thoth_binary("/usr/bin/thoth-helper"));
        assert!(runs_thoth("thoth", &strings(&["run"])));
    }

    #[test]
    fn agent_ids_are_valid() {
        assert_eq!(agent_id_for(None, "filesystem"), "filesystem");
        assert_eq!(agent_id_for(Some("acme-"), "My Server ✓"), "acme-My-Server");
        assert_eq!(agent_id_for(None, "✓"), "server");
        assert_eq!(agent_id_for(None, "données — café ☕"), "donn-es-caf");
        assert_eq!(agent_id_for(None, "..a..b"), "a.b");
        assert_eq!(agent_id_for(None, &"x".repeat(300)).len(), 128);
    }
}
