//! Server-Sent Events from a remote server, read with bounds: a line longer than the limit, or an event whose
//! data grows past it, ends the stream with `TooBig` instead of growing a buffer (a hostile or broken server
//! can send an endless line, a huge event, or bytes that never reach a newline). What is held at any time is
//! at most one line, one event's data and the events of one network chunk.

use std::collections::VecDeque;

/// One dispatched event (the SSE fields the bridge reads).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    pub event: String,
    pub data: Vec<u8>,
    pub id: String,
}

impl Event {
    /// A JSON-RPC message event (`message` or no event name), with data.
    pub fn is_message(&self) -> bool {
        (self.event.is_empty() || self.event == "message")
            && !self.data.iter().all(u8::is_ascii_whitespace)
    }
}

/// Why a stream stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The server closed it (or the connection broke).
    Closed,
    /// A line or an event was larger than the limit (bytes): the rest of the stream is not read.
    TooBig(usize),
}

/// The incremental parser (the SSE "interpret the event stream" rules: LF, CR or CRLF ends a line; `data`,
/// `event`, `id` fields; `:` comments; a blank line dispatches).
#[derive(Debug)]
pub struct Parser {
    limit: usize,
    line: Vec<u8>,
    /// The last byte seen was a CR: a following LF belongs to it.
    after_cr: bool,
    pending: Event,
    has_data: bool,
    /// The last `id` field (kept across events, as the spec's "last event ID buffer").
    last_id: String,
    ready: VecDeque<Event>,
}

impl Parser {
    /// `limit`: the largest line and the largest event data, in bytes.
    pub fn new(limit: usize) -> Parser {
        Parser {
            limit: limit.max(1),
            line: Vec::new(),
            after_cr: false,
            pending: Event::default(),
            has_data: false,
            last_id: String::new(),
            ready: VecDeque::new(),
        }
    }

    /// Feed bytes; complete events queue up for `next_event`.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), End> {
        if self.after_cr {
            self.after_cr = false;
            if chunk.first() == Some(&b'\n') {
                chunk = &chunk[1..];
            }
        }
        while let Some(at) = chunk.iter().position(|b| *b == b'\n' || *b == b'\r') {
            self.extend(&chunk[..at])?;
            let cr = chunk[at] == b'\r';
            chunk = &chunk[at + 1..];
            if cr {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            let line = std::mem::take(&mut self.line);
            self.process(&line)?;
        }
        self.extend(chunk)
    }

    pub fn next_event(&mut self) -> Option<Event> {
        self.ready.pop_front()
    }

