use super::*;
use crate::audit::events::{Event, EventType, SourceType};
use crate::audit::DecisionKind;

fn batch(first: u64, n: u64) -> EventBatch {
    EventBatch {
        events: (first..first + n)
            .map(|i| Event {
                event_type: EventType::ToolCallPre,
                source_type: SourceType::AgentToolCall,
                agent_id: "a".into(),
                session_id: "s".into(),
                tool_name: "t".into(),
                content: serde_json::json!({"i": i}),
                session_tool_calls: i,
                decision: DecisionKind::Allow,
                occurred_at: "2025-01-31T10:15:30.123Z".into(),
                endpoint_id: "e".into(),
            })
            .collect(),
    }
}

fn first_call(spool: &Spool, id: BatchId) -> u64 {
    spool.load(id).unwrap().events[0].session_tool_calls
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn batches_replay_in_order_across_a_restart_and_leave_only_on_ack() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("spool");
    let mut spool = Spool::open(&dir, SpoolLimits::default()).unwrap();
    for i in 0..12 {
        spool.push(&batch(i * 10, 10)).unwrap();
    }
    assert_eq!(spool.len(), 12);
    let body = std::fs::read(dir.join("00000000000000000000.json")).unwrap();
    let wire: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(wire["events"][0]["event_type"], "TOOL_CALL_PRE");
    assert_eq!(wire["events"][0]["source_type"], "agent_tool_call");
    drop(spool);

    let spool = Spool::open(&dir, SpoolLimits::default()).unwrap();
    let order: Vec<u64> = spool.pending().map(|id| first_call(&spool, id)).collect();
    assert_eq!(order, (0..12).map(|i| i * 10).collect::<Vec<_>>());
    let first = spool.pending().next().unwrap();
    assert_eq!(spool.load(first).unwrap(), batch(0, 10));
    // Not acked: still there after another restart.
    drop(spool);
    let mut spool = Spool::open(&dir, SpoolLimits::default()).unwrap();
    assert_eq!(spool.len(), 12);
    spool.ack(first).unwrap();
    spool.ack(first).unwrap();
    assert_eq!(spool.len(), 11);
    // New batches go after the old ones.
    let id = spool.push(&batch(500, 1)).unwrap();
    assert_eq!(spool.pending().last(), Some(id));
    drop(spool);
    let spool = Spool::open(&dir, SpoolLimits::default()).unwrap();
    assert_eq!(spool.len(), 12);
    assert_eq!(first_call(&spool, spool.pending().next().unwrap()), 10);
    assert_eq!(first_call(&spool, spool.pending().last().unwrap()), 500);
}

#[test]
fn when_full_the_oldest_batches_are_shed_and_counted() {
    let home = tempfile::tempdir().unwrap();
    let limits = SpoolLimits {
        max_bytes: u64::MAX,
        max_batches: 5,
    };
    let mut spool = Spool::open(home.path(), limits).unwrap();
    for i in 0..20 {
        spool.push(&batch(i, 1)).unwrap();
        assert!(spool.len() <= 5);
    }
    assert_eq!(spool.shed_total(), 15);
    let kept: Vec<u64> = spool.pending().map(|id| first_call(&spool, id)).collect();
    assert_eq!(kept, [15, 16, 17, 18, 19]);
    assert_eq!(files(home.path()).len(), 5);

    // By bytes: each batch is the same size, so the cap holds a fixed number.
    let one = serde_json::to_vec(&batch(0, 3)).unwrap().len() as u64;
    let dir = home.path().join("bytes");
    let mut spool = Spool::open(
        &dir,
        SpoolLimits {
            max_bytes: one * 3 + one / 2,
            max_batches: 1000,
        },
    )
    .unwrap();
    for i in 0..10 {
        spool.push(&batch(i, 3)).unwrap();
        assert!(spool.bytes() <= one * 3 + one / 2);
    }
    assert_eq!(spool.len(), 3);
    assert_eq!(spool.shed_total(), 7);
    // One batch larger than the whole spool is refused, not stored.
    assert!(matches!(
        spool.push(&batch(0, 100)),
        Err(Error::TooLarge { .. })
    ));
    assert_eq!(spool.len(), 3);
}

#[test]
fn opening_sheds_down_to_smaller_limits_and_sweeps_only_stale_temp_files() {
    let home = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(home.path(), SpoolLimits::default()).unwrap();
    for i in 0..6 {
        spool.push(&batch(i, 1)).unwrap();
    }
    drop(spool);
    std::fs::write(home.path().join(".tmpFRESH"), "half").unwrap();
    std::fs::write(home.path().join("README"), "not a batch").unwrap();
    let spool = Spool::open(
        home.path(),
        SpoolLimits {
            max_bytes: u64::MAX,
            max_batches: 2,
        },
    )
    .unwrap();
    assert_eq!(spool.shed_total(), 4);
    assert_eq!(
        files(home.path()),
        [
            ".tmpFRESH",
            "00000000000000000004.json",
            "00000000000000000005.json",
            "README"
        ]
    );
}

#[test]
fn a_corrupt_batch_is_an_error_naming_its_file() {
    let home = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(home.path(), SpoolLimits::default()).unwrap();
    let id = spool.push(&batch(0, 1)).unwrap();
    std::fs::write(
        home.path().join("00000000000000000000.json"),
        "{\"events\": [",
    )
    .unwrap();
    let err = spool.load(id).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().contains("00000000000000000000.json"),
        "{err}"
    );
}

#[test]
fn two_spools_on_one_folder_never_overwrite_each_other() {
    let home = tempfile::tempdir().unwrap();
    let mut a = Spool::open(home.path(), SpoolLimits::default()).unwrap();
    let mut b = Spool::open(home.path(), SpoolLimits::default()).unwrap();
    let ia = a.push(&batch(1, 1)).unwrap();
    let ib = b.push(&batch(2, 1)).unwrap();
    assert_ne!(ia, ib);
    assert_eq!(first_call(&a, ia), 1);
    assert_eq!(first_call(&b, ib), 2);
}

#[cfg(unix)]
#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".thoth").join("spool");
    let mut spool = Spool::open(&dir, SpoolLimits::default()).unwrap();
    spool.push(&batch(0, 1)).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("00000000000000000000.json")), 0o600);
}

thread_local! {
    /// What tracing wrote on this thread (each test runs on its own thread).
    static CAPTURED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Writes into the calling thread's `CAPTURED`.
struct Captured;

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED.with(|c| c.borrow_mut().extend_from_slice(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One process-wide subscriber writing per thread. A scoped (`with_default`) subscriber races with other
/// tests over tracing's per-callsite interest cache, and then sometimes misses an event; a global one cannot.
fn capture_logs() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(|| Captured)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in unit tests");
    });
    CAPTURED.with(|c| c.borrow_mut().clear());
}

#[test]
fn shedding_says_so_in_the_log() {
    capture_logs();
    let home = tempfile::tempdir().unwrap();
    let limits = SpoolLimits {
        max_bytes: u64::MAX,
        max_batches: 2,
    };
    let mut spool = Spool::open(home.path(), limits).unwrap();
    for i in 0..3 {
        spool.push(&batch(i, 1)).unwrap();
    }
    assert_eq!(spool.shed_total(), 1);
    let log = CAPTURED.with(|c| String::from_utf8(c.borrow().clone()).unwrap());
    assert!(log.contains("WARN"), "{log}");
    assert!(log.contains("spool full: shed 1 batches"), "{log}");
}
