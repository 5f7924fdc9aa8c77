//! Bounded NDJSON framing: any bytes never panic, every line is under the cap and holds no newline, and how
//! the bytes are cut into reads does not change the frames (one read of everything vs reads of 1-17 bytes).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use thoth::proxy::framing::{Frame, LineCodec};
use tokio_util::codec::Decoder;

const MAX: usize = 64;

#[derive(Debug, PartialEq)]
enum Seen {
    Line(Vec<u8>),
    Oversized(Vec<u8>, usize),
}

fn frames(data: &[u8], chunk: usize) -> Vec<Seen> {
    let mut codec = LineCodec::new(MAX);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut take = |frame: Frame| match frame {
        Frame::Line(line) => {
            assert!(line.len() <= MAX, "a line over the cap came through");
            assert!(!line.contains(&b'\n'));
            out.push(Seen::Line(line.to_vec()));
        }
        Frame::Oversized { prefix, len } => {
            assert!(len > MAX && prefix.len() <= len);
            out.push(Seen::Oversized(prefix.to_vec(), len));
        }
    };
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(frame) = codec.decode(&mut buf).expect("decode never fails") {
            take(frame);
        }
    }
    while let Some(frame) = codec.decode_eof(&mut buf).expect("decode_eof never fails") {
        take(frame);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else { return };
    let whole = frames(data, data.len());
    let pieces = frames(data, usize::from(cut % 17) + 1);
    assert_eq!(whole, pieces);
});
