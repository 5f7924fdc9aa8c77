//! The Jamf and Intune kits (mdm/): the settings files generated from the managed schema, every shell script
//! clean under shellcheck and run here against the built binary, every PowerShell script through a static
//! check and the Intune host rules (32-bit host, SYSTEM's environment, ProfileList). Issue 13.
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::packages::{ensure_tools, run, text, UPGRADE_CODE};
use crate::support::{repo_root, thoth_bin};

const REG_KEY: &str = r"Software\Policies\AtenSecurity\Thoth";

fn schema_keys() -> BTreeMap<String, Vec<String>> {
    let schema: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("schemas/managed-settings.schema.json")).unwrap(),
    )
    .unwrap();
    schema["properties"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let types = match &v["type"] {
                Value::String(t) => vec![t.clone()],
                Value::Array(a) => a.iter().map(|t| t.as_str().unwrap().to_owned()).collect(),
                _ => vec![],
            };
            (k.clone(), types)
        })
        .collect()
}

fn gen_mdm() -> Command {
    let exe = thoth_bin()
        .parent()
        .unwrap()
        .join("examples")
        .join("gen-mdm");
    assert!(
        exe.exists(),
        "{} not built (cargo test builds examples)",
        exe.display()
    );
    Command::new(exe)
}

#[test]
fn generated_mdm_files_are_up_to_date_with_the_managed_schema() {
    let out = gen_mdm().arg("--check").output().unwrap();
    assert!(
        out.status.success(),
        "{}\n(run installers/gen-mdm.sh and commit the result)",
        text(&out.stderr)
    );
}

/// A key of each type added to a copy of the schema shows up in every generated file, and --check notices
/// files that predate it.
#[test]
fn the_generator_covers_new_keys_of_every_type() {
    let root = tempfile::tempdir().unwrap();
    let mut schema: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("schemas/managed-settings.schema.json")).unwrap(),
    )
    .unwrap();
    let added = [
        ("THOTH_NEW_TEXT", serde_json::json!("string"), "string"),
        (
            "THOTH_NEW_COUNT",
            serde_json::json!(["integer", "string"]),
            "integer",
        ),
        (
            "THOTH_NEW_FLAG",
            serde_json::json!(["boolean", "string"]),
            "boolean",
        ),
    ];
    for (name, ty, _) in &added {
        schema["properties"][name] =
            serde_json::json!({"type": ty, "description": format!("{name} & <test>")});
    }
    std::fs::create_dir_all(root.path().join("schemas")).unwrap();
    std::fs::write(
        root.path().join("schemas/managed-settings.schema.json"),
        serde_json::to_string_pretty(&schema).unwrap(),
    )
    .unwrap();
    let check = gen_mdm()
        .arg("--check")
        .arg("--root")
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    assert!(
        text(&check.stderr).contains("gen-mdm.sh"),
        "{}",
        text(&check.stderr)
    );
    run(gen_mdm().arg("--root").arg(root.path()));
    run(gen_mdm().arg("--check").arg("--root").arg(root.path()));
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(root.path().join("mdm/jamf/com.atensecurity.thoth.json")).unwrap(),
    )
    .unwrap();
    let admx = std::fs::read_to_string(root.path().join("mdm/intune/admx/Thoth.admx")).unwrap();
    let adml =
        std::fs::read_to_string(root.path().join("mdm/intune/admx/en-US/Thoth.adml")).unwrap();
    let profile = std::fs::read_to_string(
        root.path()
            .join("mdm/jamf/com.atensecurity.thoth.mobileconfig"),
    )
    .unwrap();
    roxmltree::Document::parse(&admx).unwrap();
    roxmltree::Document::parse(&adml).unwrap();
    plist::Value::from_reader_xml(profile.as_bytes()).unwrap();
    for (name, _, form) in added {
        assert_eq!(manifest["properties"][name]["type"], form);
        assert!(
            admx.contains(&format!("valueName=\"{name}\"")),
            "{name} in the ADMX"
        );
        assert!(
            adml.contains(&format!("{name} &amp; &lt;test&gt;")),
            "{name} explained, escaped"
        );
        assert!(
            profile.contains(&format!("<key>{name}</key>")),
            "{name} listed in the profile"
        );
    }
}

