//! Issue 18 §4 through the built binary: a Claude Desktop config with an http url entry (headers with a
//! `${env:X}` placeholder) and an sse one is wrapped into `thoth run --url` entries, `status --json` names
//! both as governed, a second wrap writes nothing, and `--unwrap` gives the file back byte for byte.

use serde_json::{json, Value};

use crate::support::{assert_valid, schema_validator, thoth_bin, Thoth};

const CONFIG: &str = r#"{
  "mcpServers": {
    "bars": {
      "type": "http",
      "url": "http://127.0.0.1:8931/mcp",
      "headers": {
        "Authorization": "Bearer ${env:BARS_TOKEN}",
        "X-Team":   "données ☕"
      }
    },
    "legacy": { "type": "sse", "url": "https://mcp.example.com/sse" },
    "ws": { "type": "ws", "url": "wss://mcp.example.com/ws" }
  }
}
"#;

#[test]
fn url_entries_are_bridged_governed_and_unwrapped_byte_for_byte() {
    let t = Thoth::new("dev");
    let dir = t.home.path().join("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("claude_desktop_config.json");
    std::fs::write(&config, CONFIG).unwrap();
    let path = config.to_str().unwrap();
    let thoth = thoth_bin().canonicalize().unwrap();

    let out = t.output(&[
        "wrap-config",
        "--tenant-id",
        "t1",
        "--enforcement-mode",
        "block",
        "--json",
        path,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&schema_validator("wrap-report.schema.json"), &report);
    let outcomes: Vec<&str> = report["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["wrapped", "wrapped", "remote"]);

    let wrapped: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    let bars = &wrapped["mcpServers"]["bars"];
    assert_eq!(bars.get("url"), None);
    assert_eq!(bars.get("type"), None);
    assert_eq!(bars.get("headers"), None);
    assert_eq!(bars["command"], thoth.to_str().unwrap());
    assert_eq!(
        bars["args"],
        json!([
            "run",
            "--agent-id",
            "bars",
            "--tenant-id",
            "t1",
            "--enforcement-mode",
            "block",
            "--url",
            "http://127.0.0.1:8931/mcp",
            "--header",
            "Authorization: Bearer ${env:BARS_TOKEN}",
            "--header",
            "X-Team: données ☕"
        ])
    );
    let legacy = wrapped["mcpServers"]["legacy"]["args"].as_array().unwrap();
    assert_eq!(
        &legacy[legacy.len() - 4..],
        [
            json!("--url"),
            json!("https://mcp.example.com/sse"),
            json!("--transport"),
            json!("sse")
        ]
    );
    assert_eq!(
        wrapped["mcpServers"]["ws"],
        json!({"type": "ws", "url": "wss://mcp.example.com/ws"})
    );

    let status = t.output(&["status", path, "--json"]);
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let seen: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_valid(&schema_validator("status.schema.json"), &seen);
    assert_eq!(seen["governed"], json!(["bars", "legacy"]));
    assert_eq!(seen["remote"], json!(["ws"]));
    let bridged: Vec<(&str, bool, &str)> = seen["servers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| {
            Some((
                s["name"].as_str()?,
                s["governed"].as_bool()?,
                s.get("bridged_url")?.as_str()?,
            ))
        })
        .collect();
    assert_eq!(
        bridged,
        [
            ("bars", true, "http://127.0.0.1:8931/mcp"),
            ("legacy", true, "https://mcp.example.com/sse")
        ]
    );

    let text = std::fs::read(&config).unwrap();
    let again = t.output(&[
        "wrap-config",
        "--tenant-id",
        "t1",
        "--enforcement-mode",
        "block",
        "--json",
        path,
    ]);
    assert!(again.status.success());
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["changed"], false);
    assert_eq!(
        std::fs::read(&config).unwrap(),
        text,
        "a second wrap changes no byte"
    );

    let out = t.output(&["wrap-config", "--unwrap", path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        CONFIG,
        "unwrap gives back the original bytes"
    );
}
