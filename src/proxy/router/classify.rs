//! What a client message is, before anything of it is forwarded (DESIGN.md §2: batches, governed methods).
//! thoth forwards only what it classified, read the way a server would read it. A governed method counts only
//! when spelled exactly, with `"jsonrpc":"2.0"`, a usable id and (tools/call) params that are an object with
//! one string `name`; anything that merely looks like one is refused, and a refused governed method is
//! recorded in the audit log. Pure: no I/O, no state.

use std::borrow::Cow;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::proxy::envelope::{self, fold, id_shape, lookalike_of, Envelope, IdShape, Text};

/// The method the policy decides on every call.
pub const TOOLS_CALL: &str = "tools/call";
/// Methods policy governs (tools/call always; the others when a policy or lockfile names them). None of them
/// means anything without an answer, so none is forwarded as a notification, with an id of `null`, or in a
/// spelling that only folds to it (`Tools/Call`, `tools.call`).
pub const GOVERNED_METHODS: &[&str] = &[TOOLS_CALL, "prompts/get", "resources/read"];

/// The keys of tools/call params thoth reads.
const CALL_KEYS: &[&str] = &["name", "arguments"];

#[derive(Debug)]
pub enum Class<'a> {
    /// Not governed: route it by its kind.
    Pass,
    /// A tools/call to decide.
    Call {
        name: String,
        arguments: Option<&'a RawValue>,
    },
    /// Never forwarded.
    Refuse(Refused),
}

#[derive(Debug)]
pub struct Refused {
    pub code: i64,
    pub message: String,
    /// A governed method was refused: record it in the audit log under this name (the tool, or the method).
    pub audit: Option<String>,
}

fn refuse(code: i64, message: String, audit: Option<String>) -> Class<'static> {
    Class::Refuse(Refused {
        code,
        message,
        audit,
    })
}

/// The governed method `method` is, or folds to.
pub fn governed_like(method: &str) -> Option<&'static str> {
    if let Some(exact) = GOVERNED_METHODS.iter().find(|m| **m == method) {
        return Some(exact);
    }
    let folded = fold(method);
    GOVERNED_METHODS.iter().copied().find(|m| fold(m) == folded)
}

pub fn classify<'a>(env: &Envelope<'a>) -> Class<'a> {
    let method = env.method.as_deref();
    let governed = method.and_then(governed_like);
    let audit = || governed.map(|g| audit_name(g, env));
    if let Some(key) = &env.lookalike {
        return refuse(
            envelope::INVALID_REQUEST,
            format!(
                "thoth: the key {key:?} looks like a JSON-RPC member but is not one; not forwarded"
            ),
            audit(),
        );
    }
    let Some(method) = method else {
        return Class::Pass;
    };
    if !env.is_jsonrpc_2() {
        return refuse(
            envelope::INVALID_REQUEST,
            "thoth: a JSON-RPC request needs \"jsonrpc\": \"2.0\"; not forwarded".into(),
            audit(),
        );
    }
    let Some(governed) = governed else {
        return Class::Pass;
    };
    if method != governed {
        return refuse(
            envelope::INVALID_REQUEST,
            format!(
                "thoth: the method {method:?} is not spelled exactly `{governed}`; not forwarded"
            ),
            audit(),
        );
    }
    if !matches!(
        env.id.map(id_shape),
        Some(IdShape::Number | IdShape::String)
    ) {
        return refuse(
            envelope::INVALID_REQUEST,
            format!("thoth: `{governed}` needs a request id (a string or a number): without one it is never forwarded"),
            audit(),
        );
    }
    if governed != TOOLS_CALL {
        return Class::Pass;
    }
    let params = match env.params.map(|p| parse_call_params(p.get())) {
        Some(Ok(params)) => params,
        Some(Err(err)) => {
            return refuse(
                envelope::INVALID_PARAMS,
                format!(
                    "thoth: tools/call params must be an object with one `name` (a string): {err}"
                ),
                audit(),
            )
        }
        None => CallParams::default(),
    };
    let Some(name) = params.name else {
        return refuse(
            envelope::INVALID_PARAMS,
            "thoth: tools/call needs params.name (a string)".into(),
            audit(),
        );
    };
    if !is_plain_name(&name) {
        return refuse(
            envelope::INVALID_PARAMS,
            format!("thoth: the tool name {name:?} is empty, has whitespace at an end, or holds control or invisible characters; not forwarded"),
            audit(),
        );
    }
    if let Some(arguments) = params.arguments {
        if !matches!(arguments.get().as_bytes().first(), Some(b'{' | b'n')) {
            return refuse(
                envelope::INVALID_PARAMS,
                "thoth: tools/call params.arguments must be an object".into(),
                audit(),
            );
        }
    }
    Class::Call {
        name: name.into_owned(),
        arguments: params.arguments,
    }
}

/// What the audit log calls a refused governed message: the tool name as a client's `JSON.parse` would read it
/// (the last `name`), else the method.
fn audit_name(governed: &'static str, env: &Envelope) -> String {
    let name = (governed == TOOLS_CALL)
        .then_some(env.params)
        .flatten()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p.get()).ok())
        .and_then(|p| match p {
            serde_json::Value::Object(mut map) => match map.remove("name") {
                Some(serde_json::Value::String(name)) => Some(name),
                _ => None,
            },
            _ => None,
        });
    name.unwrap_or_else(|| governed.to_owned())
}