#[test]
fn the_profile_sets_only_managed_keys_with_allowed_types() {
    let path = repo_root().join("mdm/jamf/com.atensecurity.thoth.mobileconfig");
    let raw = std::fs::read_to_string(&path).unwrap();
    let profile = plist::Value::from_reader_xml(raw.as_bytes()).unwrap();
    let top = profile.as_dictionary().unwrap();
    assert_eq!(top["PayloadType"].as_string(), Some("Configuration"));
    assert!(top["PayloadIdentifier"].as_string().is_some());
    assert!(top["PayloadDisplayName"].as_string().is_some());
    assert!(top["PayloadVersion"].as_signed_integer().is_some());
    let content = top["PayloadContent"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    let payload = content[0].as_dictionary().unwrap();
    assert_eq!(
        payload["PayloadType"].as_string(),
        Some("com.atensecurity.thoth")
    );
    assert!(payload["PayloadVersion"].as_signed_integer().is_some());
    let uuids: BTreeSet<&str> = [&top["PayloadUUID"], &payload["PayloadUUID"]]
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect();
    assert_eq!(uuids.len(), 2, "distinct PayloadUUIDs");
    for u in &uuids {
        assert!(uuid::Uuid::parse_str(u).is_ok(), "{u}");
    }
    let keys = schema_keys();
    let mut set = 0;
    for (k, v) in payload.iter().filter(|(k, _)| !k.starts_with("Payload")) {
        let types = keys
            .get(k)
            .unwrap_or_else(|| panic!("{k} is not a managed setting"));
        let ty = match v {
            plist::Value::String(_) => "string",
            plist::Value::Boolean(_) => "boolean",
            plist::Value::Integer(_) => "integer",
            other => panic!("{k}: unexpected {other:?}"),
        };
        assert!(types.iter().any(|t| t == ty), "{k}: {ty} not in {types:?}");
        set += 1;
    }
    assert!(set > 0);
    assert_eq!(
        payload["THOTH_JAMF_COMPUTER_ID"].as_string(),
        Some("$JSSID")
    );
    for k in keys.keys() {
        assert!(
            raw.contains(&format!("<key>{k}</key>")),
            "{k} is not in the profile (set or listed)"
        );
    }
}

#[test]
fn the_jamf_manifest_properties_are_exactly_the_managed_keys() {
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("mdm/jamf/com.atensecurity.thoth.json")).unwrap(),
    )
    .unwrap();
    assert!(manifest["title"].as_str().is_some());
    let props = manifest["properties"].as_object().unwrap();
    let keys = schema_keys();
    assert_eq!(
        props.keys().cloned().collect::<BTreeSet<_>>(),
        keys.keys().cloned().collect()
    );
    for (k, p) in props {
        assert!(
            p["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{k} title"
        );
        assert!(
            p["description"].as_str().is_some_and(|t| !t.is_empty()),
            "{k} description"
        );
        let ty = p["type"]
            .as_str()
            .unwrap_or_else(|| panic!("{k}: one type"));
        assert!(
            keys[k].iter().any(|t| t == ty),
            "{k}: {ty} not in {:?}",
            keys[k]
        );
    }
}

