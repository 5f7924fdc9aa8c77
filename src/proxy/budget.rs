//! Byte budgets for everything `thoth run` keeps while it waits on a peer (issue 12 §4, README "Bounded
//! memory"). Each queue that grows with input is counted in bytes; at its budget the session stops reading the
//! side that feeds it (backpressure) instead of buffering more or dropping anything.
//!
//! | queue                                              | budget                 | who stops being read |
//! |----------------------------------------------------|------------------------|----------------------|
//! | frames waiting for a peer to read (per outlet)     | `outlet::BACKLOG_BYTES`| the side feeding it  |
//! | thoth's own answers to a peer's input (per outlet) | `outlet::ECHO_BYTES`   | that peer            |
//! | tools/calls held for a decision (`HeldCalls`)      | `HELD_BYTES`           | the client           |
//!
//! A queue under its budget takes one more frame, so each side can go over by one line (the line cap): with
//! both read buffers that is where the `2 × --max-line-bytes` of the bound comes from.

use std::collections::HashMap;

use serde::de::{IgnoredAny, SeqAccess, Visitor};

/// Bytes of held tools/calls (their lines, plus the enforcer request's copy of the arguments) past which
/// thoth stops reading the client until decisions come back.
pub const HELD_BYTES: usize = 8 * 1024 * 1024;
/// What one held call costs besides its bytes (the decision task, its request, table entries).
pub const HELD_CALL_OVERHEAD: usize = 2048;
/// A batch with more elements than this is refused whole (one error), so one line cannot make thoth build
/// millions of answers: answers to a batch are then at most its own size plus this many small errors.
pub const MAX_BATCH_ELEMENTS: usize = 1024;
/// Lines shorter than this are copied out of the read buffer, so a small message kept for long (a held call,
/// a frame queued for a slow peer) pins only its own bytes, not the whole buffer it was read into.
pub const COPY_LINES_BELOW: usize = 64 * 1024;

/// Held tools/calls waiting for their decision, and the bytes they keep.
#[derive(Debug, Default)]
pub struct HeldCalls {
    bytes: usize,
    by_call: HashMap<u64, usize>,
}

impl HeldCalls {
    /// A call from a line of `line_len` bytes with `arguments_len` bytes of arguments now waits for the
    /// enforcer. Each call is charged its whole line (it keeps the line alive), so a batch is over-counted,
    /// never under-counted.
    pub fn hold(&mut self, proxy_id: u64, line_len: usize, arguments_len: usize) {
        let cost = line_len + arguments_len + HELD_CALL_OVERHEAD;
        if let Some(old) = self.by_call.insert(proxy_id, cost) {
            self.bytes -= old;
        }
        self.bytes += cost;
    }

    /// The call was decided (or abandoned): its bytes are free.
    pub fn release(&mut self, proxy_id: u64) {
        if let Some(cost) = self.by_call.remove(&proxy_id) {
            self.bytes -= cost;
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn has_room(&self) -> bool {
        self.bytes < HELD_BYTES
    }

    pub fn clear(&mut self) {
        self.by_call.clear();
        self.bytes = 0;
    }
}

/// Does `line` look like a batch (`[` first) with more than `max` elements? Counts without building anything
/// (each element is skipped as `IgnoredAny`) and stops at `max + 1`; JSON that does not parse is the router's
/// business (false).
pub fn batch_too_long(line: &[u8], max: usize) -> bool {
    let first = line.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'[') {
        return false;
    }
    /// Counts up to `max`; on `max + 1` it sets the flag and stops (serde then reports the unread rest).
    struct Count<'a> {
        max: usize,
        over: &'a std::cell::Cell<bool>,
    }
    impl<'de> Visitor<'de> for Count<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut n = 0;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                n += 1;
                if n > self.max {
                    self.over.set(true);
                    return Err(serde::de::Error::custom("too many elements"));
                }
            }
            Ok(())
        }
    }
    let over = std::cell::Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(line);
    let _ = serde::Deserializer::deserialize_seq(&mut de, Count { max, over: &over });
    over.get()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn batches_are_counted_without_building_them() {
        assert!(!batch_too_long(b"[1,2,3]", 3));
        assert!(batch_too_long(b"  [1,2,3,4]", 3));
        assert!(!batch_too_long(br#"{"a":[1,2,3,4]}"#, 3));
        assert!(!batch_too_long(b"[1,2,", 3));
        assert!(!batch_too_long(b"[]", 0));
        assert!(batch_too_long(br#"[{"id":1},[1,2],"x,y,z",null]"#, 3));
        assert!(!batch_too_long(br#"[{"id":1},[1,2],"x,y,z"]"#, 3));
    }

    #[test]
    fn held_calls_add_up_and_release() {
        let mut held = HeldCalls::default();
        held.hold(1, 100, 10);
        held.hold(2, 100, 0);
        assert_eq!(held.bytes(), 210 + 2 * HELD_CALL_OVERHEAD);
        held.release(1);
        held.release(1);
        assert_eq!(held.bytes(), 100 + HELD_CALL_OVERHEAD);
        held.hold(3, HELD_BYTES, 0);
        assert!(!held.has_room());
        held.clear();
        assert_eq!(held.bytes(), 0);
    }

    proptest! {
        /// Any number of elements of any JSON kind: the count is exact around the limit.
        #[test]
        fn the_count_is_exact(kinds in proptest::collection::vec(0u8..5, 0..40), max in 0usize..40) {
            let elements: Vec<&str> = kinds.iter().map(|k| match k {
                0 => "1", 1 => r#""a,]""#, 2 => "[1,[2]]", 3 => r#"{"id":[1,2]}"#, _ => "null",
            }).collect();
            let line = format!("[{}]", elements.join(","));
            prop_assert_eq!(batch_too_long(line.as_bytes(), max), elements.len() > max);
        }

        /// Holding and releasing in any order never leaves bytes behind.
        #[test]
        fn held_bytes_return_to_zero(ops in proptest::collection::vec((0u64..8, 0usize..1000, any::<bool>()), 0..64)) {
            let mut held = HeldCalls::default();
            for (id, len, hold) in &ops {
                if *hold { held.hold(*id, *len, *len / 2) } else { held.release(*id) }
            }
            for id in 0..8 { held.release(id) }
            prop_assert_eq!(held.bytes(), 0);
        }
    }
}
