//! `thoth run --url` against an OAuth-protected MCP server (issue 18): one loopback HTTP server of the test
//! plays the protected Streamable HTTP MCP server (`/mcp`, 401 + `WWW-Authenticate` without a valid Bearer),
//! its protected resource metadata (RFC 9728) and the authorization server at the issuer `/as` (RFC 8414
//! metadata path-inserted, dynamic client registration, authorization code + PKCE S256 checked, `resource`
//! checked, refresh with rotation). The browser is a script in `BROWSER` that records the URL thoth opens;
//! the test then follows it as a browser would (authorize -> 302 -> the loopback callback).

mod idp;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::oauth::browser_get;
use crate::support::{self, init_params, Thoth};
use idp::Server;
/// A `BROWSER` script that appends the URL it is given to `opened`.
fn browser(t: &Thoth) -> (PathBuf, PathBuf) {
    let script = t.home.path().join("browser.sh");
    let opened = t.home.path().join("opened");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1\" >> '{}'\n", opened.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (script, opened)
}

fn opened_urls(opened: &Path) -> Vec<String> {
    std::fs::read_to_string(opened)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Wait for the browser script to have been given the `n`th URL (the event is the file's new line).
fn wait_opened(opened: &Path, n: usize) -> String {
    let deadline = Instant::now() + support::TIMEOUT;
    loop {
        if let Some(url) = opened_urls(opened).get(n - 1) {
            return url.clone();
        }
        assert!(Instant::now() < deadline, "thoth opened no browser");
        // The browser script appends to a file; polling it is the wait (no notification across processes).
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn session(t: &Thoth, script: &Path, extra: &[&str], env: &[(&str, &str)]) -> support::Session {
    let mut cmd = t.command();
    cmd.env("BROWSER", script)
        .args(["run", "--transport", "streamable-http"])
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    support::Session::spawn(cmd)
}

/// Play the browser: the authorization URL, its redirect to thoth's callback; the callback's status.
fn follow(authorization_url: &str) -> (u16, String) {
    let (status, location, body) = browser_get(authorization_url);
    assert_eq!(status, 302, "the authorization server refused: {body}");
    let location = location.expect("a redirect to the callback");
    let (status, _, _) = browser_get(&location);
    (status, location)
}

fn query(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Every file under `dir` but `except`, as text.
fn files_text(dir: &Path, except: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_text(&path, except, out);
        } else if path != except {
            out.push_str(&String::from_utf8_lossy(
                &std::fs::read(&path).unwrap_or_default(),
            ));
        }
    }
}

/// The one file under ~/.thoth holding `token` (the kept record).
fn token_file(home: &Path, token: &str) -> PathBuf {
    let mut found = Vec::new();
    let mut stack = vec![home.join(".thoth")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read_to_string(&path).is_ok_and(|t| t.contains(token)) {
                found.push(path);
            }
        }
    }
    assert_eq!(
        found.len(),
        1,
        "the token is kept in exactly one file: {found:?}"
    );
    found.remove(0)
}

fn signed_in_session(server: &Server, t: &Thoth, script: &Path, opened: &Path) -> support::Session {
    let url = server.url();
    let mut s = session(t, script, &["--url", &url], &[]);
    s.send(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":init_params()}));
    let authorization = wait_opened(opened, 1);
    assert!(
        s.stderr().contains(&authorization),
        "the URL is printed on stderr too"
    );
    let (status, _) = follow(&authorization);
    assert_eq!(status, 200);
    let (init, _) = s.recv_until_id(&json!(1));
    assert_eq!(
        init["result"]["serverInfo"]["name"],
        "oauthed",
        "{init}\n{}",
        s.stderr()
    );
    s
}

#[test]
fn a_browser_sign_in_with_pkce_and_resource_bridges_calls_and_a_second_run_reuses_the_kept_token() {
    let server = Server::start(|_| {});
    let url = server.url();
    let t = Thoth::new("dev");
    let (script, opened) = browser(&t);
    let mut s = signed_in_session(&server, &t, &script, &opened);
    // The authorization request: the registered client, S256, the resource, the scope the server names.
    let asked = query(&opened_urls(&opened)[0]);
    assert_eq!(asked["resource"], url);
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["scope"], "mcp:tools");
    assert!(asked["client_id"].starts_with("dyn-client-"), "{asked:?}");
    let exchange = &server.grants("authorization_code")[0];
    assert_eq!(exchange["resource"], url);
    assert!(
        server.idp().refused.is_empty(),
        "{:?}",
        server.idp().refused
    );
    s.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    let call = s.request(
        json!(2),
        "tools/call",
        json!({"name": "echo", "arguments": {}}),
    );
    assert_eq!(
        call["result"]["content"][0]["text"], "called echo",
        "{call}"
    );
    let access = server.idp().issued[0].clone();
    let bearer = format!("Bearer {access}");
    assert!(server
        .idp()
        .mcp
        .iter()
        .any(|(auth, m)| m == "tools/call" && auth.as_deref() == Some(bearer.as_str())));
    let stdout = s.drain_frames();
    s.close_stdin();
    assert!(
        s.wait_timeout(support::TIMEOUT).expect("exit").success(),
        "{}",
        s.stderr()
    );

    // Kept 0600, and nowhere else: not on stdout, stderr, the log or any other file.
    let kept = token_file(t.home.path(), &access);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", kept.display());
    }
    let mut elsewhere = s.stderr();
    elsewhere.push_str(&format!("{stdout:?}{call}"));
    files_text(t.home.path(), &kept, &mut elsewhere);
    for token in server.idp().issued.clone() {
        assert!(!elsewhere.contains(&token), "a token leaked");
    }

    // A second run: the kept token, no browser, no new grant.
    let mut s = session(&t, &script, &["--url", &url], &[]);
    let init = s.request(json!(1), "initialize", init_params());
    assert_eq!(
        init["result"]["serverInfo"]["name"],
        "oauthed",
        "{init}\n{}",
        s.stderr()
    );
    s.close_stdin();
    assert!(s.wait_timeout(support::TIMEOUT).expect("exit").success());
    assert_eq!(opened_urls(&opened).len(), 1, "no second browser sign-in");
    assert_eq!(server.requests_to("/as/token").len(), 1);
}

#[test]
fn an_expiring_token_is_refreshed_before_use_and_a_refused_one_after_the_401() {
    // Tokens living 5 s are within the 30 s margin: expired for thoth at once.
    let server = Server::start(|s| {
        s.lifetime = 5;
        s.header_metadata = true;
    });
    let url = server.url();
    let t = Thoth::new("dev");
    let (script, opened) = browser(&t);
    let mut s = signed_in_session(&server, &t, &script, &opened);
    s.close_stdin();
    assert!(s.wait_timeout(support::TIMEOUT).expect("exit").success());
    assert!(
        server.requests_to("/prm-doc").len() == 1,
        "the header's resource_metadata is used"
    );

    let mut s = session(&t, &script, &["--url", &url], &[]);
    let init = s.request(json!(1), "initialize", init_params());
    assert_eq!(
        init["result"]["serverInfo"]["name"],
        "oauthed",
        "{init}\n{}",
        s.stderr()
    );
    let refreshes = server.grants("refresh_token");
    assert_eq!(refreshes.len(), 1, "refreshed before use");
    assert_eq!(refreshes[0]["resource"], url);
    s.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));

    // The server revokes every access token: the next call's 401 is answered by a refresh, then the call.
    server.idp().live_access.clear();
    let call = s.request(
        json!(2),
        "tools/call",
        json!({"name": "echo", "arguments": {}}),
    );
    assert_eq!(
        call["result"]["content"][0]["text"],
        "called echo",
        "{call}\n{}",
        s.stderr()
    );
    assert_eq!(server.grants("refresh_token").len(), 2);
    assert_eq!(opened_urls(&opened).len(), 1, "no new browser sign-in");
    s.close_stdin();
    assert!(s.wait_timeout(support::TIMEOUT).expect("exit").success());
    let issued = server.idp().issued.clone();
    let newest = issued[issued.len() - 2].clone();
    token_file(t.home.path(), &newest);
    assert!(
        server.idp().refused.is_empty(),
        "{:?}",
        server.idp().refused
    );
}