    /// The id to resume from (`Last-Event-ID`), if the server gave one.
    pub fn last_id(&self) -> Option<&str> {
        (!self.last_id.is_empty()).then_some(self.last_id.as_str())
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), End> {
        if self.line.len() + bytes.len() > self.limit {
            return Err(End::TooBig(self.limit));
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process(&mut self, line: &[u8]) -> Result<(), End> {
        if line.is_empty() {
            let mut event = std::mem::take(&mut self.pending);
            event.id = self.last_id.clone();
            if self.has_data {
                self.has_data = false;
                if event.data.last() == Some(&b'\n') {
                    event.data.pop();
                }
                self.ready.push_back(event);
            }
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (name, value) = match line.iter().position(|b| *b == b':') {
            Some(at) => {
                let value = &line[at + 1..];
                (&line[..at], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                if self.pending.data.len() + value.len() + 1 > self.limit {
                    return Err(End::TooBig(self.limit));
                }
                self.pending.data.extend_from_slice(value);
                self.pending.data.push(b'\n');
                self.has_data = true;
            }
            b"event" => self.pending.event = String::from_utf8_lossy(value).into_owned(),
            b"id" if !value.contains(&0) => {
                self.last_id = String::from_utf8_lossy(value).into_owned()
            }
            _ => {}
        }
        Ok(())
    }
}

/// An HTTP response read as events, one network chunk at a time.
pub struct Stream {
    response: reqwest::Response,
    parser: Parser,
}

impl Stream {
    pub fn new(response: reqwest::Response, limit: usize) -> Stream {
        Stream {
            response,
            parser: Parser::new(limit),
        }
    }

    /// The next event, or why there is none.
    pub async fn next(&mut self) -> Result<Event, End> {
        loop {
            if let Some(event) = self.parser.next_event() {
                return Ok(event);
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.parser.feed(&chunk)?,
                Ok(None) => return Err(End::Closed),
                Err(err) => {
                    tracing::debug!(error = %crate::net::describe(&err), "the SSE stream broke");
                    return Err(End::Closed);
                }
            }
        }
    }

    pub fn last_id(&self) -> Option<&str> {
        self.parser.last_id()
    }
}

/// Read a whole (non-SSE) body, refusing one larger than `limit` bytes without holding more than that.
pub async fn read_body(response: &mut reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let too_big = || format!("a body larger than {limit} bytes (--max-line-bytes)");
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| crate::net::describe(&e))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(parser: &mut Parser) -> Vec<Event> {
        std::iter::from_fn(|| parser.next_event()).collect()
    }

    #[test]
    fn fields_comments_and_line_ends() {
        let mut p = Parser::new(1024);
        p.feed(b": hi\r\nevent: endpoint\rdata: /m?s=1\r\n\r\nid: 7\ndata: {\"a\":1}\ndata: x\n\n")
            .unwrap();
        let events = all(&mut p);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].event, "endpoint");
        assert_eq!(events[0].data, b"/m?s=1");
        assert_eq!(events[1].data, b"{\"a\":1}\nx");
        assert_eq!(events[1].id, "7");
        assert!(events[1].is_message() && !events[0].is_message());
        assert_eq!(p.last_id(), Some("7"));
    }

    #[test]
    fn endless_lines_and_huge_events_stop_at_the_limit() {
        let mut p = Parser::new(100);
        let chunk = [b'a'; 60];
        p.feed(b"data: ").unwrap();
        p.feed(&chunk).unwrap();
        assert_eq!(p.feed(&chunk), Err(End::TooBig(100)));
        let mut p = Parser::new(100);
        let mut res = Ok(());
        for _ in 0..20 {
            res = res.and_then(|()| p.feed(b"data: 0123456789\n"));
        }
        assert_eq!(res, Err(End::TooBig(100)));
        assert!(p.next_event().is_none());
    }

    proptest! {
        // However the bytes are cut into chunks, the same events come out, and nothing held exceeds the limit.
        #[test]
        fn chunking_does_not_change_the_events(
            events in proptest::collection::vec(("[a-z]{0,5}", "[ -~]{0,40}"), 0..8),
            cuts in proptest::collection::vec(0usize..400, 0..10),
            ends in proptest::collection::vec(0usize..3, 8),
        ) {
            let eol = |i: usize| [&b"\n"[..], b"\r\n", b"\r"][ends[i % ends.len()]];
            let mut bytes = Vec::new();
            for (i, (name, data)) in events.iter().enumerate() {
                if !name.is_empty() {
                    bytes.extend_from_slice(format!("event: {name}").as_bytes());
                    bytes.extend_from_slice(eol(i));
                }
                bytes.extend_from_slice(format!("id: {i}").as_bytes());
                bytes.extend_from_slice(eol(i + 1));
                bytes.extend_from_slice(format!("data:{data}").as_bytes());
                // The blank line ends the same way as the data line ("\r" then "\n" would be one line end).
                bytes.extend_from_slice(eol(i + 2));
                bytes.extend_from_slice(eol(i + 2));
            }
            let mut whole = Parser::new(64);
            whole.feed(&bytes).unwrap();
            let expected = all(&mut whole);
            prop_assert_eq!(expected.len(), events.len());
            let mut cut = Parser::new(64);
            let mut got = Vec::new();
            let mut rest = &bytes[..];
            for c in cuts {
                let at = c.min(rest.len());
                cut.feed(&rest[..at]).unwrap();
                got.extend(all(&mut cut));
                rest = &rest[at..];
            }
            cut.feed(rest).unwrap();
            got.extend(all(&mut cut));
            prop_assert_eq!(got, expected);
        }

        // Random bytes: never a panic, and never a buffer past the limit.
        #[test]
        fn junk_is_bounded(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20)) {
            let mut p = Parser::new(150);
            for c in chunks {
                if p.feed(&c).is_err() {
                    break;
                }
                prop_assert!(p.line.len() <= 150 && p.pending.data.len() <= 150);
                while p.next_event().is_some() {}
            }
        }
    }
}
