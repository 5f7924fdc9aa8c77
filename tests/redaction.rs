//! No secret reaches the audit log or the enforcer's events (issue 12 §5): every spelling of a secret name
//! (case, `_` `-` `.` space camelCase, words around it) and every credential shape (GitHub, Slack, AWS,
//! OpenAI, Anthropic, JWT, bearer, PEM, URL/DSN passwords, `name=value`) embedded in text, at any depth, sent
//! through a real `thoth run` (allowed and blocked calls) and through the event spool.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use thoth::audit::events::{EventBatch, EventContext, EventSink, SinkConfig, Transport};
use thoth::audit::spool::{Spool, SpoolLimits};
use thoth::audit::DecisionKind;

use crate::support::{fixture_server, init_params, Thoth};

const TERMS: &[&[&str]] = &[
    &["password"],
    &["passwd"],
    &["pwd"],
    &["pass"],
    &["passphrase"],
    &["secret"],
    &["secret", "key"],
    &["token"],
    &["api", "key"],
    &["auth"],
    &["authorization"],
    &["credential"],
    &["credentials"],
    &["private", "key"],
    &["access", "key"],
    &["client", "secret"],
    &["cookie"],
    &["session"],
];

/// A small deterministic generator, so a failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }

    fn alnum(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len).map(|_| *self.pick(CHARS) as char).collect()
    }

    fn upper(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        (0..len).map(|_| *self.pick(CHARS) as char).collect()
    }
}

/// Every term in every separator and case, with and without words around it.
fn secret_keys() -> Vec<String> {
    let mut keys = Vec::new();
    for (n, term) in TERMS.iter().enumerate() {
        for sep in ["_", "-", ".", " ", ""] {
            for case in 0..3 {
                let mut words: Vec<&str> = Vec::new();
                if n % 2 == 0 {
                    words.push("db");
                }
                words.extend_from_slice(term);
                if case == 1 {
                    words.push("value");
                }
                let cased = |w: &str, first: bool| match (case, sep, first) {
                    (_, "", true) if case == 0 => w.to_owned(),
                    (_, "", _) | (2, _, _) => {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect())
                            .unwrap_or_default()
                    }
                    (1, _, _) => w.to_uppercase(),
                    _ => w.to_owned(),
                };
                let key: Vec<String> = words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| cased(w, i == 0))
                    .collect();
                keys.push(key.join(sep));
            }
        }
    }
    keys
}

