use super::*;

fn call(name: &str) -> ToolCall {
    ToolCall {
        proxy_id: 0,
        name: name.to_owned(),
        arguments: None,
    }
}

fn decide(p: &mut LocalPolicy, name: &str) -> Decision {
    match p.decide(&call(name)) {
        Verdict::Ready(d) => d,
        Verdict::Pending(_) => panic!("local decisions are immediate"),
    }
}

fn scope(tools: &[&str]) -> Scope {
    Scope::Tools(tools.iter().map(|t| t.to_string()).collect())
}

#[test]
fn block_mode_allows_scope_and_blocks_the_rest() {
    let mut p = LocalPolicy::new(scope(&["echo"]), Mode::Block);
    assert_eq!(decide(&mut p, "echo"), Decision::Allow);
    assert!(matches!(decide(&mut p, "rm"), Decision::Block(r) if r.reason.contains("`rm`")));
}

#[test]
fn step_up_and_observe_modes() {
    let mut p = LocalPolicy::new(scope(&["echo"]), Mode::StepUp);
    assert!(
        matches!(decide(&mut p, "rm"), Decision::StepUp(h) if h.hold_token.starts_with("hold-"))
    );
    let mut p = LocalPolicy::new(scope(&["echo"]), Mode::Observe);
    assert_eq!(decide(&mut p, "rm"), Decision::Allow);
}

#[test]
fn progressive_warns_then_steps_up_then_blocks() {
    let mut p = LocalPolicy::new(scope(&["echo"]), Mode::Progressive);
    assert_eq!(decide(&mut p, "rm"), Decision::Allow);
    assert_eq!(
        decide(&mut p, "echo"),
        Decision::Allow,
        "in-scope calls do not count"
    );
    assert!(matches!(decide(&mut p, "rm"), Decision::StepUp(_)));
    assert!(matches!(decide(&mut p, "rm"), Decision::StepUp(_)));
    assert!(matches!(decide(&mut p, "rm"), Decision::Block(_)));
    assert!(matches!(decide(&mut p, "other"), Decision::Block(_)));
}

#[test]
fn no_policy_allows_in_dev_and_refuses_in_prod_whatever_the_mode() {
    let mut p = LocalPolicy::new(Scope::Unconfigured(Environment::Dev), Mode::Block);
    assert_eq!(decide(&mut p, "anything"), Decision::Allow);
    for env in [Environment::Staging, Environment::Prod] {
        let mut p = LocalPolicy::new(Scope::Unconfigured(env), Mode::Observe);
        assert!(
            matches!(decide(&mut p, "x"), Decision::Block(r) if r.reason.contains("no policy is configured"))
        );
    }
}

// ---- policy files --------------------------------------------------------------------------------------------

use crate::policy::file;

const POLICY: &str = r#"{
  "version": 1,
  "agents": {
    "filesystem": {
      "approved_tools": ["read_*", "list_directory", "search_files", "get_file_info"],
      "step_up_tools": ["write_file"],
      "denied_tools": ["delete_*", "read_secret"],
      "intents": { "code-review": ["read_*", "search_files"], "nothing": [] },
      "arguments": {
        "read_*": [{ "argument": "path", "under": "/Users/alice/projects" }],
        "write_file": [{ "argument": "path", "under": "/Users/alice/projects" }],
        "move_file": [
          { "argument": "source", "under": "/Users/alice/projects" },
          { "argument": "destination", "under": "/Users/alice/projects" }
        ],
        "fetch_many": [{ "argument": "paths", "under": ["/Users/alice/projects", "/tmp/scratch"] }],
        "nested": [{ "argument": "options.path", "under": "C:\\Users\\alice\\projects" }]
      }
    },
    "*": { "approved_tools": ["echo"], "denied_tools": ["crash"] }
  }
}"#;

fn policy_file() -> file::PolicyFile {
    file::parse(POLICY, "test").expect("test policy parses")
}

fn with_file(agent: &str, intent: Option<&str>, mode: Mode) -> LocalPolicy {
    LocalPolicy::from_file(&policy_file(), agent, intent, mode, &[])
}

fn call_with(name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        proxy_id: 0,
        name: name.to_owned(),
        arguments: Some(bytes::Bytes::copy_from_slice(arguments.as_bytes())),
    }
}

