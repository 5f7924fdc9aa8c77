use std::sync::atomic::AtomicBool;

use super::*;
use crate::audit::spool::SpoolLimits;

/// An in-memory enforcer that can be switched down (retryable failures) and up, or made to refuse.
#[derive(Clone, Default)]
struct FakeEnforcer {
    down: Arc<AtomicBool>,
    refuse: Arc<AtomicBool>,
    received: Arc<Mutex<Vec<EventBatch>>>,
    attempts: Arc<AtomicU64>,
}

impl FakeEnforcer {
    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn events(&self) -> Vec<(EventType, u64)> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .flat_map(|b| {
                b.events
                    .iter()
                    .map(|e| (e.event_type, e.session_tool_calls))
            })
            .collect()
    }
}

impl Transport for FakeEnforcer {
    async fn send(&self, batch: &EventBatch) -> Result<(), SendError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
        if self.down.load(Ordering::SeqCst) {
            return Err(SendError::from_status(503, "unavailable"));
        }
        if self.refuse.load(Ordering::SeqCst) {
            return Err(SendError::from_status(400, "bad request"));
        }
        self.received.lock().unwrap().push(batch.clone());
        Ok(())
    }
}

fn ctx() -> EventContext {
    EventContext {
        agent_id: "fs".into(),
        session_id: "s-1".into(),
        endpoint_id: "e-1".into(),
    }
}

fn fast(max_batch_events: usize) -> SinkConfig {
    SinkConfig {
        max_batch_events,
        flush_interval: Duration::from_millis(5),
        queue_events: 100_000,
        queue_bytes: usize::MAX,
        retry_initial: Duration::from_millis(1),
        retry_max: Duration::from_millis(10),
    }
}