#[test]
fn the_admx_and_adml_are_consistent_policy_definitions() {
    let admx_text =
        std::fs::read_to_string(repo_root().join("mdm/intune/admx/Thoth.admx")).unwrap();
    let adml_text =
        std::fs::read_to_string(repo_root().join("mdm/intune/admx/en-US/Thoth.adml")).unwrap();
    let admx = roxmltree::Document::parse(&admx_text).unwrap();
    let adml = roxmltree::Document::parse(&adml_text).unwrap();
    assert_eq!(admx.root_element().tag_name().name(), "policyDefinitions");
    assert_eq!(
        adml.root_element().tag_name().name(),
        "policyDefinitionResources"
    );
    let tag = |doc: &'_ roxmltree::Document<'_>, name: &str| -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name(name))
            .map(|n| format!("{:?}", n.id()))
            .collect()
    };
    let target = admx
        .descendants()
        .find(|n| n.has_tag_name("target"))
        .expect("<target>");
    assert!(target.attribute("namespace").is_some_and(|n| !n.is_empty()));
    assert!(admx
        .descendants()
        .any(|n| n.has_tag_name("resources") && n.attribute("minRequiredRevision").is_some()));
    assert!(tag(&admx, "multiText").is_empty() && tag(&admx, "list").is_empty());
    let prefixes: BTreeSet<&str> = admx
        .descendants()
        .filter(|n| n.has_tag_name("using"))
        .filter_map(|n| n.attribute("prefix"))
        .collect();
    let categories: BTreeSet<&str> = admx
        .descendants()
        .filter(|n| n.has_tag_name("category"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    let supported: BTreeSet<&str> = admx
        .descendants()
        .filter(|n| n.has_tag_name("definition"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    let defined_ref = |r: &str, local: &BTreeSet<&str>| match r.split_once(':') {
        Some((prefix, _)) => prefixes.contains(prefix),
        None => local.contains(r),
    };
    let strings: BTreeSet<&str> = adml
        .descendants()
        .filter(|n| n.has_tag_name("string"))
        .filter_map(|n| n.attribute("id"))
        .collect();
    let presentations: BTreeMap<&str, BTreeSet<&str>> = adml
        .descendants()
        .filter(|n| n.has_tag_name("presentation"))
        .map(|n| {
            (
                n.attribute("id").unwrap(),
                n.descendants()
                    .filter_map(|c| c.attribute("refId"))
                    .collect(),
            )
        })
        .collect();
    for r in admx_text.split("$(string.").skip(1) {
        let id = &r[..r.find(')').unwrap()];
        assert!(
            strings.contains(id),
            "$(string.{id}) not in the ADML stringTable"
        );
    }
    let mut value_names = Vec::new();
    for p in admx.descendants().filter(|n| n.has_tag_name("policy")) {
        let name = p.attribute("name").expect("policy name");
        assert!(
            matches!(p.attribute("class"), Some("Machine" | "User" | "Both")),
            "{name} class"
        );
        assert!(p.attribute("displayName").is_some(), "{name} displayName");
        assert_eq!(p.attribute("key"), Some(REG_KEY), "{name} key");
        value_names.extend(p.attribute("valueName").map(str::to_owned));
        for c in p.descendants().filter(|n| n.has_tag_name("parentCategory")) {
            assert!(
                defined_ref(c.attribute("ref").unwrap(), &categories),
                "{name} parentCategory"
            );
        }
        for c in p.descendants().filter(|n| n.has_tag_name("supportedOn")) {
            assert!(
                defined_ref(c.attribute("ref").unwrap(), &supported),
                "{name} supportedOn"
            );
        }
        let elements: BTreeSet<&str> = p
            .descendants()
            .filter(|n| n.is_element() && n.parent().is_some_and(|x| x.has_tag_name("elements")))
            .map(|e| {
                if let Some(k) = e.attribute("key") {
                    assert_eq!(k, REG_KEY, "{name} element key");
                }
                value_names.extend(e.attribute("valueName").map(str::to_owned));
                e.attribute("id").expect("element id")
            })
            .collect();
        match p.attribute("presentation") {
            Some(pres) => {
                let id = pres
                    .trim_start_matches("$(presentation.")
                    .trim_end_matches(')');
                assert_eq!(
                    presentations.get(id),
                    Some(&elements),
                    "{name}: presentation refIds"
                );
            }
            None => assert!(
                elements.is_empty(),
                "{name}: elements without a presentation"
            ),
        }
    }
    let unique: BTreeSet<String> = value_names.iter().cloned().collect();
    assert_eq!(unique.len(), value_names.len(), "a valueName twice");
    assert_eq!(
        unique,
        schema_keys().keys().cloned().collect::<BTreeSet<_>>()
    );
}

fn scripts(ext_or_shebang: fn(&Path, &str) -> bool) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut all = Vec::new();
    for d in ["mdm", "installers", "pkg"] {
        walk(&repo_root().join(d), &mut all);
    }
    all.retain(|p| {
        let head = std::fs::read(p).unwrap_or_default();
        let first = String::from_utf8_lossy(&head[..head.len().min(64)])
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        ext_or_shebang(p, &first)
    });
    all.sort();
    all
}

fn is_shell(p: &Path, first: &str) -> bool {
    p.extension().is_some_and(|e| e == "sh")
        || (first.starts_with("#!")
            && ["/sh", "/bash", "env sh", "env bash"]
                .iter()
                .any(|s| first.contains(s)))
}

#[test]
fn every_shell_script_is_shellcheck_clean() {
    ensure_tools();
    let all = scripts(is_shell);
    assert!(all.len() >= 15, "{all:?}");
    assert!(all.iter().any(|p| p.ends_with("pkg/scripts/postinstall")));
    for p in all {
        let out = Command::new("shellcheck")
            .arg("-x")
            .arg(&p)
            .current_dir(p.parent().unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}:\n{}",
            p.display(),
            text(&out.stdout)
        );
    }
}

/// What Windows PowerShell 5.1 needs of a script, checked without PowerShell: brackets, strings and
/// here-strings balanced, none of PowerShell 7's `&&`, `||`, `??` outside strings and comments.
fn ps_static_check(src: &str) -> Result<(), String> {
    let chars: Vec<char> = src.chars().collect();
    let mut stack: Vec<(char, usize)> = Vec::new();
    let line_of = |i: usize| chars[..i].iter().filter(|c| **c == '\n').count() + 1;
    let mut i = 0;
    let at_line_start = |i: usize| i == 0 || chars[i - 1] == '\n';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '<' if next == Some('#') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == '#' && chars[j + 1] == '>');
                i = end.ok_or(format!("line {}: block comment never closed", line_of(i)))? + 2;
                continue;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '@' if matches!(next, Some('\'' | '"')) => {
                let q = next.unwrap();
                let rest: String = chars[i + 2..].iter().take_while(|c| **c != '\n').collect();
                if rest.trim().is_empty() {
                    let start = i;
                    i += 2;
                    loop {
                        if i + 1 >= chars.len() {
                            return Err(format!(
                                "line {}: here-string never closed",
                                line_of(start)
                            ));
                        }
                        if at_line_start(i) && chars[i] == q && chars[i + 1] == '@' {
                            i += 2;
                            break;
                        }
                        i += 1;
                    }
                    continue;
                }
            }
            '\'' | '"' => {
                let start = i;
                i += 1;
                loop {
                    let Some(&d) = chars.get(i) else {
                        return Err(format!("line {}: string never closed", line_of(start)));
                    };
                    if c == '"' && d == '`' {
                        i += 2;
                        continue;
                    }
                    if d == c {
                        if chars.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            '`' => {
                i += 2;
                continue;
            }
            '(' | '[' | '{' => stack.push((c, i)),
            ')' | ']' | '}' => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                match stack.pop() {
                    Some((open, _)) if open == want => {}
                    _ => return Err(format!("line {}: unbalanced {c}", line_of(i))),
                }
            }
            '&' | '|' | '?' if next == Some(c) => {
                return Err(format!(
                    "line {}: `{c}{c}` is PowerShell 7 only",
                    line_of(i)
                ));
            }
            _ => {}
        }
        i += 1;
    }
    match stack.pop() {
        Some((open, at)) => Err(format!("line {}: {open} never closed", line_of(at))),
        None => Ok(()),
    }
}