fn decide_with(p: &mut LocalPolicy, name: &str, arguments: &str) -> Decision {
    match p.decide(&call_with(name, arguments)) {
        Verdict::Ready(d) => d,
        Verdict::Pending(_) => panic!("local decisions are immediate"),
    }
}

/// The refusal reason, or a panic naming what was decided instead.
fn blocked(d: Decision) -> String {
    match d {
        Decision::Block(r) => r.reason,
        other => panic!("expected BLOCK, got {other:?}"),
    }
}

const INSIDE: &str = r#"{"path": "/Users/alice/projects/src/main.rs"}"#;

#[test]
fn file_globs_approve_and_the_rest_is_out_of_scope() {
    let mut p = with_file("filesystem", None, Mode::Block);
    assert_eq!(
        decide_with(&mut p, "read_text_file", INSIDE),
        Decision::Allow
    );
    assert_eq!(decide_with(&mut p, "read_file", INSIDE), Decision::Allow);
    assert_eq!(decide_with(&mut p, "list_directory", "{}"), Decision::Allow);
    let reason = blocked(decide(&mut p, "list_directory_with_sizes"));
    assert!(reason.contains("outside the approved scope"), "{reason}");
    let reason = blocked(decide(&mut p, "Read_file"));
    assert!(
        reason.contains("`Read_file`"),
        "globs are case-sensitive: {reason}"
    );
}

