//! Bounded newline framing: bytes in, `Frame`s out. Sees bytes only, never JSON (STYLE.md §4, DESIGN.md §2).
//! Splits on `\n` alone (U+2028 and friends pass through inside a line), strips one trailing `\r`, skips
//! blank lines, and never buffers more than `max_line_bytes` (+ a small prefix kept to recover an id).

use bytes::BytesMut;
use tokio_util::codec::Decoder;

/// How much of an oversized line is kept so its `id` can still be recovered and answered.
pub const RECOVERY_PREFIX_BYTES: usize = 64 * 1024;
/// A read buffer that grew past this for a large message is replaced by a small one once the message is out,
/// so one 10 MB message does not stay resident for the rest of the session.
const SHRINK_ABOVE_BYTES: usize = 1024 * 1024;
const SHRUNK_BYTES: usize = 64 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// One line without its line ending.
    Line(BytesMut),
    /// A line longer than the cap, discarded: its first bytes and its full length.
    Oversized { prefix: BytesMut, len: usize },
}

#[derive(Debug)]
pub struct LineCodec {
    max_line_bytes: usize,
    /// Where to resume scanning for `\n` in the buffer (bytes before it hold none).
    scanned: usize,
    /// Set while skipping the rest of an oversized line.
    discarding: Option<Discard>,
}

/// The part of an oversized line kept so far, its length, and whether its last byte was `\r` (not part of
/// the line if `\n` follows, exactly as for a line that arrived whole).
#[derive(Debug, Default)]
struct Discard {
    prefix: BytesMut,
    len: usize,
    last_cr: bool,
}

impl Discard {
    fn take(&mut self, bytes: &[u8]) {
        LineCodec::keep_prefix(&mut self.prefix, bytes);
        self.len += bytes.len();
        if let Some(&last) = bytes.last() {
            self.last_cr = last == b'\r';
        }
    }

    /// The frame once the line's `\n` arrived: a trailing `\r` dropped from length and prefix.
    fn finish(mut self) -> Frame {
        if self.last_cr {
            if self.prefix.len() == self.len {
                self.prefix.truncate(self.len - 1);
            }
            self.len -= 1;
        }
        Frame::Oversized {
            prefix: self.prefix,
            len: self.len,
        }
    }
}

impl LineCodec {
    pub fn new(max_line_bytes: usize) -> LineCodec {
        LineCodec {
            max_line_bytes: max_line_bytes.max(1),
            scanned: 0,
            discarding: None,
        }
    }

