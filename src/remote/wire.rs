//! The little of JSON-RPC the bridge reads (kind of message, its id) and writes (its own error answers).

use serde::Deserialize;
use serde_json::value::RawValue;

/// What a client line is, for the transport's sake.
#[derive(Debug)]
pub struct Message {
    pub method: Option<String>,
    /// The raw id (kept byte for byte for the answer), none for a notification.
    pub id: Option<Box<RawValue>>,
}

impl Message {
    pub fn is_initialize(&self) -> bool {
        self.method.as_deref() == Some("initialize")
    }
    pub fn is_initialized(&self) -> bool {
        self.method.as_deref() == Some("notifications/initialized")
    }
    /// A request (it expects an answer).
    pub fn is_request(&self) -> bool {
        self.method.is_some() && self.id.is_some()
    }
}

/// Read a line's method and id; a batch or junk reads as "no method, no id" (posted as is).
pub fn read(line: &[u8]) -> Message {
    #[derive(Deserialize)]
    struct Head {
        method: Option<String>,
        id: Option<Box<RawValue>>,
    }
    match serde_json::from_slice::<Head>(line) {
        Ok(head) => Message {
            method: head.method,
            id: head.id.filter(|id| id.get() != "null"),
        },
        Err(_) => Message {
            method: None,
            id: None,
        },
    }
}

/// The bridge's own JSON-RPC error answer to request `id`, one line.
pub fn error_line(id: &RawValue, message: &str, data: Option<serde_json::Value>) -> Vec<u8> {
    let mut error = serde_json::json!({ "code": -32603, "message": message });
    if let Some(data) = data {
        error["data"] = data;
    }
    let id: serde_json::Value = serde_json::from_str(id.get()).unwrap_or(serde_json::Value::Null);
    let mut line =
        serde_json::to_vec(&serde_json::json!({ "jsonrpc": "2.0", "id": id, "error": error }))
            .unwrap_or_default();
    line.push(b'\n');
    line
}

/// One message body from the server as one line: re-serialised so no newline of a pretty-printed body
/// splits it; `None` for what is not JSON (logged and dropped by the caller).
pub fn to_line(body: &[u8]) -> Option<Vec<u8>> {
    let value: Box<RawValue> = serde_json::from_slice(body).ok()?;
    if !value.get().bytes().any(|b| b == b'\n' || b == b'\r') {
        let mut line = value.get().as_bytes().to_vec();
        line.push(b'\n');
        return Some(line);
    }
    let compact: serde_json::Value = serde_json::from_str(value.get()).ok()?;
    let mut line = serde_json::to_vec(&compact).ok()?;
    line.push(b'\n');
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_ids() {
        let m = read(br#"{"jsonrpc":"2.0","id":7,"method":"initialize"}"#);
        assert!(m.is_initialize() && m.is_request());
        let n = read(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert!(n.is_initialized() && !n.is_request());
        let r = read(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#);
        assert!(r.method.is_none() && r.id.is_some());
        assert!(read(b"[1,2]").id.is_none());
    }

    #[test]
    fn lines_are_compact_and_keep_the_id() {
        let id = RawValue::from_string("\"x\\n\"".into()).unwrap();
        let line = error_line(&id, "no", None);
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        assert!(String::from_utf8(line).unwrap().contains(r#""id":"x\n""#));
        let pretty = b"{\n  \"a\": \"b\\nc\"\n}";
        assert_eq!(to_line(pretty).unwrap(), b"{\"a\":\"b\\nc\"}\n");
        assert!(to_line(b"nope").is_none());
    }
}