#[test]
fn the_powershell_check_rejects_what_windows_powershell_cannot_run() {
    for good in [
        "if ($a) { Write-Output 'x && y' }",
        "$s = \"a `\" b $($x.Y) c\" # || in a comment",
        "$h = @'\nraw ( [ && ||\n'@\nWrite-Output $h",
        "<# block ?? #> $a = @(1, 2)[0]",
        "$q = 'it''s'",
    ] {
        assert_eq!(ps_static_check(good), Ok(()), "{good}");
    }
    for bad in [
        "if ($a) { Write-Output 'x'",
        "$a = (1 + 2))",
        "$a = 'never closed",
        "$h = @\"\nno end\n",
        "& a.exe && exit 0",
        "a || b",
        "$x = $y ?? 1",
        "$a = [int(3]",
    ] {
        assert!(ps_static_check(bad).is_err(), "{bad:?} passed");
    }
}

fn powershell_scripts() -> Vec<PathBuf> {
    let all = scripts(|p, _| p.extension().is_some_and(|e| e == "ps1"));
    assert!(all.len() >= 9, "{all:?}");
    all
}

#[test]
fn every_powershell_script_parses_and_is_ascii_or_utf8_with_bom() {
    for p in powershell_scripts() {
        let bytes = std::fs::read(&p).unwrap();
        let body = bytes
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(&bytes);
        assert!(
            body.is_ascii() || body.len() < bytes.len(),
            "{}: not ASCII and no BOM",
            p.display()
        );
        let src = std::str::from_utf8(body).unwrap();
        if let Err(e) = ps_static_check(src) {
            panic!("{}: {e}", p.display());
        }
        // Where PowerShell exists, its own parser has the last word.
        if Command::new("pwsh")
            .arg("-Version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            let script = format!(
                "$e = $null; [void][System.Management.Automation.Language.Parser]::ParseFile('{}', [ref]$null, [ref]$e); if ($e.Count) {{ $e; exit 1 }}",
                p.display()
            );
            run(Command::new("pwsh").args(["-NoProfile", "-Command", &script]));
        }
    }
}

