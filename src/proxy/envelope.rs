//! The JSON-RPC envelope: only `jsonrpc`, `id`, `method` and the presence of `params` / `result` / `error`
//! are parsed, strictly (an object, each member once; see [`Envelope`]); every other byte is forwarded as it
//! came (key order, unknown fields, `_meta`, number precision). Ids are rewritten by splicing the raw bytes of
//! the value in place. JSON-RPC error codes thoth answers with live here and are public API (DESIGN.md §2).

use std::borrow::Cow;
use std::cell::RefCell;

use bytes::Bytes;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// The call was refused by policy.
pub const BLOCKED: i64 = -32001;
/// The call needs an approval (step-up).
pub const STEP_UP_REQUIRED: i64 = -32002;

/// The parsed envelope of one JSON-RPC object, borrowing from its line. Parsed the way a server would take
/// it, or refused: only a JSON object (never an array read positionally), each member at most once (a
/// duplicate `id`, `method`, `params`... is an error, whatever the escapes: `"metho\u0064"` is `method`).
/// A key that only looks like a member (`Method`, `" id"`, `ｍｅｔｈｏｄ`) is kept in `lookalike` for the
/// router to refuse: a lenient server might read it as the member.
#[derive(Debug, Default)]
pub struct Envelope<'a> {
    /// The `jsonrpc` member, raw (its value is checked by the router, which must see `"2.0"`).
    pub jsonrpc: Option<&'a RawValue>,
    /// Present (even when `null`) or absent.
    pub id: Option<&'a RawValue>,
    pub method: Option<Cow<'a, str>>,
    pub params: Option<&'a RawValue>,
    pub result: Option<&'a RawValue>,
    pub error: Option<&'a RawValue>,
    /// The first key that folds to a member's name without being it.
    pub lookalike: Option<Box<str>>,
}

/// The JSON-RPC 2.0 members of a message object.
pub const MEMBERS: &[&str] = &["jsonrpc", "id", "method", "params", "result", "error"];

/// A name as a lenient reader might compare it: NFKC's fullwidth forms mapped to ASCII, then only letters
/// and digits, lowercased. `Tools/Call`, `tools.call`, `tools\u200b/call` and `ｔｏｏｌｓ/ｃａｌｌ` all fold to
/// `toolscall`.
pub fn fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which of `names` `key` looks like without being it (`Name` for `name`).
pub fn lookalike_of(key: &str, names: &[&'static str]) -> Option<&'static str> {
    if names.contains(&key) {
        return None;
    }
    let folded = fold(key);
    names.iter().copied().find(|name| fold(name) == folded)
}

/// A string borrowed from the line when it has no escapes.
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Envelope<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON-RPC object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
                let mut env = Envelope::default();
                fn once<T, E: de::Error>(
                    slot: &mut Option<T>,
                    value: T,
                    name: &'static str,
                ) -> Result<(), E> {
                    match slot {
                        Some(_) => Err(E::duplicate_field(name)),
                        None => {
                            *slot = Some(value);
                            Ok(())
                        }
                    }
                }
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    match key.as_ref() {
                        "jsonrpc" => once(&mut env.jsonrpc, map.next_value()?, "jsonrpc")?,
                        "id" => once(&mut env.id, map.next_value()?, "id")?,
                        "method" => {
                            let Text(method) = map.next_value()?;
                            once(&mut env.method, method, "method")?
                        }
                        "params" => once(&mut env.params, map.next_value()?, "params")?,
                        "result" => once(&mut env.result, map.next_value()?, "result")?,
                        "error" => once(&mut env.error, map.next_value()?, "error")?,
                        other => {
                            if env.lookalike.is_none() && lookalike_of(other, MEMBERS).is_some() {
                                env.lookalike = Some(other.into());
                            }
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(env)
            }
        }
        d.deserialize_map(V)
    }
}

impl Envelope<'_> {
    /// `jsonrpc` is exactly the string "2.0" (escapes decoded).
    pub fn is_jsonrpc_2(&self) -> bool {
        self.jsonrpc
            .and_then(|raw| serde_json::from_str::<Text>(raw.get()).ok())
            .is_some_and(|Text(v)| v == "2.0")
    }
}

/// A tools/call result's `isError`, read as the client reads it: a JSON object whose last `isError` member
/// is `true`. Anything else (absent, false, another type, not an object) is not a tool error.
pub fn is_tool_error(result: &RawValue) -> bool {
    // Exact shortcut: a member named `isError` is written out, or spelled with a `\u` escape (its letters have
    // no other escape). A result with neither (most results, and every large text one) is not read again.
    let text = result.get().as_bytes();
    if memchr::memmem::find(text, b"isError").is_none()
        && memchr::memmem::find(text, b"\\u").is_none()
    {
        return false;
    }
    read_is_error(result)
}