/// (text holding a credential, the part that must never be recorded).
fn credentials(rng: &mut Rng) -> Vec<(String, String)> {
    let same = |s: String| (s.clone(), s);
    let mut out = vec![
        same(format!("ghp_{}", rng.alnum(36))),
        same(format!("gho_{}", rng.alnum(36))),
        same(format!("ghs_{}", rng.alnum(36))),
        same(format!("github_pat_{}_{}", rng.alnum(22), rng.alnum(59))),
        same(format!(
            "xoxb-{}-{}-{}",
            rng.next(),
            rng.next(),
            rng.alnum(24)
        )),
        same(format!("xoxp-{}-{}", rng.next(), rng.alnum(30))),
        same(format!("AKIA{}", rng.upper(16))),
        same(format!("ASIA{}", rng.upper(16))),
        same(format!("sk-{}", rng.alnum(48))),
        same(format!("sk-proj-{}", rng.alnum(56))),
        same(format!("sk-ant-api03-{}", rng.alnum(93))),
        same(format!(
            "eyJ{}.{}.{}",
            rng.alnum(20),
            rng.alnum(30),
            rng.alnum(40)
        )),
    ];
    let token = format!("{}7", rng.alnum(30));
    out.push((format!("Authorization: Bearer {token}"), token));
    let body = (0..4).map(|_| rng.alnum(64)).collect::<Vec<_>>().join("\n");
    out.push((
        format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----"),
        body,
    ));
    let pw = rng.alnum(16);
    out.push((format!("postgres://app:{pw}@db.internal:5432/prod"), pw));
    let pw = rng.alnum(16);
    out.push((
        format!("mongodb+srv://root:{pw}@cluster0.example.net/admin"),
        pw,
    ));
    let pw = rng.alnum(16);
    out.push((format!("Server=db;User Id=sa;Password={pw};"), pw));
    let pw = rng.alnum(16);
    out.push((format!("mysql -u root --password {pw} -h db"), pw));
    let pw = rng.alnum(16);
    out.push((format!("export DB_PASSWORD={pw}"), pw));
    let pw = rng.alnum(16);
    out.push((format!(r#"{{"client_secret": "{pw}"}}"#), pw));
    out
}

/// Argument objects for tools/calls, each with a few secrets; and every secret value to look for.
fn cases() -> (Vec<Value>, Vec<String>) {
    let mut rng = Rng(12);
    let mut secrets = Vec::new();
    let mut args = Vec::new();
    for chunk in secret_keys().chunks(6) {
        let mut obj = serde_json::Map::new();
        for key in chunk {
            let value = format!("v{}", rng.alnum(14));
            secrets.push(value.clone());
            let leaf = match rng.next() % 3 {
                0 => json!(value),
                1 => json!({"inner": [value]}),
                _ => json!([1, value]),
            };
            obj.insert(key.clone(), leaf);
        }
        args.push(json!({"q": "ok", "nested": {"deeper": [Value::Object(obj)]}}));
    }
    for (text, secret) in credentials(&mut rng) {
        for wrap in ["", "see ", "(", "x=\""] {
            args.push(json!({"note": {"text": format!("{wrap}{text} and more")}, "list": [format!("{text}")]}));
        }
        secrets.push(secret);
    }
    (args, secrets)
}

#[track_caller]
fn assert_no_secret(text: &str, secrets: &[String], what: &str) {
    for secret in secrets {
        if let Some(at) = text.find(secret.as_str()) {
            let end = (at + secret.len() + 40).min(text.len());
            let around = String::from_utf8_lossy(&text.as_bytes()[at.saturating_sub(160)..end]);
            panic!("{what} holds {secret:?}: …{around}…");
        }
    }
}

#[test]
fn no_secret_reaches_the_audit_log_of_a_real_session() {
    let (args, secrets) = cases();
    assert!(args.len() > 100 && secrets.len() > 100);
    let t = Thoth::new("dev");
    let mut s = t.run(
        &[
            "--enforcement-mode",
            "block",
            "--approved-scope",
            "echo",
            "--agent-id",
            "redact",
        ],
        &[fixture_server().to_str().unwrap()],
    );
    s.request(json!(0), "initialize", init_params());
    for (i, arguments) in args.iter().enumerate() {
        // Allowed and blocked calls: both are recorded with their (redacted) arguments.
        let name = if i % 2 == 0 { "echo" } else { "big" };
        s.request(
            json!(i + 1),
            "tools/call",
            json!({"name": name, "arguments": arguments}),
        );
    }
    s.close_stdin();
    assert_eq!(
        s.wait_timeout(Duration::from_secs(20))
            .and_then(|st| st.code()),
        Some(0)
    );
    let dir = t.home.path().join(".thoth/audit");
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let decisions = text
        .lines()
        .filter(|l| l.contains(r#""event":"decision""#))
        .count();
    assert_eq!(decisions, args.len());
    assert!(text.contains("[REDACTED]"));
    assert_no_secret(&text, &secrets, "the audit log");
    assert_no_secret(&s.stderr(), &secrets, "thoth's log");
}

struct Offline;

impl Transport for Offline {
    async fn send(&self, _batch: &EventBatch) -> Result<(), thoth::audit::events::SendError> {
        Err(thoth::audit::events::SendError::Retryable(
            "connection refused".into(),
        ))
    }
}

#[test]
fn no_secret_reaches_the_enforcer_events() {
    let (args, secrets) = cases();
    let home = tempfile::tempdir().unwrap();
    let dir = thoth::platform::paths::spool_dir(&home.path().join(".thoth"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let spool = Spool::open(&dir, SpoolLimits::default()).unwrap();
        let sink = EventSink::start(
            Offline,
            spool,
            EventContext {
                agent_id: "redact".into(),
                session_id: "s".into(),
                endpoint_id: "e".into(),
            },
            SinkConfig::default(),
        );
        for (i, a) in args.iter().enumerate() {
            let raw = Bytes::from(serde_json::to_vec(a).unwrap());
            let decision = if i % 2 == 0 {
                DecisionKind::Allow
            } else {
                DecisionKind::Block
            };
            sink.pre("echo", Some(raw.clone()), decision, i as u64);
            sink.post("echo", Some(raw), decision, i as u64);
        }
        sink.finish().await
    });
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(text.contains("[REDACTED]"), "events were spooled");
    assert_no_secret(&text, &secrets, "the spooled events");
}