#[test]
fn intune_scripts_find_thoth_in_the_64_bit_view_and_users_through_profile_list() {
    let forbidden = [
        "$env:programfiles",
        "${env:programfiles}",
        "getenvironmentvariable('programfiles",
        "getenvironmentvariable(\"programfiles",
        "c:\\users",
        "$env:systemdrive\\users",
        "split-path $env:public",
        "$env:appdata",
        "$env:localappdata",
        "$env:userprofile",
        "$env:homepath",
    ];
    for p in powershell_scripts() {
        let src = std::fs::read_to_string(&p).unwrap().to_lowercase();
        let name = p.display();
        for f in forbidden {
            assert!(!src.contains(f), "{name} uses {f}");
        }
        assert!(
            !(src.contains("getfolderpath") && src.contains("programfiles")),
            "{name}: GetFolderPath"
        );
        assert!(
            !src.match_indices("$home")
                .any(|(i, _)| !src[i + 5..].starts_with(|c: char| c.is_alphanumeric())),
            "{name} uses $HOME"
        );
        let registry64 = src.contains("[microsoft.win32.registryview]::registry64");
        if src.contains("thoth.exe") {
            assert!(
                src.contains("$env:programw6432") || registry64,
                "{name} names thoth.exe"
            );
        }
        if src.contains(r"atensecurity\thoth\installer") {
            assert!(
                registry64,
                "{name} reads the Installer key outside the 64-bit view"
            );
        }
        if ["appdata", "\\claude", "claude_desktop_config"]
            .iter()
            .any(|s| src.contains(s))
        {
            assert!(
                src.contains("profilelist") && src.contains("profileimagepath"),
                "{name}: a profile not through ProfileList"
            );
        }
    }
}

#[test]
fn intune_detection_decides_on_the_installed_version_only() {
    let src = std::fs::read_to_string(repo_root().join("mdm/intune/detect.ps1"))
        .unwrap()
        .to_lowercase();
    for word in [
        "health",
        "status",
        "wrap-config",
        "checkin",
        "doctor",
        "govern",
    ] {
        assert!(!src.contains(word), "detect.ps1 mentions {word}");
    }
    assert!(src.contains("--version") && src.contains("$packagedversion"));
}

