//! wrap-config on any text: parsing never panics; for a config it accepts, wrap gives JSON (with the same
//! comments allowance), a second wrap changes no byte, and unwrap gives back a document equal to the input.
#![no_main]

use std::collections::BTreeMap;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use thoth::wrap::document::Document;
use thoth::wrap::edit::{apply, Plan, WrapPlan};
use thoth::wrap::record::Records;

fn run(text: &str, plan: &Plan, records: &mut Records) -> String {
    let doc = Document::parse(Path::new("fuzz.json"), text).expect("thoth's own output parses");
    apply(&doc, plan, records);
    doc.to_text()
}

/// A document's JSON as one canonical line: keys in file order, numbers as written, comments and
/// formatting left out.
fn value(text: &str) -> String {
    use jsonc_parser::ast::Value;
    fn render(v: &Value, out: &mut String) {
        match v {
            Value::StringLit(s) => out.push_str(&serde_json::to_string(s.value.as_ref()).unwrap()),
            Value::NumberLit(n) => out.push_str(n.value),
            Value::BooleanLit(b) => out.push_str(if b.value { "true" } else { "false" }),
            Value::NullKeyword(_) => out.push_str("null"),
            Value::Array(a) => {
                out.push('[');
                for e in &a.elements {
                    render(e, out);
                    out.push(',');
                }
                out.push(']');
            }
            Value::Object(o) => {
                out.push('{');
                for p in &o.properties {
                    out.push_str(&serde_json::to_string(p.name.as_str()).unwrap());
                    out.push(':');
                    render(&p.value, out);
                    out.push(',');
                }
                out.push('}');
            }
        }
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let parsed =
        jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default()).expect("JSON");
    let mut out = String::new();
    if let Some(v) = &parsed.value {
        render(v, &mut out);
    }
    out
}

fuzz_target!(|text: &str| {
    let Ok(doc) = Document::parse(Path::new("fuzz.json"), text) else {
        return;
    };
    // An entry wrapped already unwraps to its inner server, not to itself: only idempotence holds there.
    let pre_wrapped = doc.server_props().iter().any(|(_, prop)| {
        matches!(thoth::wrap::entry::read(prop), thoth::wrap::entry::Entry::Stdio(f)
            if thoth::wrap::wrapped::runs_thoth(&f.command, f.args_or_empty()))
    });
    drop(doc);
    let wrap = Plan {
        wrap: Some(WrapPlan {
            thoth_path: "/usr/local/bin/thoth".into(),
            tenant_id: Some("acme".into()),
            enforcement_mode: "block".into(),
            agent_id_prefix: None,
            env: vec![("THOTH_ENV".into(), "prod".into())],
            intents: BTreeMap::new(),
            lock: None,
            drop_flags: vec![],
        }),
        only: vec![],
        exclude: vec![],
    };
    let unwrap = Plan {
        wrap: None,
        only: vec![],
        exclude: vec![],
    };
    let mut records = Records::default();
    let wrapped = run(text, &wrap, &mut records);
    let again = run(&wrapped, &wrap, &mut records);
    assert_eq!(again, wrapped, "wrap is idempotent");
    if !pre_wrapped {
        let back = run(&wrapped, &unwrap, &mut records);
        assert_eq!(
            value(&back),
            value(text),
            "unwrap undoes wrap (keys, order, values)"
        );
    }
});