/// `is_tool_error` the long way: the result read as an object, member by member.
fn read_is_error(result: &RawValue) -> bool {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a tool result object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut is_error = false;
            while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                if key == "isError" {
                    is_error = matches!(
                        map.next_value::<serde_json::Value>()?,
                        serde_json::Value::Bool(true)
                    );
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(is_error)
        }
    }
    let mut de = serde_json::Deserializer::from_str(result.get());
    de::Deserializer::deserialize_map(&mut de, V).unwrap_or(false)
}

/// What a message is, from its envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Notification,
    Response,
    Invalid,
}

impl Envelope<'_> {
    pub fn kind(&self) -> Kind {
        match (&self.method, self.id) {
            (Some(_), Some(_)) => Kind::Request,
            (Some(_), None) => Kind::Notification,
            (None, Some(_)) if self.result.is_some() || self.error.is_some() => Kind::Response,
            _ => Kind::Invalid,
        }
    }
}

/// The shape of an id value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdShape {
    Number,
    String,
    Null,
    /// Object, array or boolean: not a JSON-RPC id.
    Invalid,
}

pub fn id_shape(id: &RawValue) -> IdShape {
    match id.get().as_bytes().first() {
        Some(b'"') => IdShape::String,
        Some(b'-' | b'0'..=b'9') => IdShape::Number,
        Some(b'n') => IdShape::Null,
        _ => IdShape::Invalid,
    }
}

/// One line's top-level shape, from its first significant byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Object,
    Batch,
    Other,
}

pub fn shape(line: &[u8]) -> Shape {
    match line.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Shape::Object,
        Some(b'[') => Shape::Batch,
        _ => Shape::Other,
    }
}

/// The ids thoth gives requests are plain unsigned integers; anything else is not one of ours.
pub fn proxy_id(id: &RawValue) -> Option<u64> {
    let text = id.get();
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

/// Where `inner` (borrowed from `line` by the parser) sits in `line`.
pub fn span_of(line: &[u8], inner: &RawValue) -> Option<(usize, usize)> {
    let start = (inner.get().as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
    let end = start + inner.get().len();
    (end <= line.len()).then_some((start, end))
}

/// An outbound frame as a few byte slices (no copy of large messages), written followed by `\n`.
#[derive(Debug, Default, Clone)]
pub struct Outbound {
    pub parts: Vec<Bytes>,
}

impl Outbound {
    pub fn whole(line: Bytes) -> Outbound {
        Outbound { parts: vec![line] }
    }

    /// `line` with the bytes in `span` replaced by `with`.
    pub fn spliced(line: &Bytes, (start, end): (usize, usize), with: Bytes) -> Outbound {
        Outbound {
            parts: vec![line.slice(..start), with, line.slice(end..)],
        }
    }

    /// `line` with several non-overlapping spans replaced (in any order).
    pub fn spliced_many(line: &Bytes, mut edits: Vec<((usize, usize), Bytes)>) -> Outbound {
        edits.sort_by_key(|((start, _), _)| *start);
        let mut parts = Vec::with_capacity(edits.len() * 2 + 1);
        let mut at = 0;
        for ((start, end), with) in edits {
            parts.push(line.slice(at..start));
            parts.push(with);
            at = end;
        }
        parts.push(line.slice(at..));
        Outbound { parts }
    }

    /// Bytes on the wire, newline included.
    pub fn wire_len(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum::<usize>() + 1
    }

    /// The frame as one contiguous buffer without the newline (tests, rare paths).
    pub fn to_vec(&self) -> Vec<u8> {
        self.parts.concat()
    }
}

/// A JSON-RPC error response thoth writes itself. Messages start with `thoth:` (DESIGN.md §2).
pub fn error_frame(
    id: Option<&RawValue>,
    code: i64,
    message: &str,
    data: Option<serde_json::Value>,
) -> Outbound {
    #[derive(Serialize)]
    struct ErrorObject<'a> {
        code: i64,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<serde_json::Value>,
    }
    #[derive(Serialize)]
    struct Response<'a> {
        jsonrpc: &'static str,
        id: Option<&'a RawValue>,
        error: ErrorObject<'a>,
    }
    let message = if message.starts_with("thoth:") {
        Cow::Borrowed(message)
    } else {
        Cow::Owned(format!("thoth: {message}"))
    };
    let body = Response {
        jsonrpc: "2.0",
        id,
        error: ErrorObject {
            code,
            message: &message,
            data,
        },
    };
    // Serialising plain structs of strings, numbers, RawValue and Value cannot fail.
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"thoth: internal error"}}"#.to_vec());
    Outbound::whole(Bytes::from(bytes))
}

