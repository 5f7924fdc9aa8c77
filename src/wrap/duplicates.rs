//! The first key that appears twice in one object, anywhere in a document: its JSON Pointer (RFC 6901) and
//! where both occurrences start. Names are compared decoded (`"fs"` and `"f\u0073"` are one key to
//! `JSON.parse`). Iterative, so depth is bounded only by the parser's own nesting limit.

use std::collections::HashMap;

use jsonc_parser::ast::{Object, Value};

/// A key found twice in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// `/mcpServers/fs`: the path of the repeated key, `~` and `/` escaped as RFC 6901 says.
    pub pointer: String,
    /// Byte offsets of the first and the second occurrence's name.
    pub first: usize,
    pub second: usize,
}

/// The first duplicate in document order, if any.
pub fn find(top: &Object) -> Option<Duplicate> {
    let mut stack: Vec<(String, &Value)> = Vec::new();
    let mut objects: Vec<(String, &Object)> = vec![(String::new(), top)];
    let mut found: Option<Duplicate> = None;
    loop {
        if let Some((pointer, object)) = objects.pop() {
            let mut seen: HashMap<&str, usize> = HashMap::with_capacity(object.properties.len());
            for prop in &object.properties {
                let name = prop.name.as_str();
                let at = prop.range.start;
                let here = format!("{pointer}/{}", escape(name));
                if let Some(&first) = seen.get(name) {
                    let dup = Duplicate {
                        pointer: here.clone(),
                        first,
                        second: at,
                    };
                    if found.as_ref().is_none_or(|f| dup.second < f.second) {
                        found = Some(dup);
                    }
                    continue;
                }
                seen.insert(name, at);
                stack.push((here, &prop.value));
            }
        } else if let Some((pointer, value)) = stack.pop() {
            match value {
                Value::Object(object) => objects.push((pointer, object)),
                Value::Array(array) => {
                    for (i, element) in array.elements.iter().enumerate() {
                        stack.push((format!("{pointer}/{i}"), element));
                    }
                }
                _ => {}
            }
        } else {
            return found;
        }
    }
}

fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dup(text: &str) -> Option<Duplicate> {
        let parsed =
            jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default()).unwrap();
        match parsed.value {
            Some(Value::Object(top)) => find(&top),
            _ => None,
        }
    }

    #[test]
    fn finds_repeated_keys_at_any_depth_decoded() {
        assert_eq!(dup(r#"{"a":1,"b":{"c":[{"d":1}]}}"#), None);
        assert_eq!(
            dup(r#"{"mcpServers":{},"mcpServers":{}}"#),
            Some(Duplicate {
                pointer: "/mcpServers".into(),
                first: 1,
                second: 17
            })
        );
        let d = dup(r#"{"mcpServers":{"fs":{},"f\u0073":{}}}"#).unwrap();
        assert_eq!(d.pointer, "/mcpServers/fs");
        let d = dup(r#"{"x":[0,{"a/b~":{"e":1,"e":2}}]}"#).unwrap();
        assert_eq!(d.pointer, "/x/1/a~1b~0/e");
        // Several: the first in the file wins, wherever it sits.
        let d = dup(r#"{"a":{"b":1,"b":2},"c":3,"c":4}"#).unwrap();
        assert_eq!(d.pointer, "/a/b");
    }
}