    fn keep_prefix(prefix: &mut BytesMut, bytes: &[u8]) {
        let room = RECOVERY_PREFIX_BYTES.saturating_sub(prefix.len());
        prefix.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

impl Decoder for LineCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        loop {
            if let Some(discard) = self.discarding.as_mut() {
                match memchr::memchr(b'\n', buf) {
                    Some(i) => {
                        discard.take(&buf[..i]);
                        let _ = buf.split_to(i + 1);
                        let discard = self.discarding.take().unwrap_or_default();
                        return Ok(Some(discard.finish()));
                    }
                    None => {
                        discard.take(buf);
                        buf.clear();
                        return Ok(None);
                    }
                }
            }
            match memchr::memchr(b'\n', &buf[self.scanned..]) {
                Some(offset) => {
                    let end = self.scanned + offset;
                    self.scanned = 0;
                    let mut line = buf.split_to(end + 1);
                    shrink(buf);
                    line.truncate(end);
                    if line.last() == Some(&b'\r') {
                        line.truncate(end - 1);
                    }
                    if line.len() > self.max_line_bytes {
                        let len = line.len();
                        line.truncate(RECOVERY_PREFIX_BYTES);
                        return Ok(Some(Frame::Oversized { prefix: line, len }));
                    }
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Ok(Some(Frame::Line(line)));
                }
                // One byte of room past the cap: it may be the `\r` of a line exactly at the cap.
                None if buf.len() > self.max_line_bytes + 1 => {
                    let mut discard = Discard::default();
                    discard.take(buf);
                    self.discarding = Some(discard);
                    self.scanned = 0;
                    buf.clear();
                }
                None => {
                    self.scanned = buf.len();
                    return Ok(None);
                }
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        // A last line without a newline still counts; so does an oversized tail.
        if let Some(discard) = self.discarding.take() {
            return Ok(Some(discard.finish()));
        }
        self.scanned = 0;
        if buf.is_empty() || buf.iter().all(u8::is_ascii_whitespace) {
            buf.clear();
            return Ok(None);
        }
        let mut line = buf.split();
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.len() > self.max_line_bytes {
            let len = line.len();
            line.truncate(RECOVERY_PREFIX_BYTES);
            return Ok(Some(Frame::Oversized { prefix: line, len }));
        }
        Ok(Some(Frame::Line(line)))
    }
}

/// Give up a large allocation the buffer no longer needs (the line split off it keeps its own share).
fn shrink(buf: &mut BytesMut) {
    if buf.capacity() > SHRINK_ABOVE_BYTES && buf.len() < SHRUNK_BYTES {
        let mut fresh = BytesMut::with_capacity(SHRUNK_BYTES);
        fresh.extend_from_slice(buf);
        *buf = fresh;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(cap: usize, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut codec = LineCodec::new(cap);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(f) = codec.decode(&mut buf).unwrap() {
                out.push(f);
            }
        }
        while let Some(f) = codec.decode_eof(&mut buf).unwrap() {
            out.push(f);
        }
        out
    }

    fn line(s: &[u8]) -> Frame {
        Frame::Line(BytesMut::from(s))
    }

    #[test]
    fn splits_on_newline_only_and_strips_cr() {
        let f = frames(
            100,
            &[
                b"{\"a\":\"\xe2\x80\xa8\"}\r\n{\"b\"",
                b":1}\n\n  \n{\"c\":2}",
            ],
        );
        assert_eq!(
            f,
            vec![
                line(b"{\"a\":\"\xe2\x80\xa8\"}"),
                line(b"{\"b\":1}"),
                line(b"{\"c\":2}")
            ]
        );
    }

    #[test]
    fn a_read_may_end_inside_a_multibyte_character() {
        let f = frames(100, &[b"{\"x\":\"\xc3", b"\xa9\"}\n"]);
        assert_eq!(f, vec![line("{\"x\":\"é\"}".as_bytes())]);
    }

    #[test]
    fn oversized_lines_are_discarded_and_the_stream_goes_on() {
        let long = vec![b'x'; 50];
        let f = frames(10, &[b"{\"id\":1,", &long, b"}\nok\n"]);
        assert_eq!(f.len(), 2);
        match &f[0] {
            Frame::Oversized { prefix, len } => {
                assert_eq!(*len, 8 + 50 + 1);
                assert!(prefix.starts_with(b"{\"id\":1,"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(f[1], line(b"ok"));
    }

    #[test]
    fn oversized_line_within_one_chunk_and_at_eof() {
        let f = frames(4, &[b"123456\nab\n"]);
        assert_eq!(
            f,
            vec![
                Frame::Oversized {
                    prefix: BytesMut::from(&b"123456"[..]),
                    len: 6
                },
                line(b"ab")
            ]
        );
        let f = frames(4, &[b"123456"]);
        assert!(matches!(&f[..], [Frame::Oversized { len: 6, .. }]));
    }

    #[test]
    fn the_recovery_prefix_is_bounded() {
        let big = vec![b'y'; RECOVERY_PREFIX_BYTES * 3];
        let f = frames(16, &[&big, b"\n"]);
        match &f[..] {
            [Frame::Oversized { prefix, len }] => {
                assert_eq!(prefix.len(), RECOVERY_PREFIX_BYTES);
                assert_eq!(*len, big.len());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_large_line_does_not_keep_its_buffer() {
        let mut codec = LineCodec::new(usize::MAX);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&vec![b'a'; 4 * SHRINK_ABOVE_BYTES]);
        buf.extend_from_slice(b"\nnext");
        let frame = codec.decode(&mut buf).unwrap();
        assert!(matches!(frame, Some(Frame::Line(l)) if l.len() == 4 * SHRINK_ABOVE_BYTES));
        assert_eq!(&buf[..], b"next");
        assert!(
            buf.capacity() <= SHRUNK_BYTES,
            "capacity {}",
            buf.capacity()
        );
    }

    #[test]
    fn exactly_the_cap_is_accepted() {
        assert_eq!(frames(3, &[b"abc\n"]), vec![line(b"abc")]);
    }

    /// Found by the framing fuzz target: how a line is cut into reads must not change its frame.
    #[test]
    fn a_crlf_line_at_the_cap_is_the_same_however_it_arrives() {
        let whole = frames(4, &[b"abcd\r\n"]);
        assert_eq!(whole, vec![line(b"abcd")]);
        assert_eq!(frames(4, &[b"ab", b"cd\r", b"\n"]), whole);
        let over = Frame::Oversized {
            prefix: BytesMut::from(&b"abcde"[..]),
            len: 5,
        };
        assert_eq!(frames(4, &[b"abcde\r\n"]), vec![over]);
        let over = Frame::Oversized {
            prefix: BytesMut::from(&b"abcde"[..]),
            len: 5,
        };
        assert_eq!(frames(4, &[b"ab", b"cde", b"\r", b"\n"]), vec![over]);
        // A last line without a newline is held to the cap too.
        let over = Frame::Oversized {
            prefix: BytesMut::from(&b"abcde"[..]),
            len: 5,
        };
        assert_eq!(frames(4, &[b"abcde"]), vec![over]);
    }
}