/// Wait (bounded) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// PRE and POST for calls `range`, in order.
fn calls(sink: &EventSink, range: std::ops::Range<u64>) -> Vec<(EventType, u64)> {
    let mut expected = Vec::new();
    for i in range {
        let args = Bytes::from(format!(r#"{{"i":{i},"api_key":"k-{i}"}}"#));
        sink.pre("read_file", Some(args), DecisionKind::Allow, i);
        sink.post(
            "read_file",
            Some(Bytes::from_static(b"{\"content\":[]}")),
            DecisionKind::Allow,
            i,
        );
        expected.push((EventType::ToolCallPre, i));
        expected.push((EventType::ToolCallPost, i));
    }
    expected
}

#[tokio::test]
async fn no_event_is_lost_or_reordered_across_an_outage_of_many_batches() {
    let home = tempfile::tempdir().unwrap();
    let enforcer = FakeEnforcer::default();
    let spool = Spool::open(home.path(), SpoolLimits::default()).unwrap();
    let sink = EventSink::start(enforcer.clone(), spool, ctx(), fast(10));

    let mut expected = calls(&sink, 0..20);
    until("the first events", || enforcer.events().len() == 40).await;
    enforcer.set_down(true);
    expected.extend(calls(&sink, 20..270));
    // 500 events in batches of at most 10: at least 50 batches go to the spool.
    until("the outage's batches in the spool", || {
        sink.stats().spool_batches >= 50
    })
    .await;
    assert_eq!(sink.stats().sent_events, 40);
    enforcer.set_down(false);
    expected.extend(calls(&sink, 270..300));
    until("every event", || enforcer.events().len() == expected.len()).await;
    let stats = sink.finish().await;

    assert_eq!(
        enforcer.events(),
        expected,
        "every PRE and POST, once, in order"
    );
    assert_eq!(stats.sent_events, 600);
    assert!(stats.spooled_batches >= 50, "{stats:?}");
    assert_eq!(stats.replayed_batches, stats.spooled_batches);
    assert_eq!(
        (
            stats.dropped_events,
            stats.shed_batches,
            stats.spool_batches
        ),
        (0, 0, 0)
    );
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);

    // The wire shape, redacted.
    let first = enforcer.received.lock().unwrap()[0].events[0].clone();
    let wire = serde_json::to_value(&first).unwrap();
    assert_eq!(wire["event_type"], "TOOL_CALL_PRE");
    assert_eq!(wire["source_type"], "agent_tool_call");
    assert_eq!(wire["agent_id"], "fs");
    assert_eq!(wire["session_id"], "s-1");
    assert_eq!(wire["endpoint_id"], "e-1");
    assert_eq!(wire["tool_name"], "read_file");
    assert_eq!(wire["decision"], "ALLOW");
    assert_eq!(
        wire["content"],
        serde_json::json!({"i": 0, "api_key": "[REDACTED]"})
    );
    assert!(wire["occurred_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_long_outage_keeps_the_spool_bounded_and_says_what_it_shed() {
    let home = tempfile::tempdir().unwrap();
    let enforcer = FakeEnforcer::default();
    enforcer.set_down(true);
    let limits = SpoolLimits {
        max_bytes: u64::MAX,
        max_batches: 5,
    };
    let spool = Spool::open(home.path(), limits).unwrap();
    let sink = EventSink::start(enforcer.clone(), spool, ctx(), fast(10));
    let expected = calls(&sink, 0..100);
    until("20 batches spooled", || sink.stats().spooled_batches == 20).await;
    let stats = sink.stats();
    assert_eq!((stats.spool_batches, stats.shed_batches), (5, 15));
    assert!(std::fs::read_dir(home.path()).unwrap().count() <= 5);
    enforcer.set_down(false);
    until("the kept batches", || enforcer.events().len() == 50).await;
    let stats = sink.finish().await;
    // The newest five batches survive, in order.
    assert_eq!(enforcer.events(), expected[150..]);
    assert_eq!(stats.shed_batches, 15);
    assert_eq!(stats.spool_batches, 0);
}

#[tokio::test]
async fn a_spool_left_by_an_earlier_run_is_sent_before_new_events() {
    let home = tempfile::tempdir().unwrap();
    let enforcer = FakeEnforcer::default();
    enforcer.set_down(true);
    let first = EventSink::start(
        enforcer.clone(),
        Spool::open(home.path(), SpoolLimits::default()).unwrap(),
        ctx(),
        fast(4),
    );
    let mut expected = calls(&first, 0..10);
    let stats = first.finish().await;
    assert_eq!(stats.sent_events, 0);
    assert_eq!(stats.spool_batches, 5, "{stats:?}");

    enforcer.set_down(false);
    let spool = Spool::open(home.path(), SpoolLimits::default()).unwrap();
    assert_eq!(spool.len(), 5);
    let second = EventSink::start(enforcer.clone(), spool, ctx(), fast(4));
    expected.extend(calls(&second, 10..12));
    until("both runs' events", || {
        enforcer.events().len() == expected.len()
    })
    .await;
    let stats = second.finish().await;
    assert_eq!(enforcer.events(), expected);
    assert_eq!(stats.replayed_batches, 5);
}

#[tokio::test]
async fn refused_batches_are_dropped_and_counted_not_spooled() {
    let home = tempfile::tempdir().unwrap();
    let enforcer = FakeEnforcer::default();
    enforcer.refuse.store(true, Ordering::SeqCst);
    let sink = EventSink::start(
        enforcer.clone(),
        Spool::open(home.path(), SpoolLimits::default()).unwrap(),
        ctx(),
        fast(2),
    );
    calls(&sink, 0..3);
    let stats = sink.finish().await;
    assert_eq!(stats.rejected_batches, 3);
    assert_eq!(
        (
            stats.sent_events,
            stats.spooled_batches,
            stats.spool_batches
        ),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_instead_of_waiting() {
    let home = tempfile::tempdir().unwrap();
    let enforcer = FakeEnforcer::default();
    let config = SinkConfig {
        queue_events: 4,
        max_batch_events: 1000,
        flush_interval: Duration::from_secs(3600),
        ..fast(1)
    };
    let sink = EventSink::start(
        enforcer.clone(),
        Spool::open(home.path(), SpoolLimits::default()).unwrap(),
        ctx(),
        config,
    );
    // The sink task cannot run in between (current-thread runtime, no await): the queue fills.
    calls(&sink, 0..5);
    assert_eq!(sink.stats().dropped_events, 6);
    let stats = sink.finish().await;
    assert_eq!(stats.sent_events, 4);
    assert_eq!(
        enforcer.events(),
        [
            (EventType::ToolCallPre, 0),
            (EventType::ToolCallPost, 0),
            (EventType::ToolCallPre, 1),
            (EventType::ToolCallPost, 1)
        ]
    );
}

#[tokio::test]
async fn the_queue_is_bounded_in_bytes_and_sending_makes_room_again() {
    let home = tempfile::tempdir().unwrap();
    let enforcer = FakeEnforcer::default();
    let config = SinkConfig {
        queue_bytes: 1000,
        max_batch_events: 2,
        ..fast(2)
    };
    let sink = EventSink::start(
        enforcer.clone(),
        Spool::open(home.path(), SpoolLimits::default()).unwrap(),
        ctx(),
        config,
    );
    let big = |i: u64| Bytes::from(format!(r#"{{"i":{i},"pad":"{}"}}"#, "x".repeat(400)));
    // No await in between: the worker cannot take any off, so the third 400-byte event is over the budget.
    for i in 0..3 {
        sink.pre("read_file", Some(big(i)), DecisionKind::Allow, i);
    }
    assert_eq!(sink.stats().dropped_events, 1);
    until("the first two sent", || sink.stats().sent_events == 2).await;
    // Sent: their bytes left the budget, so two more fit again.
    for i in 3..5 {
        sink.pre("read_file", Some(big(i)), DecisionKind::Allow, i);
    }
    assert_eq!(sink.stats().dropped_events, 1);
    let stats = sink.finish().await;
    assert_eq!(stats.sent_events, 4);
    assert_eq!(
        enforcer
            .events()
            .iter()
            .map(|(_, i)| *i)
            .collect::<Vec<_>>(),
        [0, 1, 3, 4]
    );
}

#[test]
fn statuses_are_classified_as_retryable_or_permanent() {
    for status in [429, 500, 502, 503, 504] {
        assert!(
            matches!(SendError::from_status(status, ""), SendError::Retryable(_)),
            "{status}"
        );
    }
    for status in [400, 401, 403, 404, 413, 422] {
        assert!(
            matches!(SendError::from_status(status, ""), SendError::Permanent(_)),
            "{status}"
        );
    }
}

#[test]
fn retries_double_with_jitter_and_honour_retry_after() {
    let config = SinkConfig {
        retry_initial: Duration::from_secs(1),
        retry_max: Duration::from_secs(60),
        ..SinkConfig::default()
    };
    let mut rng = fastrand::Rng::with_seed(16);
    let plain = SendError::Retryable("HTTP 503".into());
    for (failures, nominal) in [
        (0, 1.0),
        (1, 2.0),
        (2, 4.0),
        (5, 32.0),
        (6, 60.0),
        (40, 60.0),
    ] {
        for _ in 0..200 {
            let w = retry_wait(&config, failures, &plain, &mut rng).as_secs_f64();
            assert!(
                (nominal * 0.9 - 1e-9..=nominal * 1.1 + 1e-9).contains(&w),
                "{failures}: {w}"
            );
        }
    }
    for (asked, floor) in [(5, 5.0), (0, 0.9), (1_000_000, 3600.0)] {
        let throttled = SendError::Throttled {
            why: "HTTP 503".into(),
            retry_after: Duration::from_secs(asked),
        };
        for _ in 0..200 {
            let w = retry_wait(&config, 0, &throttled, &mut rng).as_secs_f64();
            // At least what was asked (capped), spread over at most one `retry_initial` after it.
            assert!(
                w >= floor - 1e-9 && w <= floor.max(1.1) + 1.0 + 1e-9,
                "{asked}: {w}"
            );
        }
    }
}
