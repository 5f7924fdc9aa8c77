//! `thoth audit verify` against the built binary, on logs written through the audit API as a session writes
//! them: a real log verifies; one edited line fails, naming the line; `--json` matches its schema; the log's
//! records and the spool's batches match theirs.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::{json, Value};
use thoth::audit::events::{EventBatch, EventContext, EventSink, SinkConfig, Transport};
use thoth::audit::spool::{Spool, SpoolLimits};
use thoth::audit::{Audit, DecisionKind, DecisionSource, Outcome};
use thoth::policy::{Decision, Mode, Refusal, ToolCall};

use crate::support::{assert_valid, Thoth};

fn validator(name: &str) -> jsonschema::Validator {
    crate::support::schema_validator(name)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn thoth_dir(t: &Thoth) -> PathBuf {
    t.home.path().join(".thoth")
}

/// Write a log under `~/.thoth/audit` the way a session does: `calls` tools/calls, alternately allowed and
/// blocked, each with its result. Returns the file.
fn write_log(thoth_dir: &Path, calls: u64) -> PathBuf {
    runtime().block_on(async {
        let audit = Audit::start(
            thoth::platform::paths::audit_dir(thoth_dir),
            "s-test",
            "fixture",
        );
        for i in 0..calls {
            let call = ToolCall {
                proxy_id: i,
                name: "read_file".into(),
                arguments: Some(Bytes::from(format!(
                    r#"{{"path":"/tmp/{i}","api_key":"sk-live-0123456789abcdef"}}"#
                ))),
            };
            let decision = if i % 2 == 0 {
                Decision::Allow
            } else {
                Decision::Block(Refusal {
                    reason: "read_file is outside the approved scope".into(),
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
        summary.path.expect("the audit log was written")
    })
}

/// `thoth audit verify <args>`: (exit code, stdout, stderr).
fn verify(t: &Thoth, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["audit", "verify"];
    all.extend_from_slice(args);
    let out = t.output(&all);
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn verify_json(t: &Thoth, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = verify(t, &all);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("--json printed non-JSON ({e}): {stdout}\nstderr:\n{stderr}"));
    assert_valid(&validator("audit-verify.schema.json"), &report);
    (code, report)
}

/// Replace line `n` (1-based) of a file with `edit(line)`.
fn edit_line(path: &Path, n: usize, edit: impl FnOnce(&str) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[n - 1] = edit(&lines[n - 1]);
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_real_log_verifies() {
    let t = Thoth::new("dev");
    let path = write_log(&thoth_dir(&t), 6);
    let (code, stdout, stderr) = verify(&t, &[]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    // session_start + 6 decisions + 3 results + session_end
    assert!(
        stdout.contains(&format!("ok      {}  11 records\n", path.display())),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 file: 1 ok, 0 broken\n"), "{stdout}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn one_edited_line_fails_and_names_it() {
    let t = Thoth::new("dev");
    let path = write_log(&thoth_dir(&t), 6);
    // Line 4 is the block of call 1 (after the opening record, call 0 and its result): make it look allowed.
    edit_line(&path, 4, |line| {
        assert!(line.contains(r#""decision":"BLOCK""#), "{line}");
        line.replace(r#""decision":"BLOCK""#, r#""decision":"ALLOW""#)
    });
    let (code, stdout, _) = verify(&t, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(&format!("BROKEN  {}  11 records", path.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "line 5: prev_sha256 does not match the hash of the line before it: line 4 was changed"
        ),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 file: 0 ok, 1 broken\n"), "{stdout}");

    let (code, report) = verify_json(&t, &[]);
    assert_eq!(code, 1);
    assert_eq!(report["status"], "broken");
    let file = &report["files"][0];
    assert_eq!(file["status"], "broken");
    assert_eq!(file["records"], 11);
    assert_eq!(file["closed"], false);
    let brk = &file["first_break"];
    assert_eq!(brk["line"], 5);
    assert_eq!(brk["kind"], "hash_mismatch");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .nth(3)
        .unwrap()
        .to_owned();
    assert_eq!(
        brk["expected"],
        thoth::audit::log::sha256_hex(edited.as_bytes())
    );
    assert_ne!(brk["expected"], brk["found"]);
}

#[test]
fn json_output_matches_its_schema_for_good_broken_and_missing_logs() {
    let t = Thoth::new("dev");
    // No logs yet: ok, nothing to check.
    let (code, report) = verify_json(&t, &[]);
    assert_eq!(code, 0);
    assert_eq!(report["files"], json!([]));
    let expected_dir = thoth::platform::paths::audit_dir(&thoth_dir(&t));
    assert_eq!(report["directory"], expected_dir.display().to_string());
    let (code, stdout, _) = verify(&t, &[]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("no audit logs in "), "{stdout}");

    let good = write_log(&thoth_dir(&t), 2);
    let (code, report) = verify_json(&t, &[]);
    assert_eq!(code, 0);
    assert_eq!(report["status"], "ok");
    assert_eq!(report["files"][0]["closed"], true);
    assert_eq!(report["files"][0]["first_break"], Value::Null);

    // Named files: a good one, a torn one and a missing one.
    let torn = t.home.path().join("torn.jsonl");
    let text = std::fs::read_to_string(&good).unwrap();
    std::fs::write(&torn, &text[..text.len() - 5]).unwrap();
    let missing = t.home.path().join("missing.jsonl");
    let (code, report) = verify_json(
        &t,
        &[
            good.to_str().unwrap(),
            torn.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(report["directory"], Value::Null);
    let kinds: Vec<&Value> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["first_break"]["kind"])
        .collect();
    assert_eq!(
        kinds,
        [
            &Value::Null,
            &json!("incomplete_line"),
            &json!("unreadable")
        ]
    );
}

#[test]
fn every_record_matches_its_schema_and_no_secret_reaches_the_log() {
    let t = Thoth::new("dev");
    let path = write_log(&thoth_dir(&t), 4);
    let v = validator("audit-record.schema.json");
    let text = std::fs::read_to_string(&path).unwrap();
    for line in text.lines() {
        assert_valid(&v, &serde_json::from_str(line).unwrap());
    }
    assert!(!text.contains("sk-live-0123456789abcdef"), "{text}");
    assert!(text.contains(r#""api_key":"[REDACTED]""#), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

/// An enforcer that is never reachable: every batch goes to the spool.
struct Offline;

impl Transport for Offline {
    async fn send(&self, _batch: &EventBatch) -> Result<(), thoth::audit::events::SendError> {
        Err(thoth::audit::events::SendError::Retryable(
            "connection refused".into(),
        ))
    }
}

#[test]
fn spooled_batches_match_the_event_batch_schema() {
    let home = tempfile::tempdir().unwrap();
    let dir = thoth::platform::paths::spool_dir(&home.path().join(".thoth"));
    let stats = runtime().block_on(async {
        let spool = Spool::open(&dir, SpoolLimits::default()).unwrap();
        let sink = EventSink::start(
            Offline,
            spool,
            EventContext {
                agent_id: "fixture".into(),
                session_id: "s-test".into(),
                endpoint_id: "e-test".into(),
            },
            SinkConfig::default(),
        );
        for i in 0..3 {
            let args = Bytes::from(format!(r#"{{"i":{i},"password":"hunter2"}}"#));
            sink.pre("read_file", Some(args), DecisionKind::Allow, i);
            sink.post("read_file", None, DecisionKind::Allow, i);
        }
        sink.finish().await
    });
    assert_eq!(stats.spool_batches, 1, "{stats:?}");
    let v = validator("event-batch.schema.json");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("hunter2"));
        let batch: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(batch["events"].as_array().unwrap().len(), 6);
        assert_valid(&v, &batch);
    }
}

/// A real `thoth run` session logs every decision; the log verifies, and one edit is caught.
#[test]
fn a_real_session_logs_its_decisions_and_the_chain_verifies() {
    let t = Thoth::new("dev");
    let mut s = t.run(
        &[
            "--enforcement-mode",
            "block",
            "--approved-scope",
            "echo",
            "--agent-id",
            "fx",
        ],
        &[crate::support::fixture_server().to_str().unwrap()],
    );
    s.request(json!(1), "initialize", crate::support::init_params());
    let ok = s.request(
        json!(2),
        "tools/call",
        json!({"name": "echo", "arguments": {"q": "fine"}}),
    );
    assert!(ok.get("result").is_some(), "{ok}");
    let no = s.request(
        json!(3),
        "tools/call",
        json!({"name": "big", "arguments": {"bytes": 1, "THOTH_API_KEY": "sk-never-logged"}}),
    );
    assert_eq!(no["error"]["code"], -32001);
    s.close_stdin();
    assert_eq!(
        s.wait_timeout(std::time::Duration::from_secs(10))
            .and_then(|st| st.code()),
        Some(0)
    );
    let dir = thoth_dir(&t).join("audit");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        !text.contains("sk-never-logged"),
        "a secret argument reached the audit log"
    );
    let decisions: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["event"] == "decision")
        .collect();
    assert_eq!(decisions.len(), 2, "{text}");
    assert_eq!(
        (
            decisions[0]["tool"].as_str(),
            decisions[0]["decision"].as_str()
        ),
        (Some("echo"), Some("ALLOW"))
    );
    assert_eq!(
        (
            decisions[1]["tool"].as_str(),
            decisions[1]["decision"].as_str()
        ),
        (Some("big"), Some("BLOCK"))
    );
    assert_eq!(
        decisions[1]["violation_id"],
        no["error"]["data"]["thoth"]["violation_id"]
    );
    for record in text.lines() {
        assert_valid(
            &validator("audit-record.schema.json"),
            &serde_json::from_str(record).unwrap(),
        );
    }
    let (code, stdout, _) = verify(&t, &[]);
    assert_eq!(code, 0, "{stdout}");
    edit_line(&files[0], 2, |l| l.replace("echo", "ech0"));
    let (code, stdout, _) = verify(&t, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(":3") || stdout.contains("line 3"),
        "the break shows at the next line's link: {stdout}"
    );
}
