//! The audit module's one bounded line reader (the checker and `store`'s first-record lookup): each line as
//! it is written, CR included, so the chain hashes exactly the bytes on disk. A leaf of `audit`.

use std::io::BufRead;

/// Records are a few KiB; a longer line is reported, not read into memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

pub(crate) enum LineRead {
    Eof,
    Line,
    /// A last line without `\n`.
    Partial,
    TooLong,
}

/// Read one line (without its `\n`) into `buf`, holding at most `max` bytes; a longer one is skipped. The
/// audit module's one bounded line reader (the checker and `store`'s first-record lookup).
pub(crate) fn read_line(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<LineRead> {
    buf.clear();
    let mut too_long = false;
    loop {
        let available = match r.fill_buf() {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            return Ok(match (too_long, buf.is_empty()) {
                (true, _) => LineRead::TooLong,
                (false, true) => LineRead::Eof,
                (false, false) => LineRead::Partial,
            });
        }
        let newline = memchr::memchr(b'\n', available);
        let chunk = &available[..newline.unwrap_or(available.len())];
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = newline.map_or(available.len(), |i| i + 1);
        r.consume(used);
        if newline.is_some() {
            return Ok(if too_long {
                LineRead::TooLong
            } else {
                LineRead::Line
            });
        }
    }
}
