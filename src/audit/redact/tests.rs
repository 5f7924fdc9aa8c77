use serde_json::json;

use super::*;

const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const HEX40: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b";

#[test]
fn secret_keys_match_by_suffix_and_bare_name_in_any_case() {
    for key in [
        "token",
        "Password",
        "SECRET",
        "api_key",
        "apikey",
        "Authorization",
        "cookie",
        "GITHUB_TOKEN",
        "aws_secret_access_key",
        "db_password",
        "client_secret",
        "x-api-key",
        "X-Api-Key",
        "accessToken",
        "refreshToken",
        "apiKey",
        "proxy-authorization",
    ] {
        assert!(is_secret_key(key), "{key} should be secret");
    }
    for key in [
        "path",
        "max_tokens",
        "tokens",
        "keyboard",
        "tokenizer",
        "secretary_name",
        "key",
        "passage",
        "author",
    ] {
        assert!(!is_secret_key(key), "{key} should not be secret");
    }
}

#[test]
fn values_under_secret_keys_are_redacted_at_any_depth() {
    let value = json!({
        "path": "/tmp/x",
        "GITHUB_TOKEN": "abc",
        "nested": {"db_password": {"any": "shape"}, "list": [{"api_key": 42}]},
        "password": null
    });
    assert_eq!(
        redact(&value),
        json!({
            "path": "/tmp/x",
            "GITHUB_TOKEN": REDACTED,
            "nested": {"db_password": REDACTED, "list": [{"api_key": REDACTED}]},
            // null says no password was given: nothing to hide.
            "password": null
        })
    );
}

#[test]
fn credential_shaped_strings_are_redacted_wherever_they_are() {
    for secret in [
        "Bearer 8f2kd93jd83kd93kd83kd9",
        "bearer abcDEFghiJKLmnoPQRstuVWXyz",
        "Basic dXNlcjpwYXNzd29yZA==",
        JWT,
        HEX40,
        "0xDEADBEEFdeadbeef0123456789abcdef0123456789abcdef0123456789abcdef",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "sk-ant-api03-abcdefghijklmnop0123456789",
        "AKIAIOSFODNN7EXAMPLE",
        "xoxb-123456789012-abcdefghijkl",
    ] {
        assert_eq!(mask_secrets(secret), REDACTED, "{secret}");
        assert_eq!(redact(&json!(secret)), json!(REDACTED), "{secret}");
    }
}

#[test]
fn embedded_credentials_are_masked_and_the_rest_of_the_text_stays() {
    assert_eq!(
        mask_secrets("curl -H 'Authorization: Bearer 8f2kd93jd83kd93kd83kd9' https://x"),
        "curl -H 'Authorization: [REDACTED]' https://x"
    );
    assert_eq!(mask_secrets(&format!("token={JWT}.")), "token=[REDACTED].");
    assert_eq!(
        mask_secrets(&format!("commit {HEX40} fixed it")),
        "commit [REDACTED] fixed it"
    );
    assert_eq!(
        mask_secrets("export OPENAI=sk-proj-0123456789abcdefghij; run"),
        "export OPENAI=[REDACTED]; run"
    );
}

#[test]
fn prose_and_ordinary_identifiers_are_left_alone() {
    for text in [
        "Bearer of bad news",
        "a basic introduction to Rust",
        "Basic Configuration",
        "bearer authentication",
        "sk-learn",
        "123e4567-e89b-12d3-a456-426614174000",
        "deadbeef",
        "/home/alice/projects/thoth/src/main.rs",
        "eyJ is how a JWT starts",
        "file.name.txt",
        "échantillon — données",
    ] {
        assert_eq!(mask_secrets(text), text, "{text}");
    }
}

#[test]
fn long_strings_keep_256_characters_and_say_how_long_they_were() {
    let long = "é".repeat(300);
    let clipped = clip(&long);
    assert!(clipped.starts_with(&"é".repeat(256)));
    assert!(clipped.ends_with("…(600 bytes)"), "{clipped}");
    assert_eq!(
        clipped.chars().count(),
        256 + "…(600 bytes)".chars().count()
    );
    let exact = "z".repeat(256);
    assert_eq!(clip(&exact), exact);
    // A secret that starts inside the kept part is masked before cutting, never half-shown.
    let mixed = format!(
        "{} {} {}",
        "x".repeat(250),
        "ab".repeat(40),
        "y".repeat(10_000)
    );
    let clipped = clip(&mixed);
    assert!(!clipped.contains("abab"), "{clipped}");
    assert!(clipped.ends_with(&format!("…({} bytes)", mixed.len())));
}