/// The top-level `id` (and whether a `method` was seen) from a line that is not valid JSON as a whole: cut
/// off, or broken after the id. Uses serde_json's own tokenizer on the prefix and keeps what it read before
/// the error.
pub fn recover_id(line: &[u8]) -> Option<(Box<RawValue>, bool)> {
    #[derive(Default)]
    struct Found {
        id: Option<Box<RawValue>>,
        has_method: bool,
    }
    struct Probe<'f>(&'f RefCell<Found>);
    impl<'de> Visitor<'de> for Probe<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON-RPC object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                match key.as_ref() {
                    "id" if self.0.borrow().id.is_none() => {
                        let raw: Box<RawValue> = map.next_value()?;
                        self.0.borrow_mut().id = Some(raw);
                    }
                    "method" => {
                        self.0.borrow_mut().has_method = true;
                        map.next_value::<IgnoredAny>()?;
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(())
        }
    }
    let found = RefCell::new(Found::default());
    let mut de = serde_json::Deserializer::from_slice(line);
    let _ = de::Deserializer::deserialize_map(&mut de, Probe(&found));
    let found = found.into_inner();
    found
        .id
        .filter(|id| id_shape(id) != IdShape::Invalid && id_shape(id) != IdShape::Null)
        .map(|id| (id, found.has_method))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(line: &str) -> Envelope<'_> {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn kinds() {
        assert_eq!(
            env(r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#).kind(),
            Kind::Request
        );
        assert_eq!(
            env(r#"{"method":"x","params":{}}"#).kind(),
            Kind::Notification
        );
        assert_eq!(
            env(r#"{"result":{},"jsonrpc":"2.0","id":"a"}"#).kind(),
            Kind::Response
        );
        assert_eq!(
            env(r#"{"id":null,"error":{"code":1}}"#).kind(),
            Kind::Response
        );
        assert_eq!(env(r#"{"id":1}"#).kind(), Kind::Invalid);
        assert_eq!(env(r#"{"foo":1}"#).kind(), Kind::Invalid);
    }

    #[test]
    fn null_id_is_present_not_absent() {
        let e = env(r#"{"id":null,"method":"x"}"#);
        assert_eq!(e.id.map(id_shape), Some(IdShape::Null));
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        assert!(serde_json::from_str::<Envelope>(r#"{"id":1,"id":2,"method":"x"}"#).is_err());
    }

    #[test]
    fn id_shapes_and_proxy_ids() {
        let raw = |s: &str| RawValue::from_string(s.to_owned()).unwrap();
        assert_eq!(id_shape(&raw("\"1\"")), IdShape::String);
        assert_eq!(id_shape(&raw("-3")), IdShape::Number);
        assert_eq!(id_shape(&raw("{}")), IdShape::Invalid);
        assert_eq!(id_shape(&raw("true")), IdShape::Invalid);
        assert_eq!(proxy_id(&raw("17")), Some(17));
        assert_eq!(proxy_id(&raw("0")), Some(0));
        assert_eq!(proxy_id(&raw("\"17\"")), None);
        assert_eq!(proxy_id(&raw("1.0")), None);
    }

    #[test]
    fn splicing_keeps_every_other_byte() {
        let line = Bytes::from_static(
            br#"{"result":{"big":9007199254740993},"jsonrpc":"2.0" , "id": 12 ,"x":[1]}"#,
        );
        let e: Envelope = serde_json::from_slice(&line).unwrap();
        let span = span_of(&line, e.id.unwrap()).unwrap();
        let out = Outbound::spliced(&line, span, Bytes::from_static(b"\"abc\""));
        assert_eq!(
            out.to_vec(),
            br#"{"result":{"big":9007199254740993},"jsonrpc":"2.0" , "id": "abc" ,"x":[1]}"#
                .to_vec()
        );
    }

    #[test]
    fn error_frames_carry_the_original_id_and_prefix() {
        let id = RawValue::from_string("9007199254740993".into()).unwrap();
        let f = error_frame(
            Some(&id),
            BLOCKED,
            "no",
            Some(serde_json::json!({"thoth": {"decision": "BLOCK"}})),
        );
        let text = String::from_utf8(f.to_vec()).unwrap();
        assert!(text.contains(r#""id":9007199254740993"#), "{text}");
        assert!(text.contains(r#""message":"thoth: no""#), "{text}");
        let f = error_frame(None, PARSE_ERROR, "thoth: bad", None);
        assert!(String::from_utf8(f.to_vec())
            .unwrap()
            .contains(r#""id":null"#));
    }

    #[test]
    fn ids_are_recovered_from_cut_or_broken_lines() {
        let (id, method) =
            recover_id(br#"{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"x":"tru"#)
                .unwrap();
        assert_eq!(id.get(), "\"abc\"");
        assert!(method);
        let (id, method) = recover_id(br#"{"result":{"a":[1,2]},"id":7,"jsonrpc":"2.0"#).unwrap();
        assert_eq!(id.get(), "7");
        assert!(!method);
        // An "id" nested in params is not the message's id.
        assert!(recover_id(br#"{"params":{"id":5},"method":"x","stuff":"cut"#).is_none());
        assert!(recover_id(b"garbage").is_none());
        assert!(recover_id(br#"{"id":{"a":1},"method":"x""#).is_none());
    }

    // The class of §8's isError hole: whatever spacing, escapes, key order or duplicates the server writes, the
    // answer is what the client's JSON.parse sees (the last `isError` member of the result object).
    mod tool_error {
        use super::super::is_tool_error;
        use proptest::prelude::*;
        use serde_json::value::RawValue;

        fn ws() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![Just(" "), Just("\t"), Just("\n"), Just("\r"), Just("")],
                0..3,
            )
            .prop_map(|v| v.concat())
        }

        fn key() -> impl Strategy<Value = &'static str> {
            prop_oneof![
                Just("isError"),
                Just("is\\u0045rror"),
                Just("\\u0069sError")
            ]
        }

        fn value() -> impl Strategy<Value = (&'static str, bool)> {
            prop_oneof![
                Just(("true", true)),
                Just(("false", false)),
                Just(("\"true\"", false)),
                Just(("1", false)),
                Just(("null", false)),
                Just(("[true]", false)),
                Just(("{\"isError\":true}", false)),
            ]
        }

        proptest! {
            #[test]
            fn is_error_is_read_as_the_client_parses_it(
                members in proptest::collection::vec((key(), value(), ws(), ws(), ws()), 0..4),
                content_says_error in any::<bool>(),
            ) {
                let mut parts = vec![format!(
                    "\"content\":[{{\"type\":\"text\",\"isError\":{content_says_error}}}]"
                )];
                let mut expected = false;
                for (k, (v, truth), a, b, c) in &members {
                    parts.push(format!("{a}\"{k}\"{b}:{c}{v}"));
                    expected = *truth;
                }
                let text = format!("{{{}}}", parts.join(","));
                let raw = RawValue::from_string(text.clone()).unwrap();
                prop_assert_eq!(is_tool_error(&raw), expected, "{}", text);
            }
        }

        fn any_key() -> impl Strategy<Value = &'static str> {
            prop_oneof![
                Just("isError"),
                Just("is\\u0045rror"),
                Just("\\u0069s\\u0045rror"),
                Just("isErro\\u0072"),
                Just("isErrors"),
                Just("text"),
                Just("a\\\\u0045"),
            ]
        }

        fn any_value() -> impl Strategy<Value = &'static str> {
            prop_oneof![
                Just("true"),
                Just("false"),
                Just("1"),
                Just("\"isError\""),
                Just("\"a\\\\u0045\\n\""),
                Just("{\"isError\":true}"),
                Just("[true]"),
            ]
        }

        proptest! {
            // The shortcut never changes the answer: on objects whose keys are spelled every way (escaped or
            // not, near misses) and whose values hold `isError` and escaped backslashes, and on non-objects, it
            // agrees with the full read.
            #[test]
            fn the_shortcut_agrees_with_the_full_read(
                members in proptest::collection::vec((any_key(), any_value(), ws()), 0..5),
                as_object in any::<bool>(),
            ) {
                let text = if as_object {
                    let parts: Vec<String> =
                        members.iter().map(|(k, v, w)| format!("{w}\"{k}\"{w}:{w}{v}")).collect();
                    format!("{{{}}}", parts.join(","))
                } else {
                    let parts: Vec<&str> = members.iter().map(|(_, v, _)| *v).collect();
                    format!("[{}]", parts.join(","))
                };
                let raw = RawValue::from_string(text.clone()).unwrap();
                prop_assert_eq!(is_tool_error(&raw), super::super::read_is_error(&raw), "{}", text);
            }
        }

        #[test]
        fn only_an_object_result_can_be_a_tool_error() {
            for text in ["true", "[{\"isError\":true}]", "\"isError\"", "null"] {
                assert!(
                    !is_tool_error(&RawValue::from_string(text.into()).unwrap()),
                    "{text}"
                );
            }
        }
    }
}
