use std::path::Path;
use std::sync::Mutex;

use serde_json::{json, Value};

use super::*;
use crate::audit::verify;
use crate::audit::{Audit, AuditConfig};
use crate::policy::{Arguments, Decision, Hold, Refusal, ToolCall};

fn call(id: u64, name: &str, args: &str) -> ToolCall {
    ToolCall {
        proxy_id: id,
        name: name.into(),
        arguments: Some(Bytes::copy_from_slice(args.as_bytes())),
    }
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn a_session_writes_one_private_file_whose_chain_verifies() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".thoth").join("audit");
    let audit = Audit::start(dir.clone(), "s-1", "fs");
    let secret_args = r#"{"path":"/etc/passwd","GITHUB_TOKEN":"ghp_16C7e42F292c6912E7710c838347Ae178B4a","note":"Bearer 8f2kd93jd83kd93kd83kd9"}"#;
    audit.decision(
        &call(1, "read_file", r#"{"path":"/tmp/a"}"#),
        &Decision::Allow,
        Mode::Block,
        DecisionSource::Local,
    );
    audit.tool_result(1, "read_file", Outcome::Ok);
    audit.decision(
        &call(2, "read_file", secret_args),
        &Decision::Block(Refusal {
            reason: "outside the approved scope".into(),
            violation_id: "v-1".into(),
        }),
        Mode::Block,
        DecisionSource::Enforcer,
    );
    let big = format!(r#"{{"content":"{}"}}"#, "x".repeat(ALLOW_BIG));
    audit.decision(
        &call(3, "write_file", &big),
        &Decision::Allow,
        Mode::Observe,
        DecisionSource::Fallback,
    );
    audit.decision(
        &call(4, "exec", r#"{"cmd":"ls"}"#),
        &Decision::StepUp(Hold {
            reason: "needs approval".into(),
            hold_token: "h-1".into(),
            approval_url: None,
            timeout_seconds: 60,
        }),
        Mode::StepUp,
        DecisionSource::Local,
    );
    audit.decision(
        &call(5, "exec", r#"{"cmd":"rm -rf /"}"#),
        &Decision::Modify(Arguments(
            serde_json::value::RawValue::from_string(r#"{"cmd":"ls","password":"p"}"#.into())
                .unwrap(),
        )),
        Mode::Block,
        DecisionSource::Enforcer,
    );
    audit.cancelled(5, "exec");
    let summary = audit.finish().await;
    assert_eq!(summary.records, 9, "{summary:?}");
    assert_eq!(summary.dropped, 0);
    let path = summary.path.unwrap();
    assert_eq!(path.parent(), Some(dir.as_path()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("audit-") && name.ends_with(&format!("-{}.jsonl", std::process::id())),
        "{name}"
    );

    let check = verify::check_file(&path);
    assert_eq!(check.first_break, None);
    assert_eq!(check.records, 9);
    assert!(check.closed);

    let records = lines(&path);
    let events: Vec<&str> = records
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "session_start",
            "decision",
            "tool_result",
            "decision",
            "decision",
            "decision",
            "decision",
            "cancelled",
            "session_end"
        ]
    );
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["seq"], i as u64);
        assert_eq!(r["agent_id"], "fs");
        assert_eq!(r["session_id"], "s-1");
        assert!(r["ts"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(records[0]["prev_sha256"], GENESIS);
    assert_eq!(records[0]["pid"], std::process::id());
    assert_eq!(records[1]["decision"], "ALLOW");
    assert_eq!(records[1]["arguments"], json!({"path": "/tmp/a"}));
    assert_eq!(records[1]["source"], "local");
    assert_eq!(records[1]["mode"], "block");
    assert_eq!(records[2]["outcome"], "ok");
    // Refused: every argument recorded, secrets redacted.
    assert_eq!(records[3]["decision"], "BLOCK");
    assert_eq!(records[3]["reason"], "outside the approved scope");
    assert_eq!(records[3]["violation_id"], "v-1");
    assert_eq!(
        records[3]["arguments"],
        json!({"path": "/etc/passwd", "GITHUB_TOKEN": "[REDACTED]", "note": "[REDACTED]"})
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("ghp_16C7e42F"));
    assert!(!text.contains("8f2kd93jd83kd93kd83kd9"));
    // A large allowed call: size and hash, not content.
    let about = &records[4]["arguments"]["$summary"];
    assert_eq!(about["reason"], "large_allowed");
    assert_eq!(about["bytes"], big.len());
    assert_eq!(about["sha256"], sha256_hex(big.as_bytes()));
    assert_eq!(records[4]["arguments_bytes"], big.len());
    assert_eq!(records[4]["source"], "fallback");
    assert_eq!(records[5]["decision"], "STEP_UP");
    assert_eq!(records[5]["reason"], "needs approval");
    assert_eq!(records[6]["decision"], "MODIFY");
    assert_eq!(
        records[6]["modified_arguments"],
        json!({"cmd": "ls", "password": "[REDACTED]"})
    );
    assert_eq!(records[8]["records"], 8);
    assert_eq!(records[8]["dropped"], 0);
    // Each link is the hash of the line before.
    for (i, line) in text.lines().enumerate().skip(1) {
        let prev = text.lines().nth(i - 1).unwrap();
        let record: Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["prev_sha256"], sha256_hex(prev.as_bytes()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&home.path().join(".thoth")), 0o700);
    }
}

const ALLOW_BIG: usize = crate::audit::ALLOW_INLINE_MAX_BYTES;

#[tokio::test]
async fn two_sessions_at_once_grow_one_chain() {
    let home = tempfile::tempdir().unwrap();
    let a = Audit::start(home.path().to_owned(), "a", "x");
    let b = Audit::start(home.path().to_owned(), "b", "x");
    for i in 0..50 {
        a.tool_result(i, "t", Outcome::Ok);
        b.tool_result(i, "t", Outcome::ToolError);
    }
    let (a, b) = (a.finish().await, b.finish().await);
    assert_eq!((a.records, b.records), (52, 52));
    let report = verify::verify_dir(home.path());
    assert_eq!(report.status, "ok", "{}", verify::render(&report));
    assert_eq!(report.files.len(), 1);
    assert_eq!(report.files[0].records, 104);
    let head = report.head.unwrap();
    assert_eq!((head.status, head.seq), ("ok", Some(103)));
    let sessions: Vec<String> = lines(&a.path.unwrap())
        .iter()
        .map(|r| r["session_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sessions.iter().filter(|s| *s == "a").count(), 52);
}

#[tokio::test]
async fn arguments_over_the_queue_budget_are_recorded_by_size_only() {
    let home = tempfile::tempdir().unwrap();
    let audit = Audit::start_with(
        home.path().to_owned(),
        "s",
        "a",
        AuditConfig {
            queue_records: 16,
            queue_argument_bytes: 8,
            ..AuditConfig::default()
        },
    );
    audit.decision(
        &call(1, "t", r#"{"a":"0123456789"}"#),
        &Decision::Allow,
        Mode::Block,
        DecisionSource::Local,
    );
    let summary = audit.finish().await;
    let records = lines(&summary.path.unwrap());
    assert_eq!(
        records[1]["arguments"],
        json!({"$summary": {"reason": "backlog", "bytes": 18}})
    );
}

#[tokio::test]
async fn an_unwritable_folder_drops_and_counts_without_failing_the_session() {
    let home = tempfile::tempdir().unwrap();
    let not_a_dir = home.path().join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let audit = Audit::start(not_a_dir.join("audit"), "s", "a");
    audit.tool_result(1, "t", Outcome::Ok);
    let summary = audit.finish().await;
    assert_eq!(summary.path, None);
    assert_eq!(summary.records, 0);
    assert_eq!(summary.dropped, 3, "start, the result and the end");
}

/// A chain in memory whose appends can be made to fail, tearing the write (two thirds written) as a full
/// disk would; when the torn part cannot be cut away, the next append goes to a new "file".
#[derive(Clone, Default)]
struct FlakyStore {
    files: Arc<Mutex<Vec<Vec<u8>>>>,
    chain: Arc<Mutex<Option<Chain>>>,
    fail: Arc<Mutex<bool>>,
    fail_rollback: Arc<Mutex<bool>>,
    abandoned: Arc<Mutex<bool>>,
}

impl FlakyStore {
    fn file(&self, n: usize) -> Vec<u8> {
        self.files.lock().unwrap()[n].clone()
    }
}

impl Store for FlakyStore {
    fn begin(&mut self) -> std::io::Result<Begin> {
        let chain = self.chain.lock().unwrap().clone();
        Ok(Begin {
            chain: chain.unwrap_or_else(Chain::genesis),
            notice: None,
        })
    }

    fn commit(&mut self, bytes: &[u8], end: &Chain, _durable: bool) -> std::io::Result<()> {
        let mut files = self.files.lock().unwrap();
        if files.is_empty() || std::mem::take(&mut *self.abandoned.lock().unwrap()) {
            files.push(Vec::new());
        }
        let content = files.last_mut().unwrap();
        if *self.fail.lock().unwrap() {
            let good = content.len();
            content.extend_from_slice(&bytes[..bytes.len() * 2 / 3]);
            if *self.fail_rollback.lock().unwrap() {
                *self.abandoned.lock().unwrap() = true;
            } else {
                content.truncate(good);
            }
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left on device",
            ));
        }
        content.extend_from_slice(bytes);
        *self.chain.lock().unwrap() = Some(end.clone());
        Ok(())
    }

    fn path(&self) -> Option<PathBuf> {
        let n = self.files.lock().unwrap().len();
        (n > 0).then(|| PathBuf::from(format!("file-{n}")))
    }
}

fn writer(store: FlakyStore) -> Writer<FlakyStore> {
    let ids = Ids {
        session_id: "s".into(),
        agent_id: "a".into(),
    };
    Writer::new(ids, Arc::new(Shared::new(usize::MAX)), store)
}

fn results(n: usize) -> Vec<Entry> {
    (0..n)
        .map(|i| Entry {
            call_id: Some(i as u64),
            outcome: Some(Outcome::Ok),
            ..Entry::new(EventKind::ToolResult)
        })
        .collect()
}

#[test]
fn a_full_disk_drops_and_counts_the_batch_and_the_chain_stays_whole() {
    let store = FlakyStore::default();
    let mut w = writer(store.clone());
    w.write(results(3));
    *store.fail.lock().unwrap() = true;
    w.write(results(4));
    w.write(results(2));
    assert_eq!(w.shared.dropped(), 6);
    *store.fail.lock().unwrap() = false;
    w.write(results(1));
    let content = store.file(0);
    let check = verify::check(content.as_slice());
    assert_eq!(
        check.first_break,
        None,
        "{}",
        String::from_utf8_lossy(&content)
    );
    assert_eq!(check.records, 5);
    let records: Vec<Value> = content
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(records[3]["event"], "records_dropped");
    assert_eq!(records[3]["dropped"], 6);
    assert_eq!(records[4]["event"], "tool_result");
    assert_eq!(w.summary().records, 5);
    assert_eq!(w.summary().dropped, 6);
}

#[test]
fn when_a_torn_line_cannot_be_cut_away_a_new_file_continues_the_chain() {
    let store = FlakyStore::default();
    let mut w = writer(store.clone());
    w.write(results(2));
    *store.fail.lock().unwrap() = true;
    *store.fail_rollback.lock().unwrap() = true;
    w.write(results(2));
    *store.fail.lock().unwrap() = false;
    w.write(results(1));
    let (first, second) = (store.file(0), store.file(1));
    // The first file ends in a torn line, which verify reports.
    assert!(verify::check(first.as_slice()).first_break.is_some());
    let check = verify::check_continuing(second.as_slice());
    assert_eq!(
        check.first_break,
        None,
        "{}",
        String::from_utf8_lossy(&second)
    );
    let opening: Value =
        serde_json::from_slice(second.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(opening["event"], "records_dropped");
    assert_eq!(opening["dropped"], 2);
    // It links to the last whole record of the first file, not to a new genesis.
    let last_good = first.split(|b| *b == b'\n').nth(1).unwrap();
    assert_eq!(opening["seq"], 2);
    assert_eq!(opening["prev_sha256"], sha256_hex(last_good));
}

#[test]
fn file_names_sort_by_start_time_and_carry_the_pid() {
    let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_738_318_530);
    assert_eq!(file_stem(at, 4242), "audit-2025-01-31T101530Z-4242");
}
