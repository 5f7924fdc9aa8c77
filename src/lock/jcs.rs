//! RFC 8785 (JCS) canonical JSON and the one hashing rule of lockfiles: `sha256(JCS(value))`, lowercase hex.
//! Canonical form comes from `serde_jcs` (UTF-16 key order, minimal escapes, ECMAScript number text).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The RFC 8785 text of `value`. Every `Value` holds finite numbers only, so this cannot fail in practice;
/// a failure is reported as the text `null` (never a silent match: it hashes differently from any object).
pub fn canonical(value: &Value) -> String {
    serde_jcs::to_string(value).unwrap_or_else(|err| {
        tracing::warn!(error = %err, "a value could not be canonicalized");
        "null".into()
    })
}

/// Lowercase hex SHA-256 of the canonical text of `value` (`None`, an absent value, is hashed as `null`).
pub fn sha256(value: Option<&Value>) -> String {
    let text = canonical(value.unwrap_or(&Value::Null));
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jcs(text: &str) -> String {
        canonical(&serde_json::from_str(text).expect("test JSON"))
    }

    /// RFC 8785 §3.2.2 (the sample object of §3.2).
    #[test]
    fn rfc8785_sample_object() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        assert_eq!(
            jcs(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    /// RFC 8785 §3.2.3: keys sorted by UTF-16 code units (the RFC's own example).
    #[test]
    fn rfc8785_key_order_by_utf16() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let out = jcs(input);
        let keys: Vec<String> = {
            let v: serde_json::Map<String, Value> = serde_json::from_str(input).unwrap();
            let mut k: Vec<String> = v.keys().cloned().collect();
            k.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            k
        };
        assert_eq!(
            keys,
            [
                "\r",
                "1",
                "\u{80}",
                "\u{f6}",
                "\u{20ac}",
                "\u{1f600}",
                "\u{fb33}"
            ]
        );
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| out.find(&canonical(&Value::String(k.clone()))).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{out}");
    }

    /// RFC 8785 Appendix B: IEEE 754 doubles as ECMAScript writes them (the rows JSON can express).
    #[test]
    fn rfc8785_number_samples() {
        let samples = [
            ("0", "0"),
            ("-0", "0"),
            ("5e-324", "5e-324"),
            ("-5e-324", "-5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("-1.7976931348623157e308", "-1.7976931348623157e+308"),
            ("9007199254740992", "9007199254740992"),
            ("-9007199254740992", "-9007199254740992"),
            ("295147905179352830000", "295147905179352830000"),
            ("9.999999999999997e22", "9.999999999999997e+22"),
            ("1e23", "1e+23"),
            ("1.0000000000000001e23", "1.0000000000000001e+23"),
            ("999999999999999700000", "999999999999999700000"),
            ("999999999999999900000", "999999999999999900000"),
            ("1e21", "1e+21"),
            ("9.999999999999997e-7", "9.999999999999997e-7"),
            ("0.000001", "0.000001"),
            ("333333333.3333332", "333333333.3333332"),
            ("333333333.33333325", "333333333.33333325"),
            ("333333333.3333333", "333333333.3333333"),
            ("333333333.3333334", "333333333.3333334"),
            ("333333333.33333343", "333333333.33333343"),
            ("-0.0000033333333333333333", "-0.0000033333333333333333"),
            ("1424953923781206.2", "1424953923781206.2"),
            // The issue's own examples.
            ("10.0", "10"),
            ("1e2", "100"),
            ("1E2", "100"),
        ];
        for (input, expected) in samples {
            assert_eq!(jcs(input), expected, "{input}");
        }
    }

    #[test]
    fn respelled_values_hash_alike() {
        let a: Value =
            serde_json::from_str(r#"{"type":"object","properties":{"n":{"maximum":10.0}}}"#)
                .unwrap();
        let b: Value =
            serde_json::from_str(r#"{"properties":{"n":{"maximum":1e1}},"type":"object"}"#)
                .unwrap();
        assert_eq!(sha256(Some(&a)), sha256(Some(&b)));
        assert_ne!(sha256(Some(&a)), sha256(None));
        assert_eq!(sha256(None), sha256(Some(&Value::Null)));
        // A description is hashed as a JSON string, quotes included.
        let text = Value::String("hi".into());
        assert_eq!(canonical(&text), "\"hi\"");
        assert_eq!(sha256(Some(&text)).len(), 64);
    }

    proptest::proptest! {
        /// Canonical text is a fixed point: parsing it and canonicalizing again changes nothing.
        #[test]
        fn canonical_is_idempotent(n in proptest::num::f64::NORMAL, s in ".{0,12}", k in "[a-zé€😀]{1,4}") {
            let value = serde_json::json!({k.clone(): [n, s.clone()], "z": {k: n}});
            let once = canonical(&value);
            let again = canonical(&serde_json::from_str(&once).unwrap());
            proptest::prop_assert_eq!(once, again);
        }
    }
}