/// A tool name a policy can match as the server will read it: not empty, no whitespace at either end, no
/// control or invisible (format) characters anywhere. A lenient server that trims or strips them would run
/// a tool the policy never saw.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.trim() == name
        && !name.chars().any(|c| c.is_control() || is_invisible(c))
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{E0000}'..='\u{E0FFF}')
}

#[derive(Debug, Default)]
struct CallParams<'a> {
    name: Option<Cow<'a, str>>,
    arguments: Option<&'a RawValue>,
}

/// tools/call params: an object (never an array read positionally), `name` and `arguments` at most once, and
/// no key that only looks like one of them (`Name`).
fn parse_call_params(text: &str) -> Result<CallParams<'_>, serde_json::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = CallParams<'de>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CallParams<'de>, A::Error> {
            let mut params = CallParams::default();
            while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                match key.as_ref() {
                    "name" => {
                        let Text(name) = map.next_value()?;
                        if params.name.replace(name).is_some() {
                            return Err(de::Error::duplicate_field("name"));
                        }
                    }
                    "arguments" => {
                        if params.arguments.replace(map.next_value()?).is_some() {
                            return Err(de::Error::duplicate_field("arguments"));
                        }
                    }
                    other => {
                        if let Some(like) = lookalike_of(other, CALL_KEYS) {
                            return Err(de::Error::custom(format_args!(
                                "the key {other:?} looks like `{like}`"
                            )));
                        }
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(params)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let params = de::Deserializer::deserialize_map(&mut de, V)?;
    de.end()?;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(line: &'static str) -> Class<'static> {
        let env: Envelope<'static> = serde_json::from_str(line).unwrap();
        classify(&env)
    }

    fn refused(line: &'static str) -> Refused {
        match class(line) {
            Class::Refuse(r) => r,
            other => panic!("{line} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn exact_calls_are_calls() {
        let c = class(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":1},"_meta":{}}}"#,
        );
        assert!(
            matches!(c, Class::Call { ref name, .. } if name == "echo"),
            "{c:?}"
        );
        // Escapes are the same string: still governed, under the decoded name.
        let c = class(
            r#"{"jsonrpc":"2\u002e0","id":1,"method":"tools\/call","params":{"name":"\u0065cho"}}"#,
        );
        assert!(
            matches!(c, Class::Call { ref name, .. } if name == "echo"),
            "{c:?}"
        );
    }

    #[test]
    fn lookalikes_and_notifications_are_refused_and_audited() {
        for line in [
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"big"}}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"big"}}"#,
            r#"{"jsonrpc":"2.0","id":true,"method":"tools/call","params":{"name":"big"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"Tools/Call","params":{"name":"big"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":" tools/call","params":{"name":"big"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools.call","params":{"name":"big"}}"#,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\u{200b}\",\"params\":{\"name\":\"big\"}}",
            r#"{"jsonrpc":"2.0","id":1,"method":"ｔｏｏｌｓ/ｃａｌｌ","params":{"name":"big"}}"#,
            r#"{"id":1,"method":"tools/call","params":{"name":"big"}}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"big"}}"#,
            r#"{"jsonrpc":2.0,"id":1,"method":"tools/call","params":{"name":"big"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","Method":"ping","params":{"name":"big"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["big",{}]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"big"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","Name":"big"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"big "}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"b\u0000ig"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"big","arguments":[1]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}"#,
            r#"{"jsonrpc":"2.0","method":"resources/read","params":{"uri":"file:///x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"Prompts/Get"}"#,
        ] {
            let r = refused(line);
            assert!(r.audit.is_some(), "{line}: a refused governed method is audited");
            assert!(r.message.starts_with("thoth:"), "{}", r.message);
        }
        assert_eq!(
            refused(
                r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo","name":"big"}}"#
            )
            .audit
            .as_deref(),
            Some("big"),
            "audited under the name a client's JSON.parse reads"
        );
    }

    #[test]
    fn other_methods_pass_but_need_jsonrpc_2() {
        assert!(matches!(
            class(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Class::Pass
        ));
        assert!(matches!(
            class(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Class::Pass
        ));
        assert!(matches!(
            class(r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}}"#),
            Class::Pass
        ));
        assert!(matches!(
            class(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            Class::Pass
        ));
        let r = refused(r#"{"id":1,"method":"ping"}"#);
        assert!(r.audit.is_none());
        assert_eq!(r.code, envelope::INVALID_REQUEST);
    }

    #[test]
    fn plain_names() {
        assert!(is_plain_name("read_file"));
        assert!(is_plain_name("my tool.v2"));
        for bad in [
            "",
            " x",
            "x\t",
            "x\u{200b}",
            "\u{feff}x",
            "x\u{202e}y",
            "x\u{0}",
        ] {
            assert!(!is_plain_name(bad), "{bad:?}");
        }
    }
}