#[test]
fn intune_uninstall_unwraps_first_and_names_only_the_upgrade_code() {
    let src = std::fs::read_to_string(repo_root().join("mdm/intune/uninstall.ps1")).unwrap();
    let unwrap = src
        .find("wrap-config --unwrap")
        .expect("wrap-config --unwrap");
    let msiexec = src
        .find("msiexec.exe -ArgumentList \"/x")
        .expect("msiexec /x");
    assert!(unwrap < msiexec, "unwrap before msiexec /x");
    let guid = regex_guids(&src);
    assert_eq!(
        guid,
        [UPGRADE_CODE.to_owned()],
        "the only GUID is the UpgradeCode"
    );
    let wxs = std::fs::read_to_string(repo_root().join("wix/thoth.wxs")).unwrap();
    assert!(wxs.contains(&format!(
        "UpgradeCode=\"{}\"",
        UPGRADE_CODE.trim_matches(|c| c == '{' || c == '}')
    )));
}

/// Every GUID-shaped run of text (8-4-4-4-12 hex digits), with braces when it has them.
fn regex_guids(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let shape = [8, 4, 4, 4, 12];
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let mut j = i;
        let ok = shape.iter().enumerate().all(|(n, len)| {
            let run = b[j..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
            if run != *len {
                return false;
            }
            j += len;
            if n < 4 {
                if b.get(j) != Some(&b'-') {
                    return false;
                }
                j += 1;
            }
            true
        });
        if ok && (i == 0 || !b[i - 1].is_ascii_hexdigit()) {
            let braced = i > 0 && b[i - 1] == b'{' && b.get(j) == Some(&b'}');
            out.push(if braced {
                format!("{{{}}}", &src[i..j])
            } else {
                src[i..j].to_owned()
            });
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// `sh SCRIPT ARGS...` with a clean environment and a temp HOME, thoth at THOTH_BIN.
fn sh(home: &Path, bin: &Path, script: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg(repo_root().join(script))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("USER", "tester")
        .env("THOTH_ENV", "dev")
        .env("THOTH_BIN", bin)
        .output()
        .unwrap()
}

fn one_line(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout:?}");
    lines[0].to_owned()
}

/// A root-owned copy of thoth in a folder only root can write, and one in a folder anyone can write.
fn binaries(dir: &Path) -> (PathBuf, PathBuf) {
    let safe = dir.join("safe");
    let open = dir.join("open");
    for (d, mode) in [(&safe, 0o755), (&open, 0o777)] {
        std::fs::create_dir(d).unwrap();
        std::fs::copy(thoth_bin(), d.join("thoth")).unwrap();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    (safe.join("thoth"), open.join("thoth"))
}

#[test]
fn jamf_extension_attributes_print_one_result_line_installed_or_missing() {
    let home = tempfile::tempdir().unwrap();
    let (safe, open) = binaries(home.path());
    let eas: Vec<PathBuf> = std::fs::read_dir(repo_root().join("mdm/jamf"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("ea-"))
        .collect();
    assert!(eas.len() >= 4);
    for ea in eas {
        let rel = ea
            .strip_prefix(repo_root())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let line = one_line(&sh(home.path(), &safe, &rel, &[]));
        assert!(
            line.starts_with("<result>") && line.ends_with("</result>"),
            "{rel}: {line}"
        );
        let value = &line[8..line.len() - 9];
        match rel.as_str() {
            "mdm/jamf/ea-version.sh" => assert_eq!(value, env!("CARGO_PKG_VERSION")),
            "mdm/jamf/ea-health-status.sh" => {
                assert!(["healthy", "degraded", "unhealthy"].contains(&value))
            }
            "mdm/jamf/ea-governed.sh" => assert!(["true", "false"].contains(&value), "{value}"),
            "mdm/jamf/ea-last-checkin.sh" => assert_eq!(value, "", "never checked in"),
            _ => {}
        }
        for missing in [home.path().join("nowhere/thoth"), open.clone()] {
            let out = sh(home.path(), &missing, &rel, &[]);
            assert_eq!(
                one_line(&out),
                "<result></result>",
                "{rel} with {}",
                missing.display()
            );
        }
        assert!(text(&sh(home.path(), &open, &rel, &[]).stderr).contains("refusing"));
    }
}

#[test]
fn intune_mac_custom_attributes_print_a_bare_value() {
    let home = tempfile::tempdir().unwrap();
    let (safe, open) = binaries(home.path());
    let version = one_line(&sh(
        home.path(),
        &safe,
        "mdm/intune/macos/ca-version.sh",
        &[],
    ));
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let status = one_line(&sh(
        home.path(),
        &safe,
        "mdm/intune/macos/ca-health-status.sh",
        &[],
    ));
    assert!(["healthy", "degraded", "unhealthy"].contains(&status.as_str()));
    for ca in [
        "ca-version.sh",
        "ca-health-status.sh",
        "ca-governed.sh",
        "ca-last-checkin.sh",
    ] {
        let rel = format!("mdm/intune/macos/{ca}");
        assert!(
            !one_line(&sh(home.path(), &safe, &rel, &[])).contains('<'),
            "{rel}"
        );
        assert_eq!(one_line(&sh(home.path(), &open, &rel, &[])), "");
    }
}

fn claude_config(home: &Path) -> PathBuf {
    let config = home.join(".config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        r#"{"mcpServers": {"plain": {"command": "uvx", "args": ["mcp-server-time"]}, "other": {"command": "npx", "args": ["x"]}}}"#,
    )
    .unwrap();
    config
}

#[test]
fn the_jamf_policy_script_documents_and_uses_every_parameter() {
    let src = std::fs::read_to_string(repo_root().join("mdm/jamf/policy-install.sh")).unwrap();
    let header: Vec<&str> = src.lines().take_while(|l| l.starts_with('#')).collect();
    let code: String = src
        .lines()
        .skip(header.len())
        .collect::<Vec<_>>()
        .join("\n");
    for (param, topic) in [
        ("$4", "tenant"),
        ("$5", "apex domain"),
        ("$6", "enforcement mode"),
        ("$7", "environment"),
        ("$8", "fleet"),
        ("$9", ""),
        ("$10", ""),
        ("$11", "extra flags"),
    ] {
        let line = header
            .iter()
            .find(|l| {
                l.trim_start_matches('#')
                    .trim_start()
                    .starts_with(&format!("{param} "))
            })
            .unwrap_or_else(|| panic!("{param} is not documented"));
        assert!(line.contains(topic), "{line}");
        // Two-digit parameters exist only in braces ("$10" is "$1" then "0").
        let read = match param {
            "$10" | "$11" => format!("\"${{{}}}\"", &param[1..]),
            p => format!("\"{p}\""),
        };
        assert!(code.contains(&read), "{param} is never read as {read}");
    }

    let home = tempfile::tempdir().unwrap();
    let (safe, _) = binaries(home.path());
    let config = claude_config(home.path());
    let args = [
        "/",
        "mac-001",
        "",
        "acme",
        "example.org",
        "observe",
        "staging",
        "fleet-7",
        "jamf-",
        "no",
        "--exclude other",
    ];
    let out = sh(home.path(), &safe, "mdm/jamf/policy-install.sh", &args);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    let plain = &v["mcpServers"]["plain"];
    assert_eq!(plain["command"], safe.to_str().unwrap());
    let a: Vec<&str> = plain["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    for pair in [
        ["--agent-id", "jamf-plain"],
        ["--tenant-id", "acme"],
        ["--enforcement-mode", "observe"],
    ] {
        assert!(a.windows(2).any(|w| w == pair), "{pair:?} in {a:?}");
    }
    assert_eq!(plain["env"]["THOTH_APEX_DOMAIN"], "example.org");
    assert_eq!(plain["env"]["THOTH_ENV"], "staging");
    assert_eq!(plain["env"]["THOTH_FLEET_ID"], "fleet-7");
    assert_eq!(
        v["mcpServers"]["other"]["command"], "npx",
        "${{11}} --exclude other"
    );
    assert!(
        !text(&out.stdout).contains("check-in"),
        "${{10}} no: no check-in"
    );
}

#[test]
fn the_jamf_policy_script_does_nothing_for_system_users() {
    let home = tempfile::tempdir().unwrap();
    let (safe, open) = binaries(home.path());
    let config = claude_config(home.path());
    let before = std::fs::read(&config).unwrap();
    for user in ["root", "_mbsetupuser", "loginwindow", "daemon"] {
        let out = sh(
            home.path(),
            &safe,
            "mdm/jamf/policy-install.sh",
            &["/", "mac", user, "acme"],
        );
        assert_eq!(out.status.code(), Some(0), "{user}");
        assert!(
            text(&out.stdout).contains("nothing to do"),
            "{user}: {}",
            text(&out.stdout)
        );
    }
    let out = sh(
        home.path(),
        &open,
        "mdm/jamf/policy-install.sh",
        &["/", "mac", "", "acme"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("refusing"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(std::fs::read(&config).unwrap(), before);
}

#[test]
fn the_intune_mac_setup_script_wraps_the_console_users_config() {
    let home = tempfile::tempdir().unwrap();
    let (safe, _) = binaries(home.path());
    let config = claude_config(home.path());
    let out = sh(home.path(), &safe, "mdm/intune/macos/thoth-setup.sh", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert_eq!(v["mcpServers"]["plain"]["command"], safe.to_str().unwrap());
}

/// uninstall.sh gives every user's config back byte for byte before removing the binary; if one cannot be
/// given back, nothing is removed.
#[test]
fn jamf_uninstall_unwraps_every_user_then_removes_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let (safe, _) = binaries(dir.path());
    std::fs::write(safe.with_file_name("thoth.previous"), b"old").unwrap();
    let homes = dir.path().join("Users");
    let mut originals = Vec::new();
    for user in ["alice", "bob smith"] {
        let cfg = homes
            .join(user)
            .join("Library/Application Support/Claude/claude_desktop_config.json");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        let body = format!("{{\n  \"mcpServers\": {{\"{user}\": {{\"command\": \"uvx\", \"args\": [\"x\"]}}}}\n}}\n");
        std::fs::write(&cfg, &body).unwrap();
        run(Command::new(&safe)
            .arg("wrap-config")
            .arg(&cfg)
            .args(["--tenant-id", "acme"])
            .env("THOTH_ENV", "dev")
            .env("HOME", dir.path()));
        assert_ne!(
            std::fs::read_to_string(&cfg).unwrap(),
            body,
            "{user} wrapped"
        );
        originals.push((cfg, body));
    }
    std::fs::create_dir_all(homes.join("carol")).unwrap();
    let homes_arg = homes.to_str().unwrap();
    let bin_arg = safe.to_str().unwrap();

    // A broken config stops the uninstall with the binary in place.
    let broken = homes.join("dave/Library/Application Support/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(broken.parent().unwrap()).unwrap();
    std::fs::write(&broken, "{ not json").unwrap();
    let out = sh(
        dir.path(),
        &safe,
        "mdm/jamf/uninstall.sh",
        &["/", "m", "", homes_arg, bin_arg],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(safe.exists());
    std::fs::remove_dir_all(homes.join("dave")).unwrap();

    let out = sh(
        dir.path(),
        &safe,
        "mdm/jamf/uninstall.sh",
        &["/", "m", "", homes_arg, bin_arg],
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    for (cfg, body) in originals {
        assert_eq!(
            std::fs::read_to_string(&cfg).unwrap(),
            body,
            "{} given back",
            cfg.display()
        );
    }
    assert!(!safe.exists() && !safe.with_file_name("thoth.previous").exists());
    // Again, with thoth gone: nothing to unwrap, still exit 0.
    let out = sh(
        dir.path(),
        &safe,
        "mdm/jamf/uninstall.sh",
        &["/", "m", "", homes_arg, bin_arg],
    );
    assert!(out.status.success());
}