#[test]
fn a_callback_with_another_state_is_refused_and_its_code_never_used() {
    let server = Server::start(|_| {});
    let url = server.url();
    let t = Thoth::new("dev");
    let (script, opened) = browser(&t);
    let mut s = session(&t, &script, &["--url", &url], &[]);
    s.send(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":init_params()}));
    let authorization = wait_opened(&opened, 1);
    let (status, location, _) = browser_get(&authorization);
    assert_eq!(status, 302);
    let location = location.unwrap();
    let mut forged = url::Url::parse(&location).unwrap();
    let state = query(&location)["state"].clone();
    for bad_state in [
        "",
        "x",
        &state[1..],
        &format!("{state}x"),
        &state.to_uppercase(),
    ] {
        if bad_state == state {
            continue;
        }
        forged
            .query_pairs_mut()
            .clear()
            .append_pair("code", "forged-code")
            .append_pair("state", bad_state);
        let (status, _, body) = browser_get(forged.as_str());
        assert_eq!(status, 400, "{body}");
    }
    // The right one still completes the sign-in; the forged code never reached the token endpoint.
    let (status, _, _) = browser_get(&location);
    assert_eq!(status, 200);
    let (init, _) = s.recv_until_id(&json!(1));
    assert_eq!(init["result"]["serverInfo"]["name"], "oauthed", "{init}");
    assert!(server
        .grants("authorization_code")
        .iter()
        .all(|p| p["code"] != "forged-code"));
    assert_eq!(server.grants("authorization_code").len(), 1);
    s.close_stdin();
    assert!(s.wait_timeout(support::TIMEOUT).is_some());
}

/// Initialize's error, the browser never opened.
fn refused(
    t: &Thoth,
    script: &Path,
    opened: &Path,
    url: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> String {
    let mut flags = vec!["--url", url];
    flags.extend_from_slice(extra);
    let mut s = session(t, script, &flags, env);
    let init = s.request(json!(1), "initialize", init_params());
    s.close_stdin();
    assert!(s.wait_timeout(support::TIMEOUT).is_some());
    assert!(opened_urls(opened).is_empty(), "a browser was opened");
    let text = init["error"].to_string();
    assert!(text.contains(url) && text.contains("401"), "{init}");
    text
}

#[test]
fn no_sign_in_without_a_browser_without_s256_or_without_a_client_id_and_initialize_says_why() {
    let server = Server::start(|_| {});
    let t = Thoth::new("dev");
    let (script, opened) = browser(&t);
    let text = refused(
        &t,
        &script,
        &opened,
        &server.url(),
        &[],
        &[("THOTH_OAUTH_NONINTERACTIVE", "1")],
    );
    assert!(
        text.contains("THOTH_OAUTH_NONINTERACTIVE") && text.contains("Authorization: Bearer"),
        "{text}"
    );
    assert!(server.requests_to("/as/authorize").is_empty());

    let server = Server::start(|s| s.no_s256 = true);
    let text = refused(&t, &script, &opened, &server.url(), &[], &[]);
    assert!(text.contains("S256"), "{text}");

    let server = Server::start(|s| s.no_registration = true);
    let text = refused(&t, &script, &opened, &server.url(), &[], &[]);
    assert!(text.contains("--oauth-client-id"), "{text}");
    // With a client id registered there, the sign-in runs as that client.
    let url = server.url();
    let mut s = session(
        &t,
        &script,
        &["--url", &url, "--oauth-client-id", "pre-registered"],
        &[],
    );
    s.send(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":init_params()}));
    let authorization = wait_opened(&opened, 1);
    assert_eq!(query(&authorization)["client_id"], "pre-registered");
    assert_eq!(follow(&authorization).0, 200);
    let (init, _) = s.recv_until_id(&json!(1));
    assert_eq!(init["result"]["serverInfo"]["name"], "oauthed", "{init}");
    s.close_stdin();
    assert!(s.wait_timeout(support::TIMEOUT).is_some());
}
