//! Every JSON output thoth owns validates against its schema in `schemas/`, checked on real output of the
//! built binary.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{assert_valid, init_params, repo_root, Thoth};

fn validator(name: &str) -> jsonschema::Validator {
    crate::support::schema_validator(name)
}

/// A server that answers initialize and hangs on every other request, then exits when told to.
const SLOW_SERVER: &str = r#"
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("method") == "initialize":
        print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "slow", "version": "0"}}}), flush=True)
    elif msg.get("method") == "tools/call" and msg["params"]["name"] == "die":
        sys.exit(3)
"#;

#[test]
fn every_error_data_thoth_writes_matches_the_schema() {
    let v = validator("rpc-error-data.schema.json");
    let t = Thoth::new("dev");
    let mut s = t.run(
        &[
            "--enforcement-mode",
            "progressive",
            "--approved-scope",
            "ok,die",
            "--agent-id",
            "slow",
        ],
        &["python3", "-c", SLOW_SERVER],
    );
    s.request(json!(0), "initialize", init_params());
    // progressive: allowed with a warning (hangs: stays pending), then STEP_UP twice, then BLOCK.
    s.send(&json!({"jsonrpc": "2.0", "id": "pending", "method": "tools/call", "params": {"name": "other"}}));
    let mut codes = Vec::new();
    for i in 0..3 {
        let reply = s.request(json!(i + 1), "tools/call", json!({"name": "other"}));
        codes.push(reply["error"]["code"].clone());
        assert_valid(&v, &reply["error"]["data"]);
    }
    assert_eq!(codes, vec![json!(-32002), json!(-32002), json!(-32001)]);
    // The server dies: the pending call is answered with -32603 and its reason.
    s.send(
        &json!({"jsonrpc": "2.0", "id": "die", "method": "tools/call", "params": {"name": "die"}}),
    );
    let (reply, _) = s.recv_until_id(&json!("pending"));
    assert_eq!(reply["error"]["code"], -32603);
    assert_valid(&v, &reply["error"]["data"]);
    assert_eq!(
        s.wait_timeout(Duration::from_secs(10))
            .and_then(|st| st.code()),
        Some(3)
    );
}

#[test]
fn a_refusal_to_start_matches_the_schema() {
    let v = validator("rpc-error-data.schema.json");
    let t = Thoth::new("dev");
    let mut s = t.run(&[], &["/nonexistent/server"]);
    let reply = s.request(json!(0), "initialize", init_params());
    assert_eq!(reply["error"]["code"], -32603);
    assert_valid(&v, &reply["error"]["data"]);
}

#[test]
fn the_schema_rejects_what_thoth_must_never_write() {
    let v = validator("rpc-error-data.schema.json");
    assert!(
        !v.is_valid(&json!({"thoth": {"decision": "BLOCK", "reason": "x"}})),
        "a BLOCK without violation id"
    );
    assert!(!v.is_valid(&json!({"thoth": {"decision": "ALLOW", "reason": "x"}})));
    assert!(!v.is_valid(&json!({"other": 1})));
}

#[test]
fn the_settings_schemas_name_exactly_the_declared_settings() {
    let declared: std::collections::BTreeSet<String> = thoth::settings::keys::KEYS
        .iter()
        .map(|k| k.name.to_owned())
        .collect();
    for name in ["config.schema.json", "managed-settings.schema.json"] {
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(repo_root().join("schemas").join(name)).unwrap(),
        )
        .unwrap();
        validator(name);
        let listed: std::collections::BTreeSet<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(listed, declared, "{name} and settings/keys.rs disagree");
    }
}

#[test]
fn the_files_thoth_writes_in_its_folder_match_their_schemas() {
    let t = Thoth::new("dev");
    let mut cmd = t.command();
    cmd.args(["set-api-key", "--api-key", "sk-schema-1", "--key-id", "kid"])
        .stdin(std::process::Stdio::null());
    assert!(cmd.output().unwrap().status.success());
    let dir = t.home.path().join(".thoth");
    for (file, schema) in [
        ("proxy_api_key.json", "proxy-api-key.schema.json"),
        ("intent_map.json", "intent-map.schema.json"),
    ] {
        let instance: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        assert_valid(&validator(schema), &instance);
    }
    // And a first run's empty key file.
    assert_valid(
        &validator("proxy-api-key.schema.json"),
        &json!({"api_key": null, "key_id": null}),
    );
    assert!(!validator("proxy-api-key.schema.json")
        .is_valid(&json!({"api_key": "has space", "key_id": null})));
}

/// `thoth mdm client-policy --json` (issue 15; real output is validated in tests/client_policy.rs): the
/// schema refuses what would admit servers thoth does not govern.
#[test]
fn the_client_policy_schema_refuses_loose_allowlists() {
    let v = validator("client-policy.schema.json");
    let report = |client: &str, policy: Value| {
        json!({"schema_version": 1, "client": client, "source": "/h/.claude.json",
               "file_name": "managed-settings.json", "locations": [], "servers": [], "left_out": [],
               "policy": policy, "content": ""})
    };
    let ok = report(
        "claude-code",
        json!({"allowManagedMcpServersOnly": true,
               "allowedMcpServers": [{"serverCommand": ["/usr/local/bin/thoth", "run"]}]}),
    );
    assert_valid(&v, &ok);
    for loose in [
        report(
            "claude-code",
            json!({"allowedMcpServers": [{"serverCommand": ["/usr/local/bin/thoth"]}]}),
        ),
        report(
            "claude-code",
            json!({"allowManagedMcpServersOnly": true, "allowedMcpServers": [{"serverName": "gh"}]}),
        ),
        report(
            "codex",
            json!({"mcp_servers": {"gh": {"identity": {"url": "https://x"}}}}),
        ),
        report(
            "windsurf",
            json!({"whitelist": [{"server_id": "gh", "server_config": {"command": ".*"}}]}),
        ),
        report("cursor", json!({"mcpServers": {}})),
    ] {
        assert!(!v.is_valid(&loose), "{loose}");
    }
}
