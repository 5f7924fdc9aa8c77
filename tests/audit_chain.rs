//! The audit chain against tampering, retention and concurrent writers (issue 12 §6): `thoth audit verify`
//! (the built binary) exits 1 naming the file for every cut tail, emptied, deleted or rewritten log, every
//! reordering and every splice of two logs; rotation and pruning keep it green and the chain continuous;
//! several `thoth run` processes grow one chain.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::{json, Value};
use thoth::audit::log::{sha256_hex, GENESIS};
use thoth::audit::{Audit, AuditConfig, DecisionSource, Outcome, Retention};
use thoth::policy::{Decision, Mode, Refusal, ToolCall};

use crate::support::{assert_valid, Thoth};

fn audit_dir(t: &Thoth) -> PathBuf {
    t.home.path().join(".thoth").join("audit")
}

fn head_path(t: &Thoth) -> PathBuf {
    t.home
        .path()
        .join(".thoth")
        .join("state")
        .join("audit-head.json")
}

/// One session of `calls` tools/calls (alternately allowed and blocked, with results), as `thoth run`
/// writes it. Returns the last file written.
fn session(t: &Thoth, calls: u64, retention: Retention) -> PathBuf {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let audit = Audit::start_with(
            audit_dir(t),
            "s-chain",
            "fixture",
            AuditConfig {
                retention,
                ..AuditConfig::default()
            },
        );
        for i in 0..calls {
            let call = ToolCall {
                proxy_id: i,
                name: "read_file".into(),
                arguments: Some(Bytes::from(format!(r#"{{"path":"/tmp/{i}"}}"#))),
            };
            let decision = if i % 2 == 0 {
                Decision::Allow
            } else {
                Decision::Block(Refusal {
                    reason: "outside the approved scope".into(),
                    violation_id: format!("v-{i}"),
                })
            };
            audit.decision(&call, &decision, Mode::Block, DecisionSource::Local);
            if i % 2 == 0 {
                audit.tool_result(i, "read_file", Outcome::Ok);
            }
        }
        let summary = audit.finish().await;
        assert_eq!(summary.dropped, 0);
        summary.path.expect("written")
    })
}

/// `thoth audit verify --json`: (exit code, report, text output).
fn verify(t: &Thoth) -> (i32, Value, String) {
    let out = t.output(&["audit", "verify", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_valid(
        &crate::support::schema_validator("audit-verify.schema.json"),
        &report,
    );
    let text = t.output(&["audit", "verify"]);
    assert_eq!(text.status.code(), out.status.code());
    (
        out.status.code().unwrap(),
        report,
        String::from_utf8_lossy(&text.stdout).into_owned(),
    )
}

/// Verify fails, and names `path` as broken with `kind`.
#[track_caller]
fn assert_broken(t: &Thoth, path: &Path, kind: &str, what: &str) {
    let (code, report, text) = verify(t);
    assert_eq!(code, 1, "{what}: verify passed:\n{text}");
    let shown = path.display().to_string();
    let file = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == shown.as_str())
        .unwrap_or_else(|| panic!("{what}: {shown} is not in the report: {report:#}"));
    assert_eq!(file["status"], "broken", "{what}: {report:#}");
    assert_eq!(file["first_break"]["kind"], kind, "{what}: {report:#}");
    assert!(
        text.contains(&format!("BROKEN  {shown}")),
        "{what}:\n{text}"
    );
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    if !lines.is_empty() {
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// Re-link `lines` from line `from` on, as someone who knows the format would after an edit.
fn relink(lines: &mut [String], from: usize) {
    for i in from.max(1)..lines.len() {
        let mut record: Value = serde_json::from_str(&lines[i]).unwrap();
        record["prev_sha256"] = json!(sha256_hex(lines[i - 1].as_bytes()));
        record["seq"] = json!(i as u64 + first_seq(&lines[0]));
        lines[i] = serde_json::to_string(&record).unwrap();
    }
}

fn first_seq(line: &str) -> u64 {
    serde_json::from_str::<Value>(line).unwrap()["seq"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_cut_tail_or_an_emptied_log_fails_naming_the_file() {
    let t = Thoth::new("dev");
    let path = session(&t, 6, Retention::default());
    let original = lines(&path);
    assert_eq!(verify(&t).0, 0);
    // Every cut that keeps whole lines: the chain inside still links, only the head shows it.
    for keep in 0..original.len() {
        write_lines(&path, &original[..keep]);
        assert_broken(&t, &path, "truncated", &format!("kept {keep} lines"));
    }
    // A cut inside a line.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &original.join("\n")[..text.len().max(40) - 30]).unwrap();
    let (code, _, _) = verify(&t);
    assert_eq!(code, 1);
    write_lines(&path, &original);
    assert_eq!(verify(&t).0, 0, "restored");
}

#[test]
fn a_deleted_log_or_folder_fails_naming_the_file() {
    let t = Thoth::new("dev");
    let path = session(&t, 2, Retention::default());
    std::fs::remove_file(&path).unwrap();
    assert_broken(&t, &path, "missing", "file deleted");
    std::fs::remove_dir_all(audit_dir(&t)).unwrap();
    assert_broken(&t, &path, "missing", "folder deleted");
}

#[test]
fn a_log_rewritten_with_recomputed_hashes_fails_naming_the_file() {
    let t = Thoth::new("dev");
    let path = session(&t, 6, Retention::default());
    let original = lines(&path);
    for at in 0..original.len() {
        // Edit one record, then recompute every link after it: the file verifies on its own...
        let mut edited = original.clone();
        let mut record: Value = serde_json::from_str(&edited[at]).unwrap();
        record["tool"] = json!("rewritten");
        edited[at] = serde_json::to_string(&record).unwrap();
        relink(&mut edited, at + 1);
        write_lines(&path, &edited);
        assert_eq!(
            thoth::audit::verify::check_file(&path).first_break,
            None,
            "the rewrite is self-consistent"
        );
        // ...but not against the head.
        assert_broken(
            &t,
            &path,
            "head_mismatch",
            &format!("line {} rewritten", at + 1),
        );
    }
    // A record removed from the middle and the rest re-linked: shorter than the head says.
    let mut shorter = original.clone();
    shorter.remove(3);
    relink(&mut shorter, 3);
    write_lines(&path, &shorter);
    assert_broken(&t, &path, "truncated", "a record removed and re-linked");
}

#[test]
fn reordered_lines_fail_naming_the_file() {
    let t = Thoth::new("dev");
    let path = session(&t, 6, Retention::default());
    let original = lines(&path);
    for i in 0..original.len() - 1 {
        let mut swapped = original.clone();
        swapped.swap(i, i + 1);
        write_lines(&path, &swapped);
        let (code, _, text) = verify(&t);
        assert_eq!(code, 1, "lines {} and {} swapped:\n{text}", i + 1, i + 2);
        assert!(
            text.contains(&format!("BROKEN  {}", path.display())),
            "{text}"
        );
    }
}

#[test]
fn two_spliced_logs_fail_naming_the_file() {
    let a = Thoth::new("dev");
    let b = Thoth::new("dev");
    let a_path = session(&a, 4, Retention::default());
    let b_path = session(&b, 4, Retention::default());
    let (a_lines, b_lines) = (lines(&a_path), lines(&b_path));

    // B's records appended to A's file, or put in the middle.
    let mut appended = a_lines.clone();
    appended.extend(b_lines.iter().cloned());
    write_lines(&a_path, &appended);
    assert_broken(&a, &a_path, "hash_mismatch", "B appended to A");
    let mut middle = a_lines.clone();
    middle.splice(3..3, b_lines[2..5].iter().cloned());
    write_lines(&a_path, &middle);
    assert_broken(&a, &a_path, "hash_mismatch", "B inside A");

    // B's file in place of A's (same name): a whole, valid chain, but not the one A's head names.
    write_lines(&a_path, &b_lines);
    assert_broken(&a, &a_path, "head_mismatch", "B instead of A");

    // B's file beside A's: a second chain in the folder.
    write_lines(&a_path, &a_lines);
    let beside = a_path.with_file_name("audit-2000-01-01T000000Z-1.jsonl");
    std::fs::copy(&b_path, &beside).unwrap();
    assert_broken(&a, &beside, "fork", "B beside A");
    std::fs::remove_file(&beside).unwrap();
    assert_eq!(verify(&a).0, 0);
}

#[test]
fn a_deleted_or_edited_head_fails_and_the_next_run_says_it_was_lost() {
    let t = Thoth::new("dev");
    let path = session(&t, 2, Retention::default());
    let head_text = std::fs::read_to_string(head_path(&t)).unwrap();
    let head: Value = serde_json::from_str(&head_text).unwrap();
    assert_valid(
        &crate::support::schema_validator("audit-head.schema.json"),
        &head,
    );

    // An edited head (to match a cut log) fails its MAC.
    let mut cut = lines(&path);
    cut.pop();
    write_lines(&path, &cut);
    let mut edited = head.clone();
    edited["seq"] = json!(head["seq"].as_u64().unwrap() - 1);
    edited["sha256"] = json!(sha256_hex(cut.last().unwrap().as_bytes()));
    std::fs::write(head_path(&t), edited.to_string()).unwrap();
    let (code, report, text) = verify(&t);
    assert_eq!(code, 1, "{text}");
    assert_eq!(report["head"]["status"], "invalid");
    assert!(text.contains("MAC does not match"), "{text}");

    // A deleted head.
    std::fs::remove_file(head_path(&t)).unwrap();
    let (code, report, text) = verify(&t);
    assert_eq!(code, 1, "{text}");
    assert_eq!(report["head"]["status"], "missing");
    assert!(
        text.contains(&format!("BROKEN  {}", head_path(&t).display())),
        "{text}"
    );

    // The next session goes on from the newest record, in a new file whose first record says so.
    let next = session(&t, 1, Retention::default());
    assert_ne!(next, path);
    let first: Value = serde_json::from_str(&lines(&next)[0]).unwrap();
    assert_eq!(first["event"], "head_lost");
    assert!(
        first["reason"]
            .as_str()
            .unwrap()
            .contains("audit-head.json"),
        "{first}"
    );
    assert_eq!(
        first["prev_sha256"],
        json!(sha256_hex(cut.last().unwrap().as_bytes()))
    );
    let (code, report, text) = verify(&t);
    assert_eq!(code, 0, "{text}");
    assert_ne!(
        report["head"]["chain_id"], head["chain_id"],
        "a new chain id for GovAPI to see"
    );
}

fn small(max_total_bytes: u64, max_age_days: u64) -> Retention {
    Retention {
        max_file_bytes: 4096,
        max_total_bytes,
        max_age_days,
    }
}

/// Each file's first record links to the previous file's last (by name order), and seq counts on.
fn assert_continuous(files: &[PathBuf], pruned_through: Option<u64>) {
    let mut prev: Option<(u64, String)> = None;
    for path in files {
        let lines = lines(path);
        let first: Value = serde_json::from_str(&lines[0]).unwrap();
        match &prev {
            Some((seq, hash)) => {
                assert_eq!(first["seq"], seq + 1, "{}", path.display());
                assert_eq!(first["prev_sha256"], hash.as_str(), "{}", path.display());
            }
            None => match pruned_through {
                Some(seq) => assert_eq!(first["seq"], seq + 1),
                None => assert_eq!(first["prev_sha256"], GENESIS),
            },
        }
        let last = lines.last().unwrap();
        let seq = serde_json::from_str::<Value>(last).unwrap()["seq"]
            .as_u64()
            .unwrap();
        prev = Some((seq, sha256_hex(last.as_bytes())));
    }
}

fn files(t: &Thoth) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(audit_dir(t))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    // In chain order (names within one second by one process do not sort that way: `x.jsonl`, `x-1.jsonl`).
    files.sort_by_key(|f| first_seq(&lines(f)[0]));
    files
}

#[test]
fn rotation_and_pruning_keep_the_chain_continuous_and_verify_green() {
    let t = Thoth::new("dev");
    for _ in 0..3 {
        session(&t, 30, small(0, 0));
    }
    let rotated = files(&t);
    assert!(rotated.len() >= 4, "{rotated:?}");
    for f in &rotated {
        // A file passes the limit by at most one batch.
        assert!(
            std::fs::metadata(f).unwrap().len() < 4096 + 64 * 1024,
            "{f:?}"
        );
    }
    assert_continuous(&rotated, None);
    let (code, report, text) = verify(&t);
    assert_eq!(code, 0, "{text}");
    assert_eq!(report["head"]["pruned_through_seq"], Value::Null);

    // By total size: the oldest files go, the head records the last record removed, verify stays green.
    let total: u64 = rotated
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    session(&t, 30, small(total / 2, 0));
    let kept = files(&t);
    assert!(
        !kept.contains(&rotated[0]),
        "the oldest file was pruned: {kept:?}"
    );
    let (code, report, text) = verify(&t);
    assert_eq!(code, 0, "{text}");
    let pruned = report["head"]["pruned_through_seq"]
        .as_u64()
        .expect("pruned");
    assert_continuous(&kept, Some(pruned));
    let head: Value =
        serde_json::from_str(&std::fs::read_to_string(head_path(&t)).unwrap()).unwrap();
    assert_valid(
        &crate::support::schema_validator("audit-head.schema.json"),
        &head,
    );

    // By age: files last written long ago go on the next rotation (not the current one: it is written to).
    session(&t, 30, small(0, 0));
    let before_age = files(&t);
    assert!(before_age.len() >= 3, "{before_age:?}");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86_400);
    for f in &before_age[..2] {
        std::fs::File::options()
            .append(true)
            .open(f)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    session(&t, 30, small(0, 30));
    let after_age = files(&t);
    assert!(
        !after_age.contains(&before_age[0]) && !after_age.contains(&before_age[1]),
        "{before_age:?} -> {after_age:?}"
    );
    assert_eq!(verify(&t).0, 0);

    // A file removed from the middle by hand is a gap, named on the file after it.
    session(&t, 30, small(0, 0));
    let now = files(&t);
    assert!(now.len() >= 3, "{now:?}");
    std::fs::remove_file(&now[1]).unwrap();
    assert_broken(&t, &now[2], "chain_gap", "a middle file deleted");
}

#[test]
fn concurrent_thoth_runs_grow_one_chain_across_rotations() {
    let t = Thoth::new("dev");
    let mut sessions: Vec<_> = (0..3)
        .map(|n| {
            let mut cmd = t.command();
            cmd.env("THOTH_AUDIT_MAX_FILE_BYTES", "4096").args([
                "run",
                "--approved-scope",
                "echo",
                "--enforcement-mode",
                "block",
                "--agent-id",
                &format!("agent-{n}"),
                "--",
                crate::support::fixture_server().to_str().unwrap(),
            ]);
            let mut s = crate::support::Session::spawn(cmd);
            s.request(json!(0), "initialize", crate::support::init_params());
            s
        })
        .collect();
    for i in 1..=20 {
        for s in &mut sessions {
            s.send(&json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                "params": {"name": if i % 4 == 0 { "big" } else { "echo" }, "arguments": {"q": i}}}));
        }
        for s in &mut sessions {
            let (reply, _) = s.recv_until_id(&json!(i));
            assert!(
                reply.get("result").is_some() || reply.get("error").is_some(),
                "{reply}"
            );
        }
    }
    for mut s in sessions {
        s.close_stdin();
        assert_eq!(
            s.wait_timeout(std::time::Duration::from_secs(10))
                .and_then(|st| st.code()),
            Some(0)
        );
    }
    let all = files(&t);
    assert!(all.len() >= 2, "rotated: {all:?}");
    let (code, report, text) = verify(&t);
    assert_eq!(code, 0, "{text}");
    let records: Vec<Value> = all
        .iter()
        .flat_map(|f| lines(f))
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..seqs.len() as u64).collect::<Vec<_>>(),
        "one seq per record, none twice"
    );
    let decisions = records.iter().filter(|r| r["event"] == "decision").count();
    assert_eq!(decisions, 60, "{text}");
    assert_eq!(
        report["head"]["seq"].as_u64().unwrap() + 1,
        seqs.len() as u64,
        "the head is the chain's last record"
    );
}
