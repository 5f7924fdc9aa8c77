//! Duplicate-key detection on any text: never a panic; for text serde_json reads (strict JSON, as Claude
//! Desktop's JSON.parse does), Document::parse refuses it with DuplicateKey exactly when some object holds a
//! key twice once decoded (serde_json is the independent reader here); the position it names is in the text;
//! and a config it accepts still parses, duplicate-free, after wrap-config's edits.
#![no_main]

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use thoth::wrap::document::Document;
use thoth::wrap::edit::{apply, Plan, WrapPlan};
use thoth::wrap::record::Records;
use thoth::wrap::Error;

/// Whether a JSON value holds a repeated key anywhere.
struct HasDup(bool);

impl<'de> Deserialize<'de> for HasDup {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<HasDup, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HasDup;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HasDup, A::Error> {
                let (mut seen, mut dup) = (HashSet::new(), false);
                while let Some((key, value)) = map.next_entry::<String, HasDup>()? {
                    dup |= value.0 | !seen.insert(key);
                }
                Ok(HasDup(dup))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HasDup, A::Error> {
                let mut dup = false;
                while let Some(value) = seq.next_element::<HasDup>()? {
                    dup |= value.0;
                }
                Ok(HasDup(dup))
            }
            fn visit_bool<E>(self, _: bool) -> Result<HasDup, E> {
                Ok(HasDup(false))
            }
            fn visit_i64<E>(self, _: i64) -> Result<HasDup, E> {
                Ok(HasDup(false))
            }
            fn visit_u64<E>(self, _: u64) -> Result<HasDup, E> {
                Ok(HasDup(false))
            }
            fn visit_f64<E>(self, _: f64) -> Result<HasDup, E> {
                Ok(HasDup(false))
            }
            fn visit_str<E>(self, _: &str) -> Result<HasDup, E> {
                Ok(HasDup(false))
            }
            fn visit_unit<E>(self) -> Result<HasDup, E> {
                Ok(HasDup(false))
            }
        }
        d.deserialize_any(V)
    }
}

fuzz_target!(|text: &str| {
    let parsed = Document::parse(Path::new("fuzz.json"), text);
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let strict = serde_json::from_str::<HasDup>(body).ok();
    let top_is_object = matches!(
        serde_json::from_str::<serde_json::Value>(body),
        Ok(serde_json::Value::Object(_))
    );
    match &parsed {
        Err(Error::DuplicateKey {
            line,
            column,
            first_line,
            first_column,
            ..
        }) => {
            let lines = body.split('\n').count();
            assert!(
                *first_line >= 1 && *line >= *first_line && *line <= lines,
                "line {line} of {lines}"
            );
            assert!(*column >= 1 && *first_column >= 1);
            if let Some(HasDup(dup)) = strict {
                assert!(dup, "refused a key twice that serde_json sees once");
            }
        }
        _ => {
            if let (Some(HasDup(true)), true) = (&strict, top_is_object) {
                assert!(parsed.is_err(), "accepted a config with a key twice");
            }
        }
    }
    let Ok(doc) = parsed else { return };
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
    apply(&doc, &wrap, &mut Records::default());
    let wrapped = doc.to_text();
    assert!(
        Document::parse(Path::new("fuzz.json"), &wrapped).is_ok(),
        "wrap made a config thoth refuses:\n{wrapped}"
    );
});