#[test]
fn file_star_entry_is_the_fallback_and_no_entry_approves_nothing() {
    let mut p = with_file("fixture", None, Mode::Block);
    assert_eq!(decide(&mut p, "echo"), Decision::Allow);
    assert!(matches!(decide(&mut p, "read_file"), Decision::Block(_)));
    let file = file::parse(
        r#"{"version": 1, "agents": {"other": {"approved_tools": ["*"]}}}"#,
        "t",
    )
    .unwrap();
    let mut p = LocalPolicy::from_file(&file, "fixture", None, Mode::Block, &[]);
    let reason = blocked(decide(&mut p, "echo"));
    assert!(reason.contains("no entry for agent `fixture`"), "{reason}");
    // An empty file is a policy that approves nothing, even where THOTH_ENV=dev would approve everything.
    let empty = file::parse(r#"{"version": 1}"#, "t").unwrap();
    let mut p = LocalPolicy::from_file(&empty, "fixture", None, Mode::Block, &[]);
    assert!(matches!(decide(&mut p, "echo"), Decision::Block(_)));
    let mut p = LocalPolicy::from_file(&empty, "fixture", None, Mode::StepUp, &[]);
    assert!(matches!(decide(&mut p, "echo"), Decision::StepUp(_)));
}

#[test]
fn file_extra_scope_adds_exact_names_but_not_over_denied_or_step_up() {
    let extra = [
        "list_allowed_directories".to_owned(),
        " delete_file ".into(),
        "write_file".into(),
    ];
    let mut p = LocalPolicy::from_file(&policy_file(), "filesystem", None, Mode::Block, &extra);
    assert_eq!(decide(&mut p, "list_allowed_directories"), Decision::Allow);
    assert!(blocked(decide(&mut p, "delete_file")).contains("denied"));
    let write = decide_with(&mut p, "write_file", INSIDE);
    assert!(matches!(write, Decision::StepUp(_)), "{write:?}");
    assert!(
        matches!(decide(&mut p, "list_*"), Decision::Block(_)),
        "flags are not globs"
    );
}

#[test]
fn file_intent_narrows_the_approved_set() {
    let mut p = with_file("filesystem", Some("code-review"), Mode::Block);
    assert_eq!(
        decide_with(&mut p, "read_text_file", INSIDE),
        Decision::Allow
    );
    assert_eq!(decide_with(&mut p, "search_files", "{}"), Decision::Allow);
    let reason = blocked(decide(&mut p, "list_directory"));
    assert!(reason.contains("of intent `code-review`"), "{reason}");
    // Step-up and denied lists still apply under an intent.
    assert!(matches!(
        decide_with(&mut p, "write_file", INSIDE),
        Decision::StepUp(_)
    ));
    assert!(blocked(decide(&mut p, "delete_file")).contains("denied"));
    // An empty intent approves nothing.
    let mut p = with_file("filesystem", Some("nothing"), Mode::Block);
    assert!(matches!(
        decide_with(&mut p, "read_file", INSIDE),
        Decision::Block(_)
    ));
}

#[test]
fn file_intent_cannot_widen_the_approved_set() {
    let file = file::parse(
        r#"{"version": 1, "agents": {"a": {"approved_tools": ["read_*"], "intents": {"admin": ["*"]}}}}"#,
        "t",
    )
    .unwrap();
    let mut p = LocalPolicy::from_file(&file, "a", Some("admin"), Mode::Block, &[]);
    assert_eq!(decide(&mut p, "read_x"), Decision::Allow);
    assert!(matches!(
        decide(&mut p, "drop_database"),
        Decision::Block(_)
    ));
}

#[test]
fn file_unknown_intent_counts_as_no_intent() {
    for intent in [Some("refactor"), Some("  "), None] {
        let mut p = with_file("filesystem", intent, Mode::Block);
        assert_eq!(
            decide(&mut p, "list_directory"),
            Decision::Allow,
            "{intent:?}"
        );
    }
}

#[test]
fn file_step_up_list_in_each_mode() {
    for mode in [Mode::Block, Mode::StepUp, Mode::Progressive] {
        let mut p = with_file("filesystem", None, mode);
        for _ in 0..5 {
            match decide_with(&mut p, "write_file", INSIDE) {
                Decision::StepUp(h) => assert!(h.reason.contains("`write_file` needs approval")),
                other => panic!("{mode:?}: {other:?}"),
            }
        }
        // Step-ups are not violations: progressive still warns on the first out-of-scope call.
        if mode == Mode::Progressive {
            assert_eq!(decide(&mut p, "rm"), Decision::Allow);
        }
    }
    let mut p = with_file("filesystem", None, Mode::Observe);
    assert_eq!(decide_with(&mut p, "write_file", INSIDE), Decision::Allow);
}

#[test]
fn file_denied_tools_block_in_every_mode() {
    for mode in [Mode::Observe, Mode::Block, Mode::StepUp, Mode::Progressive] {
        let mut p = with_file("filesystem", None, mode);
        let reason = blocked(decide(&mut p, "delete_file"));
        assert!(
            reason.contains("`delete_file` is denied"),
            "{mode:?}: {reason}"
        );
        assert!(reason.contains("agent `filesystem`"), "{reason}");
        // Denied wins over approved (`read_secret` matches `read_*` too).
        assert!(matches!(
            decide_with(&mut p, "read_secret", INSIDE),
            Decision::Block(_)
        ));
    }
    let mut p = with_file("anything", None, Mode::Observe);
    assert!(matches!(decide(&mut p, "crash"), Decision::Block(_)));
    assert_eq!(
        decide(&mut p, "big"),
        Decision::Allow,
        "observe forwards out-of-scope calls"
    );
}

#[test]
fn file_denied_calls_count_toward_progressive() {
    let mut p = with_file("filesystem", None, Mode::Progressive);
    assert!(matches!(decide(&mut p, "delete_file"), Decision::Block(_)));
    assert!(
        matches!(decide(&mut p, "rm"), Decision::StepUp(_)),
        "the warning was used up"
    );
}

#[test]
fn file_path_constraint_blocks_escapes() {
    for mode in [Mode::Observe, Mode::Block, Mode::StepUp, Mode::Progressive] {
        let mut p = with_file("filesystem", None, mode);
        for (tool, arguments) in [
            (
                "read_text_file",
                r#"{"path": "/Users/alice/projects/../../../etc/passwd"}"#,
            ),
            ("read_text_file", r#"{"path": "../secrets.txt"}"#),
            ("read_text_file", r#"{"path": "/etc/passwd"}"#),
            (
                "read_text_file",
                r#"{"path": "/Users/alice/projects-evil/x"}"#,
            ),
            ("read_text_file", r#"{"path": "~/.ssh/id_ed25519"}"#),
            (
                "write_file",
                r#"{"path": "/etc/cron.d/x", "content": "boom"}"#,
            ),
        ] {
            let reason = blocked(decide_with(&mut p, tool, arguments));
            assert!(reason.contains(&format!("tool `{tool}`")), "{reason}");
            assert!(reason.contains("argument `path`"), "{reason}");
            assert!(
                reason.contains("not under `/Users/alice/projects`"),
                "{reason}"
            );
        }
    }
}

#[test]
fn file_path_constraint_allows_normalised_paths_inside() {
    let mut p = with_file("filesystem", None, Mode::Block);
    for path in [
        "/Users/alice/projects",
        "/Users/alice/projects/./a/../b",
        "./a/../b",
        "src/lib.rs",
        "/Users/alice//projects/x",
    ] {
        let arguments = serde_json::json!({ "path": path }).to_string();
        assert_eq!(
            decide_with(&mut p, "read_text_file", &arguments),
            Decision::Allow,
            "{path}"
        );
    }
}

#[test]
fn file_path_constraint_needs_a_string() {
    let mut p = with_file("filesystem", None, Mode::Block);
    for (arguments, needle) in [
        ("{}", "argument `path` is missing"),
        (r#"{"path": 7}"#, "is a number, not a path"),
        (r#"{"path": null}"#, "is null, not a path"),
        (
            r#"{"path": {"p": "/Users/alice/projects"}}"#,
            "is an object",
        ),
        ("not json", "not valid JSON"),
    ] {
        let reason = blocked(decide_with(&mut p, "read_text_file", arguments));
        assert!(reason.contains(needle), "{arguments}: {reason}");
    }
    let reason = blocked(decide(&mut p, "read_text_file"));
    assert!(reason.contains("missing"), "no arguments at all: {reason}");
    // Tools without a constraint never have their arguments parsed.
    assert_eq!(
        decide_with(&mut p, "list_directory", "not json"),
        Decision::Allow
    );
}

#[test]
fn file_every_matching_constraint_must_hold() {
    let mut p = LocalPolicy::from_file(
        &policy_file(),
        "filesystem",
        None,
        Mode::Block,
        &["move_file".into(), "fetch_many".into(), "nested".into()],
    );
    let ok = r#"{"source": "/Users/alice/projects/a", "destination": "b"}"#;
    assert_eq!(decide_with(&mut p, "move_file", ok), Decision::Allow);
    let out = r#"{"source": "/Users/alice/projects/a", "destination": "/tmp/a"}"#;
    assert!(blocked(decide_with(&mut p, "move_file", out)).contains("argument `destination`"));
    // Arrays: every element inside one of the folders.
    let many = r#"{"paths": ["/Users/alice/projects/a", "/tmp/scratch/b"]}"#;
    assert_eq!(decide_with(&mut p, "fetch_many", many), Decision::Allow);
    let reason = blocked(decide_with(
        &mut p,
        "fetch_many",
        r#"{"paths": ["/Users/alice/projects/a", "/etc/shadow"]}"#,
    ));
    assert!(
        reason.contains("one of `/Users/alice/projects`, `/tmp/scratch`"),
        "{reason}"
    );
    assert!(
        blocked(decide_with(&mut p, "fetch_many", r#"{"paths": ["a", 3]}"#)).contains("a number")
    );
}

#[test]
fn file_nested_arguments_and_windows_paths() {
    let mut p = LocalPolicy::from_file(
        &policy_file(),
        "filesystem",
        None,
        Mode::Block,
        &["nested".into()],
    );
    let inside = r#"{"options": {"path": "c:/users/ALICE/projects/src"}}"#;
    assert_eq!(decide_with(&mut p, "nested", inside), Decision::Allow);
    let escape = r#"{"options": {"path": "C:\\Users\\alice\\projects\\..\\..\\bob\\secrets"}}"#;
    assert!(blocked(decide_with(&mut p, "nested", escape)).contains("argument `options.path`"));
    assert!(matches!(
        decide_with(&mut p, "nested", r#"{"options": {}}"#),
        Decision::Block(_)
    ));
    // The other spelling of the same dotted path is checked too, so it cannot smuggle a second value.
    let smuggled =
        r#"{"options": {"path": "C:\\Users\\alice\\projects\\a"}, "options.path": "D:\\x"}"#;
    assert!(matches!(
        decide_with(&mut p, "nested", smuggled),
        Decision::Block(_)
    ));
}

#[test]
fn file_refusals_quote_at_most_a_bounded_part_of_the_value() {
    let mut p = with_file("filesystem", None, Mode::Block);
    let huge = format!("/etc/{}", "é".repeat(100_000));
    let arguments = serde_json::json!({ "path": huge }).to_string();
    let reason = blocked(decide_with(&mut p, "read_text_file", &arguments));
    assert!(reason.len() < 600, "{} bytes", reason.len());
    assert!(reason.contains("(200005 bytes)"), "{reason}");
}

#[test]
fn visibility_hides_what_can_never_succeed() {
    let p = with_file("filesystem", None, Mode::Block);
    assert!(p.filters_lists());
    assert!(p.tool_visible("read_text_file"));
    assert!(p.tool_visible("write_file"), "step-up tools stay visible");
    assert!(!p.tool_visible("delete_file"));
    assert!(!p.tool_visible("read_secret"), "denied wins over approved");
    assert!(
        !p.tool_visible("list_directory_with_sizes"),
        "out of scope in block mode"
    );
    let p = with_file("filesystem", Some("code-review"), Mode::Block);
    assert!(!p.tool_visible("list_directory"), "outside the intent");
    for mode in [Mode::Observe, Mode::StepUp, Mode::Progressive] {
        let p = with_file("filesystem", None, mode);
        assert!(p.filters_lists(), "denied tools are hidden in {mode:?}");
        assert!(!p.tool_visible("delete_file"));
        assert!(
            p.tool_visible("list_directory_with_sizes"),
            "{mode:?} may still let it through"
        );
    }
    let no_denied = file::parse(
        r#"{"version": 1, "agents": {"*": {"approved_tools": ["echo"]}}}"#,
        "t",
    )
    .unwrap();
    let p = LocalPolicy::from_file(&no_denied, "x", None, Mode::Observe, &[]);
    assert!(!p.filters_lists());
    for p in [
        LocalPolicy::new(scope(&["echo"]), Mode::Block),
        LocalPolicy::new(Scope::Unconfigured(Environment::Prod), Mode::Block),
    ] {
        assert!(!p.filters_lists());
        assert!(p.tool_visible("anything"));
    }
}

// A restriction cannot be dodged by re-spelling the tool (a lenient server may treat `DELETE_FILE` or
// fullwidth `ｄｅｌｅｔｅ_file` as `delete_file`); approval still needs the name as written.
mod respelled {
    use super::*;
    use proptest::prelude::*;

    /// `name` with each ASCII letter in a random case, some of them fullwidth.
    fn respelled(name: &'static str) -> impl Strategy<Value = String> {
        proptest::collection::vec(0u8..4, name.len()).prop_map(move |how| {
            name.chars()
                .zip(how)
                .map(|(c, h)| match (c.is_ascii_alphabetic(), h) {
                    (true, 1) => c.to_ascii_uppercase(),
                    (true, 2) => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                    (true, 3) => {
                        char::from_u32(c.to_ascii_uppercase() as u32 + 0xFEE0).unwrap_or(c)
                    }
                    _ => c,
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn a_denied_tool_respelled_is_still_denied_in_every_mode(
            name in respelled("delete_file"),
            mode in prop_oneof![Just(Mode::Observe), Just(Mode::Block), Just(Mode::StepUp), Just(Mode::Progressive)],
        ) {
            let mut p = with_file("filesystem", None, mode);
            prop_assert!(matches!(decide(&mut p, &name), Decision::Block(_)), "{name}");
            prop_assert!(!p.tool_visible(&name), "{name}");
        }

        #[test]
        fn a_step_up_tool_respelled_still_needs_approval(name in respelled("write_file")) {
            let mut p = with_file("filesystem", None, Mode::StepUp);
            prop_assert!(!matches!(decide_with(&mut p, &name, INSIDE), Decision::Allow), "{name}");
        }

        #[test]
        fn an_argument_constraint_binds_the_respelled_tool(name in respelled("read_file")) {
            let mut p = with_file("filesystem", None, Mode::Observe);
            let outside = r#"{"path":"/etc/shadow"}"#;
            prop_assert!(matches!(decide_with(&mut p, &name, outside), Decision::Block(_)), "{name}");
        }
    }

    #[test]
    fn approval_needs_the_name_as_written() {
        let mut p = with_file("filesystem", None, Mode::Block);
        assert_eq!(decide(&mut p, "list_directory"), Decision::Allow);
        assert!(matches!(
            decide(&mut p, "LIST_DIRECTORY"),
            Decision::Block(_)
        ));
    }
}