#[test]
fn a_huge_secret_in_a_huge_string_is_masked_before_the_cut() {
    let s = format!("key {}", "a1".repeat(1_000_000));
    let clipped = clip(&s);
    assert!(clipped.starts_with("key [REDACTED]"), "{}", &clipped[..40]);
    assert!(clipped.ends_with(&format!("…({} bytes)", s.len())));
}

#[test]
fn the_whole_value_is_capped_and_summarized_beyond_the_cap() {
    let small = json!({"path": "/a", "content": "x".repeat(1000)});
    let redacted = redact(&small);
    assert!(redacted["content"]
        .as_str()
        .unwrap()
        .ends_with("…(1000 bytes)"));

    let many: serde_json::Map<String, Value> = (0..100)
        .map(|i| (format!("field_{i}"), Value::String("v".repeat(100))))
        .collect();
    let big = Value::Object(many);
    let redacted = redact(&big);
    let about = &redacted[SUMMARY_KEY];
    assert_eq!(about["reason"], "over_cap");
    assert_eq!(about["type"], "object");
    assert_eq!(about["key_count"], 100);
    assert_eq!(about["keys"].as_array().unwrap().len(), 32);
    assert_eq!(about["bytes"], json_len(&big));
    assert!(serde_json::to_vec(&redacted).unwrap().len() <= MAX_VALUE_BYTES);

    let list = Value::Array((0..10_000).map(Value::from).collect());
    let redacted = redact(&list);
    assert_eq!(redacted[SUMMARY_KEY]["items"], 10_000);
}

#[test]
fn the_size_count_matches_serde_json_so_the_cap_is_exact() {
    let tricky = json!({
        "q\"uote": "back\\slash\nnew\ttab\u{1}ctl é 😀",
        "n": [1, -2.5, 1e300, 18446744073709551615u64, null, true, false],
        "o": {}
    });
    assert_eq!(
        json_len(&tricky),
        serde_json::to_vec(&tricky).unwrap().len()
    );
    let redacted = redact(&tricky);
    assert_eq!(redacted, tricky);
    // At the cap exactly, and one byte over.
    let mut at_cap = vec![json!(0); 2046];
    at_cap.push(json!(10));
    let at_cap = Value::Array(at_cap);
    assert_eq!(json_len(&at_cap), MAX_VALUE_BYTES);
    assert_eq!(redact(&at_cap), at_cap);
    let over = Value::Array(vec![json!(0); 2048]);
    assert_eq!(json_len(&over), MAX_VALUE_BYTES + 1);
    assert!(redact(&over).get(SUMMARY_KEY).is_some());
}

#[test]
fn deep_nesting_is_cut() {
    let mut value = json!("leaf");
    for _ in 0..100 {
        value = json!([value]);
    }
    let redacted = redact(&value);
    let mut node = &redacted;
    let mut depth = 0;
    while let Value::Array(items) = node {
        node = &items[0];
        depth += 1;
    }
    assert_eq!(depth, MAX_DEPTH);
    assert_eq!(node, &json!(TOO_DEEP));
}

#[test]
fn raw_text_is_parsed_or_summarized_without_copying_it() {
    assert_eq!(
        redact_json(br#"{"token":"t","n":1}"#),
        json!({"token": REDACTED, "n": 1})
    );
    assert_eq!(
        redact_json(b"{not json"),
        json!({SUMMARY_KEY: {"reason": "not_json", "bytes": 9}})
    );
    let big = serde_json::to_vec(&json!({"items": vec!["x"; 5000]})).unwrap();
    assert_eq!(redact_json(&big)[SUMMARY_KEY]["bytes"], big.len());
}

#[test]
fn keys_are_clipped_and_masked_too() {
    let value = json!({ HEX40: 1, "k".repeat(300): 2 });
    let redacted = redact(&value);
    let keys: Vec<&String> = redacted.as_object().unwrap().keys().collect();
    assert!(keys.contains(&&REDACTED.to_owned()), "{keys:?}");
    assert!(keys.iter().any(|k| k.ends_with("…(300 bytes)")), "{keys:?}");
}
