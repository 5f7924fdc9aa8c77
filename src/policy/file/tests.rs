use super::*;
use crate::hint::Hint;

fn parse_ok(text: &str) -> PolicyFile {
    parse(text, "test.json").unwrap_or_else(|e| panic!("{e}\nhint: {:?}", e.hint()))
}

/// The error's message and hint, for assertions.
fn parse_err(text: &str) -> (String, String) {
    let e = parse(text, "policy.json").expect_err("should be rejected");
    (e.to_string(), e.hint().unwrap_or_default())
}

#[test]
fn the_shipped_example_parses() {
    let text = include_str!("../../../mdm/policy.example.json");
    let file = parse_ok(text);
    assert_eq!(file.version, 1);
    assert_eq!(file.default_mode, Some(Mode::Block));
    let (key, fs) = file.agent("filesystem").expect("filesystem entry");
    assert_eq!(key, "filesystem");
    assert!(fs.intents.contains_key("code-review"));
    let move_file = &fs.arguments[&ToolGlob::new("move_file").unwrap()];
    assert_eq!(move_file.len(), 2);
    assert_eq!(move_file[0].under.len(), 2);
    assert_eq!(file.agent("slack").map(|(k, _)| k), Some("*"));
}

#[test]
fn minimal_file_and_defaults() {
    let file = parse_ok(r#"{"version": 1}"#);
    assert!(file.agents.is_empty());
    assert_eq!(file.default_mode, None);
    assert!(file.agent("anyone").is_none());
    let file = parse_ok(r#"{"version": 1, "agents": {"a": {}}}"#);
    assert_eq!(file.agents["a"], AgentPolicy::default());
}

#[test]
fn agent_falls_back_to_star_and_exact_wins() {
    let file = parse_ok(
        r#"{"version": 1, "agents": {"*": {"approved_tools": ["echo"]}, "fs": {"approved_tools": ["read_*"]}}}"#,
    );
    assert_eq!(file.agent("fs").map(|(k, _)| k), Some("fs"));
    assert_eq!(
        file.agent("FS").map(|(k, _)| k),
        Some("*"),
        "ids are case-sensitive"
    );
    assert_eq!(file.agent("other").map(|(k, _)| k), Some("*"));
}

#[test]
fn modes_parse_like_the_flag() {
    for (text, mode) in [
        ("observe", Mode::Observe),
        ("block", Mode::Block),
        ("step_up", Mode::StepUp),
        ("step-up", Mode::StepUp),
        ("progressive", Mode::Progressive),
    ] {
        let file = parse_ok(&format!(r#"{{"version": 1, "default_mode": "{text}"}}"#));
        assert_eq!(file.default_mode, Some(mode));
    }
}

#[test]
fn a_typo_is_rejected_naming_the_key_the_line_and_the_fix() {
    let text = "{\n  \"version\": 1,\n  \"agents\": {\n    \"fs\": {\n      \"approved_tool\": [\"read_file\"]\n    }\n  }\n}\n";
    let (message, hint) = parse_err(text);
    assert!(
        message.starts_with("invalid policy file policy.json:5:"),
        "{message}"
    );
    assert!(
        message.contains("unknown field `approved_tool`"),
        "{message}"
    );
    assert!(hint.contains("did you mean `approved_tools`"), "{hint}");
    assert!(
        message.contains("`denied_tools`"),
        "the message lists the valid keys: {message}"
    );
}

#[test]
fn unknown_keys_are_rejected_at_every_level() {
    for (text, key) in [
        (r#"{"version": 1, "agent": {}}"#, "agent"),
        (
            r#"{"version": 1, "agents": {"a": {"allowed": []}}}"#,
            "allowed",
        ),
        (
            r#"{"version": 1, "agents": {"a": {"arguments": {"t": [{"argument": "p", "under": "/x", "regex": "."}]}}}}"#,
            "regex",
        ),
    ] {
        let (message, hint) = parse_err(text);
        assert!(
            message.contains(&format!("unknown field `{key}`")),
            "{message}"
        );
        assert!(message.contains("policy.json:1:"), "{message}");
        assert!(!hint.is_empty());
    }
}

#[test]
fn a_bad_mode_names_the_valid_ones() {
    let (message, hint) = parse_err(r#"{"version": 1, "default_mode": "blok"}"#);
    assert!(message.contains("unknown variant `blok`"), "{message}");
    assert!(hint.contains("did you mean `block`"), "{hint}");
}

#[test]
fn version_is_required_and_must_be_1() {
    let (message, _) = parse_err(r#"{"agents": {}}"#);
    assert!(message.contains("missing field `version`"), "{message}");
    let (message, _) = parse_err("{\n\"version\": 2}");
    assert!(
        message.contains("unsupported policy version 2"),
        "{message}"
    );
    assert!(message.contains(":2:"), "names the line: {message}");
}

#[test]
fn duplicate_keys_are_rejected() {
    let (message, _) = parse_err(
        r#"{"version": 1, "agents": {"fs": {"approved_tools": ["a"]}, "fs": {"approved_tools": ["*"]}}}"#,
    );
    assert!(message.contains("duplicate key `fs`"), "{message}");
    let (message, _) = parse_err(r#"{"version": 1, "version": 1}"#);
    assert!(message.contains("duplicate field `version`"), "{message}");
    let (message, _) =
        parse_err(r#"{"version": 1, "agents": {"a": {"intents": {"x": [], "x": ["*"]}}}}"#);
    assert!(message.contains("duplicate key `x`"), "{message}");
}

#[test]
fn unsupported_glob_syntax_is_rejected() {
    for glob in ["read_[a-z]*", "{a,b}", "!write", "two words", ""] {
        let text =
            format!(r#"{{"version": 1, "agents": {{"a": {{"denied_tools": ["{glob}"]}}}}}}"#);
        let (message, _) = parse_err(&text);
        assert!(message.contains("tool glob"), "{glob}: {message}");
    }
    let text = r#"{"version": 1, "agents": {"a": {"arguments": {"bad[": []}}}}"#;
    assert!(parse_err(text).0.contains("tool glob `bad[`"));
}

#[test]
fn under_takes_one_or_many_absolute_folders() {
    let file = parse_ok(
        r#"{"version": 1, "agents": {"a": {"arguments": {
            "one": [{"argument": "path", "under": "/srv"}],
            "many": [{"argument": "options.path", "under": ["/srv", "C:\\Work", "\\\\nas\\share"]}]
        }}}}"#,
    );
    let arguments = &file.agents["a"].arguments;
    assert_eq!(
        arguments[&ToolGlob::new("one").unwrap()][0].under,
        vec!["/srv"]
    );
    let many = &arguments[&ToolGlob::new("many").unwrap()][0];
    assert_eq!(many.argument, "options.path");
    assert_eq!(many.under.len(), 3);
    for (under, needle) in [
        (r#""srv/data""#, "not absolute"),
        (r#""~/work""#, "not absolute"),
        ("[]", "at least one folder"),
        ("3", "an absolute folder or a list"),
    ] {
        let text = format!(
            r#"{{"version": 1, "agents": {{"a": {{"arguments": {{"t": [{{"argument": "p", "under": {under}}}]}}}}}}}}"#
        );
        let (message, _) = parse_err(&text);
        assert!(message.contains(needle), "{under}: {message}");
    }
}

#[test]
fn argument_paths_are_checked() {
    for argument in ["", "a..b", ".a", "a.", "1.2.3.4.5.6.7.8.9"] {
        let text = format!(
            r#"{{"version": 1, "agents": {{"a": {{"arguments": {{"t": [{{"argument": "{argument}", "under": "/x"}}]}}}}}}}}"#
        );
        let (message, _) = parse_err(&text);
        assert!(message.contains("argument"), "{argument:?}: {message}");
    }
}

#[test]
fn syntax_errors_name_the_line() {
    let (message, hint) = parse_err("{\n  \"version\": 1,\n}\n");
    assert!(
        message.starts_with("invalid policy file policy.json:3:"),
        "{message}"
    );
    assert!(hint.contains("schemas/policy.schema.json"), "{hint}");
}

#[test]
fn a_byte_order_mark_is_tolerated() {
    assert_eq!(parse_ok("\u{feff}{\"version\": 1}").version, 1);
}

#[test]
fn load_reads_files_and_names_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("policy.json");
    assert!(matches!(load(&path), Err(Error::Read { .. })));
    assert!(load_optional(&path).expect("missing is fine").is_none());
    std::fs::write(
        &path,
        r#"{"version": 1, "agents": {"a": {"approved_tools": ["x"]}}}"#,
    )
    .expect("write");
    assert_eq!(load(&path).expect("loads").agents.len(), 1);
    std::fs::write(&path, r#"{"version": 1, "agnets": {}}"#).expect("write");
    let message = load(&path).expect_err("typo").to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("`agnets`"), "{message}");
    let big = format!(
        r#"{{"version": 1, "description": "{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    std::fs::write(&path, big).expect("write");
    assert!(matches!(load(&path), Err(Error::TooLarge { .. })));
}
