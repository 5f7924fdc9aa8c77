use serde_json::json;

use super::*;

/// A chain of `n` records as the writer would link them (the last one closing it).
fn chain(n: usize) -> Vec<String> {
    let mut prev = GENESIS.to_owned();
    (0..n)
        .map(|seq| {
            let event = if seq + 1 == n {
                "session_end"
            } else {
                "decision"
            };
            let line =
                json!({"seq": seq, "event": event, "decision": "BLOCK", "prev_sha256": prev})
                    .to_string();
            prev = sha256_hex(line.as_bytes());
            line
        })
        .collect()
}

fn text(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn check_text(s: &str) -> ChainCheck {
    check(s.as_bytes())
}

#[test]
fn a_whole_chain_verifies_and_is_closed() {
    let c = check_text(&text(&chain(5)));
    assert_eq!(c.first_break, None);
    assert_eq!(c.records, 5);
    assert!(c.closed);
    let empty = check_text("");
    assert_eq!(
        (empty.records, empty.first_break, empty.closed),
        (0, None, false)
    );
}

#[test]
fn an_edited_line_breaks_the_link_of_the_next_one() {
    let mut lines = chain(5);
    lines[1] = lines[1].replace("BLOCK", "ALLOW");
    let c = check_text(&text(&lines));
    let brk = c.first_break.unwrap();
    assert_eq!(brk.line, Some(3));
    assert_eq!(brk.kind, BreakKind::HashMismatch);
    assert!(
        brk.message.contains("line 2 was changed"),
        "{}",
        brk.message
    );
    assert_eq!(
        brk.expected.as_deref(),
        Some(sha256_hex(lines[1].as_bytes()).as_str())
    );
    assert_eq!(c.records, 5, "lines past the break are still counted");
    assert!(!c.closed);
}

#[test]
fn removed_inserted_and_reordered_lines_are_named() {
    let mut lines = chain(6);
    lines.remove(2);
    let brk = check_text(&text(&lines)).first_break.unwrap();
    assert_eq!(brk.line, Some(3));
    assert!(
        brk.message
            .contains("1 record(s) are missing before line 3"),
        "{}",
        brk.message
    );

    let mut lines = chain(6);
    let copy = lines[1].clone();
    lines.insert(3, copy);
    let brk = check_text(&text(&lines)).first_break.unwrap();
    assert_eq!(brk.line, Some(4));
    assert!(
        brk.message.contains("inserted or repeated"),
        "{}",
        brk.message
    );

    let mut lines = chain(6);
    lines.remove(0);
    let brk = check_text(&text(&lines)).first_break.unwrap();
    assert_eq!(brk.line, Some(1));
    assert!(brk.message.contains("64 zeros"), "{}", brk.message);
}

#[test]
fn lines_that_are_not_records_are_named() {
    let mut lines = chain(4);
    lines[2] = "{not json".into();
    let brk = check_text(&text(&lines)).first_break.unwrap();
    assert_eq!((brk.line, brk.kind), (Some(3), BreakKind::NotJson));

    let mut lines = chain(4);
    lines[1] = r#"{"hello": "world"}"#.into();
    let brk = check_text(&text(&lines)).first_break.unwrap();
    assert_eq!((brk.line, brk.kind), (Some(2), BreakKind::NotARecord));

    let mut lines = chain(4);
    lines.insert(2, String::new());
    let brk = check_text(&text(&lines)).first_break.unwrap();
    assert_eq!((brk.line, brk.kind), (Some(3), BreakKind::NotJson));
}

#[test]
fn a_torn_last_line_and_an_overlong_line_are_reported() {
    let lines = chain(3);
    let torn = format!("{}{}", text(&lines[..2]), &lines[2][..10]);
    let c = check_text(&torn);
    let brk = c.first_break.unwrap();
    assert_eq!((brk.line, brk.kind), (Some(3), BreakKind::IncompleteLine));
    assert_eq!(c.records, 3);

    let long = format!(
        "{}{}\n{}\n",
        text(&lines[..1]),
        "x".repeat(MAX_LINE_BYTES + 1),
        lines[1]
    );
    let c = check_text(&long);
    let brk = c.first_break.unwrap();
    assert_eq!((brk.line, brk.kind), (Some(2), BreakKind::LineTooLong));
    assert_eq!(c.records, 3);
}

#[test]
fn seq_must_count_on_even_when_hashes_link() {
    let first = json!({"seq": 0, "prev_sha256": GENESIS}).to_string();
    let second = json!({"seq": 5, "prev_sha256": sha256_hex(first.as_bytes())}).to_string();
    let brk = check_text(&format!("{first}\n{second}\n"))
        .first_break
        .unwrap();
    assert_eq!(brk.kind, BreakKind::SeqMismatch);
    assert_eq!(brk.line, Some(2));
    assert_eq!(
        (brk.expected.as_deref(), brk.found.as_deref()),
        (Some("1"), Some("5"))
    );
}

#[test]
fn folders_are_searched_for_logs_and_a_missing_one_is_empty_not_broken() {
    let dir = tempfile::tempdir().unwrap();
    let report = verify_dir(&dir.path().join("missing"));
    assert_eq!((report.status, report.files.len()), ("ok", 0));
    assert!(render(&report).starts_with("no audit logs in "));

    std::fs::write(dir.path().join("b.jsonl"), text(&chain(2))).unwrap();
    let mut bad = chain(3);
    bad[0] = bad[0].replace("BLOCK", "ALLOW");
    std::fs::write(dir.path().join("a.jsonl"), text(&bad)).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a log").unwrap();
    let report = verify_dir(dir.path());
    assert_eq!(report.status, "broken");
    let names: Vec<&str> = report
        .files
        .iter()
        .map(|f| f.path.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(names, ["a.jsonl", "b.jsonl"]);
    let human = render(&report);
    assert!(human.contains("BROKEN"), "{human}");
    assert!(
        human.contains("line 2: prev_sha256 does not match"),
        "{human}"
    );
    assert!(human.ends_with("2 files: 1 ok, 1 broken\n"), "{human}");

    let report = verify_paths(&[dir.path().join("b.jsonl"), dir.path().join("gone.jsonl")]);
    assert_eq!(report.status, "broken");
    assert_eq!(
        report.files[1].first_break.as_ref().unwrap().kind,
        BreakKind::Unreadable
    );
    assert_eq!(report.files[1].first_break.as_ref().unwrap().line, None);
}
