//! SSO sign-in (issue 19): `thoth auth login|status|logout` (and `thothctl`) against the loopback
//! authorization server in tests/support/oauth.rs, the test playing the browser; the session as a
//! credential, refreshed with rotation before `thoth checkin` and `thoth run` use it, once for two runs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::https::{Reply, Server};
use crate::support::oauth::{self, AuthServer, Discovery};
use crate::support::{assert_valid, fixture_server, schema_validator, Session, Thoth};

const EMAIL: &str = "alice@acme.example";

/// The acceptance environment: tenant, user, a GovAPI URL, the issuer, `BROWSER=true`, no credential.
fn env(auth: &AuthServer, govapi: &str) -> Vec<(&'static str, String)> {
    vec![
        ("THOTH_TENANT_ID", "acme".into()),
        ("THOTH_USER_ID", EMAIL.into()),
        ("THOTH_GOVAPI_URL", govapi.into()),
        ("THOTH_AUTH_ISSUER", auth.url().into()),
        ("BROWSER", "true".into()),
        ("THOTH_LOG", "trace".into()),
    ]
}

const NO_GOVAPI: &str = "http://127.0.0.1:9";

fn session_dir(t: &Thoth) -> PathBuf {
    t.home.path().join(".thoth/sessions")
}

fn jwt_path(t: &Thoth) -> PathBuf {
    session_dir(t).join("acme--127.0.0.1--admin-token.jwt")
}

fn refresh_path(t: &Thoth) -> PathBuf {
    session_dir(t).join("acme--127.0.0.1--admin-token.refresh")
}

fn spawn(t: &Thoth, env: &[(&'static str, String)], args: &[&str]) -> Session {
    let mut cmd = t.command();
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(args);
    Session::spawn(cmd)
}

fn output(t: &Thoth, env: &[(&'static str, String)], args: &[&str]) -> (i32, String, String) {
    let out = t
        .command()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Wait until thoth's stderr holds a line containing `needle`; returns that line.
fn wait_stderr_line(s: &Session, needle: &str) -> String {
    let start = Instant::now();
    loop {
        if let Some(line) = s.stderr().lines().find(|l| l.contains(needle)) {
            return line.trim().to_owned();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no stderr line with {needle:?}; stderr:\n{}",
            s.stderr()
        );
        // Poll interval of a wait for a stderr line (the event), bounded by the deadline above.
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn query(url: &str) -> std::collections::BTreeMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// No token the server issued appears in `text`.
fn assert_no_token(auth: &AuthServer, text: &str, what: &str) {
    for token in auth.issued() {
        assert!(!text.contains(&token), "{what} holds a token: {text}");
        // Not even its signature-less head (a JWT's payload part).
        if let Some(payload) = token.split('.').nth(1) {
            assert!(!text.contains(payload), "{what} holds a token's payload");
        }
    }
}

/// Everything under `dir`, concatenated.
fn all_files(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_file() {
            out.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    out
}

/// Play the browser for one `thoth auth login`: read the URL from stderr, check it, send a forged callback
/// first (wrong state: refused, its code never exchanged), then follow the real redirect. Returns the
/// authorization request's parameters.
fn play_browser(s: &Session, auth: &AuthServer) -> std::collections::BTreeMap<String, String> {
    let line = wait_stderr_line(s, oauth::AUTHORIZE);
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap();
    assert!(
        url.starts_with(&format!("{}{}", auth.url(), oauth::AUTHORIZE)),
        "{url}"
    );
    let params = query(url);
    let redirect = params["redirect_uri"].clone();
    assert!(
        redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"),
        "{redirect}"
    );
    let (status, _, body) = oauth::browser_get(&format!(
        "{redirect}?code=decoy-code&state=forged-state-0123456789"
    ));
    assert_eq!(status, 400, "a forged callback must be refused: {body}");
    let (status, location, _) = oauth::browser_get(url);
    assert_eq!(status, 302);
    let (status, _, body) = oauth::browser_get(&location.unwrap());
    assert_eq!(status, 200, "{body}");
    params
}

fn login(
    t: &Thoth,
    auth: &AuthServer,
    extra: &[&str],
) -> (std::collections::BTreeMap<String, String>, String, String) {
    let mut args = vec![
        "auth",
        "login",
        "--tenant-id",
        "acme",
        "--admin-email",
        EMAIL,
    ];
    args.extend_from_slice(extra);
    let mut s = spawn(t, &env(auth, NO_GOVAPI), &args);
    let params = play_browser(&s, auth);
    let status = s
        .wait_timeout(Duration::from_secs(20))
        .expect("login exits");
    let mut stdout = Vec::new();
    while let Some(line) = s.recv_raw(Duration::from_millis(200)) {
        stdout.extend_from_slice(&line);
    }
    assert!(status.success(), "login failed: {}", s.stderr());
    (params, String::from_utf8(stdout).unwrap(), s.stderr())
}

#[test]
fn login_with_pkce_over_the_loopback_redirect_saves_a_private_session() {
    let auth = AuthServer::start(Discovery::Rfc8414);
    let t = Thoth::new("dev");
    let (params, stdout, stderr) = login(&t, &auth, &["--json"]);
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], "thoth-cli");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["login_hint"], EMAIL);
    assert!(params["state"].len() >= 16, "{params:?}");
    // The exchange: the verifier, the same redirect URI and client; the forged code never.
    let exchanges = auth.grants("authorization_code");
    assert_eq!(exchanges.len(), 1, "{:?}", auth.state().refused);
    let exchange = &exchanges[0].params;
    assert_eq!(exchange["redirect_uri"], params["redirect_uri"]);
    assert!(exchange["code_verifier"].len() >= 43);
    assert!(
        auth.state().refused.is_empty(),
        "{:?}",
        auth.state().refused
    );
    assert!(!auth
        .seen_at(oauth::TOKEN)
        .iter()
        .any(|s| s.params.get("code").map(String::as_str) == Some("decoy-code")));
    // The session: the JWT and the refresh token, 0600 in a 0700 folder.
    let issued = auth.issued();
    assert_eq!(
        std::fs::read_to_string(jwt_path(&t)).unwrap().trim(),
        issued[0]
    );
    assert_eq!(
        std::fs::read_to_string(refresh_path(&t)).unwrap().trim(),
        issued[1]
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&session_dir(&t)), 0o700);
        assert_eq!(mode(&jwt_path(&t)), 0o600);
        assert_eq!(mode(&refresh_path(&t)), 0o600);
    }
    // Tokens are never printed, even at THOTH_LOG=trace.
    assert_no_token(&auth, &stdout, "stdout");
    assert_no_token(&auth, &stderr, "stderr");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_valid(&schema_validator("auth-status.schema.json"), &printed);
    assert_eq!(printed["email"], EMAIL);
    assert_eq!(printed["state"], "valid");

    // status: who, tenant, expiry, refreshable; exit 0.
    let (code, out, err) = output(&t, &env(&auth, NO_GOVAPI), &["auth", "status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_valid(&schema_validator("auth-status.schema.json"), &report);
    assert_eq!(report["tenant"], "acme");
    assert_eq!(report["email"], EMAIL);
    assert_eq!(report["refreshable"], true);
    assert!(
        report["expires_at"].as_str().unwrap().ends_with('Z'),
        "{report}"
    );
    assert_no_token(&auth, &format!("{out}{err}"), "status");
}

#[test]
fn a_second_login_has_a_fresh_verifier_and_state_and_leaves_no_stale_refresh_token() {
    let auth = AuthServer::start(Discovery::Rfc8414);
    let t = Thoth::new("dev");
    let (first, _, _) = login(&t, &auth, &["--no-browser"]);
    assert!(refresh_path(&t).exists());
    auth.state().issue_refresh = false;
    let (second, _, _) = login(&t, &auth, &["--no-browser"]);
    assert_ne!(first["state"], second["state"]);
    assert_ne!(first["code_challenge"], second["code_challenge"]);
    let exchanges = auth.grants("authorization_code");
    assert_ne!(
        exchanges[0].params["code_verifier"],
        exchanges[1].params["code_verifier"]
    );
    assert!(!refresh_path(&t).exists(), "a stale refresh token was left");
    assert_eq!(
        std::fs::read_to_string(jwt_path(&t)).unwrap().trim(),
        auth.issued().last().unwrap()
    );
    let (code, out, _) = output(&t, &env(&auth, NO_GOVAPI), &["auth", "status", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["refreshable"],
        false
    );
}

#[test]
fn the_device_grant_polls_at_the_interval_and_slows_down_by_five_seconds() {
    // Only OpenID discovery here: RFC 8414's document is 404.
    let auth = AuthServer::start(Discovery::OpenIdOnly);
    auth.state().device_script = vec!["authorization_pending", "slow_down", "ok"];
    let t = Thoth::new("dev");
    let (code, out, err) = output(
        &t,
        &env(&auth, NO_GOVAPI),
        &["auth", "login", "--tenant-id", "acme", "--device"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains(oauth::USER_CODE), "{err}");
    assert!(err.contains(&format!("{}/device", auth.url())), "{err}");
    assert_eq!(
        auth.seen_at("/.well-known/oauth-authorization-server")
            .len(),
        1
    );
    let polls = auth.grants("urn:ietf:params:oauth:grant-type:device_code");
    assert_eq!(polls.len(), 3);
    let started = auth.seen_at(oauth::DEVICE)[0].at;
    let gaps: Vec<Duration> = [started, polls[0].at, polls[1].at, polls[2].at]
        .windows(2)
        .map(|w| w[1] - w[0])
        .collect();
    let tolerance = Duration::from_millis(50);
    assert!(gaps[0] + tolerance >= Duration::from_secs(1), "{gaps:?}");
    assert!(gaps[1] + tolerance >= Duration::from_secs(1), "{gaps:?}");
    assert!(
        gaps[2] + tolerance >= Duration::from_secs(6),
        "slow_down adds 5 s: {gaps:?}"
    );
    assert!(jwt_path(&t).exists());
    assert_no_token(&auth, &err, "stderr");
}

#[test]
fn a_denied_or_expired_device_login_fails_and_keeps_the_session() {
    let auth = AuthServer::start(Discovery::Rfc8414);
    let t = Thoth::new("dev");
    std::fs::create_dir_all(session_dir(&t)).unwrap();
    std::fs::write(jwt_path(&t), "previous-session-token\n").unwrap();
    for (answer, word) in [("access_denied", "denied"), ("expired_token", "expired")] {
        auth.state().device_script = vec!["authorization_pending", answer];
        let (code, _, err) = output(
            &t,
            &env(&auth, NO_GOVAPI),
            &["auth", "login", "--tenant-id", "acme", "--device"],
        );
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(word), "{err}");
        assert_eq!(
            std::fs::read_to_string(jwt_path(&t)).unwrap(),
            "previous-session-token\n"
        );
        assert!(!refresh_path(&t).exists());
        let mut state = auth.state();
        state.seen.clear();
        drop(state);
    }
}

#[test]
fn no_metadata_at_the_issuer_is_exit_1() {
    let auth = AuthServer::start(Discovery::None);
    let t = Thoth::new("dev");
    let (code, _, err) = output(
        &t,
        &env(&auth, NO_GOVAPI),
        &["auth", "login", "--tenant-id", "acme"],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("oauth-authorization-server") && err.contains("openid-configuration"),
        "{err}"
    );
    // The flag wins over THOTH_AUTH_ISSUER.
    let good = AuthServer::start(Discovery::Rfc8414);
    let (code, _, err) = output(
        &t,
        &env(&auth, NO_GOVAPI),
        &[
            "auth",
            "login",
            "--tenant-id",
            "acme",
            "--device",
            "--issuer",
            good.url(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    // A managed THOTH_AUTH_ISSUER wins over the flag.
    let managed = t.home.path().join("managed.json");
    std::fs::write(
        &managed,
        json!({"THOTH_AUTH_ISSUER": good.url()}).to_string(),
    )
    .unwrap();
    let mut e = env(&auth, NO_GOVAPI);
    e.push(("THOTH_MANAGED_SETTINGS_FILE", managed.display().to_string()));
    let flags = [
        "auth",
        "login",
        "--tenant-id",
        "acme",
        "--device",
        "--issuer",
    ];
    let mut args = flags.to_vec();
    args.push(auth.url());
    let (code, _, err) = output(&t, &e, &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        good.grants("urn:ietf:params:oauth:grant-type:device_code")
            .len(),
        2
    );
}

/// An expired JWT for the server's user, with (optionally) a refresh token the server accepts once.
fn expired_session(t: &Thoth, auth: &AuthServer, refreshable: bool) -> (String, Option<String>) {
    std::fs::create_dir_all(session_dir(t)).unwrap();
    let access = auth.mint_access(-60);
    std::fs::write(jwt_path(t), format!("{access}\n")).unwrap();
    let refresh = refreshable.then(|| auth.mint_refresh());
    if let Some(r) = &refresh {
        std::fs::write(refresh_path(t), format!("{r}\n")).unwrap();
    }
    (access, refresh)
}

#[test]
fn status_reports_missing_and_expired_sessions_with_exit_1_and_logout_revokes() {
    let auth = AuthServer::start(Discovery::Rfc8414);
    let t = Thoth::new("dev");
    let e = env(&auth, NO_GOVAPI);
    let (code, out, _) = output(&t, &e, &["auth", "status", "--json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_valid(&schema_validator("auth-status.schema.json"), &report);
    assert_eq!(report["state"], "missing");
    let (access, refresh) = expired_session(&t, &auth, true);
    let (code, out, _) = output(&t, &e, &["auth", "status"]);
    assert_eq!(code, 1);
    assert!(out.contains("expired"), "{out}");
    let (code, out, _) = output(&t, &e, &["auth", "status", "--json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["state"], "expired");
    assert_eq!(report["refreshable"], true);
    assert!(
        report["expires_at_epoch"].as_i64().unwrap()
            < time::OffsetDateTime::now_utc().unix_timestamp()
    );
    assert!(
        auth.grants("refresh_token").is_empty(),
        "status must not refresh"
    );

    let (code, out, err) = output(&t, &e, &["auth", "logout"]);
    assert_eq!(code, 0, "{err}");
    assert_no_token(&auth, &format!("{out}{err}"), "logout");
    let revoked = auth.state().revoked.clone();
    assert!(
        revoked.contains(&(refresh.unwrap(), "refresh_token".into())),
        "{revoked:?}"
    );
    assert!(
        revoked.contains(&(access, "access_token".into())),
        "{revoked:?}"
    );
    assert!(!jwt_path(&t).exists() && !refresh_path(&t).exists());
}

#[cfg(unix)]
#[test]
fn thothctl_is_the_same_binary_under_another_name() {
    let auth = AuthServer::start(Discovery::Rfc8414);
    let t = Thoth::new("dev");
    let link = t.home.path().join("thothctl");
    std::os::unix::fs::symlink(crate::support::thoth_bin(), &link).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&link)
            .env_clear()
            .env("HOME", t.home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("THOTH_ENV", "dev")
            .envs(env(&auth, NO_GOVAPI).iter().map(|(k, v)| (*k, v.as_str())))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(run(&["auth", "status", "--json"]).0, 1);
    assert_eq!(
        run(&["auth", "login", "--tenant-id", "acme", "--device"]).0,
        0
    );
    let (code, out) = run(&["auth", "status", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["email"], EMAIL);
    assert_eq!(run(&["auth", "logout"]).0, 0);
    assert!(!jwt_path(&t).exists());
}

/// A loopback GovAPI (and enforcer) over plain HTTP.
fn govapi() -> Server {
    let server = Server::http();
    server.route("POST", "/v1/endpoints/*", vec![Reply::json(json!({}))]);
    server.route(
        "POST",
        "/v1/enforce",
        vec![Reply::json(json!({"decision": "ALLOW"}))],
    );
    server
}

fn bearer(r: &crate::support::https::Received) -> String {
    r.header("authorization").unwrap_or_default().to_owned()
}

#[test]
fn checkin_refreshes_an_expired_session_with_rotation_first() {
    let auth = AuthServer::start(Discovery::Rfc8414);
    let api = govapi();
    let t = Thoth::new("dev");
    let mut e = env(&auth, api.url());
    e.push(("THOTH_ENDPOINT_ID", "ep-1".into()));
    // The session file is named after the GovAPI host (127.0.0.1 here too).
    let (old_access, old_refresh) = expired_session(&t, &auth, true);
    let (code, out, err) = output(&t, &e, &["checkin"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(auth.grants("refresh_token").len(), 1);
    let new_access = std::fs::read_to_string(jwt_path(&t))
        .unwrap()
        .trim()
        .to_owned();
    let new_refresh = std::fs::read_to_string(refresh_path(&t))
        .unwrap()
        .trim()
        .to_owned();
    assert_ne!(new_access, old_access);
    assert_ne!(Some(new_refresh.clone()), old_refresh);
    assert!(auth.state().live_refresh.contains(&new_refresh));
    assert!(
        !all_files(&session_dir(&t)).contains(old_refresh.as_deref().unwrap()),
        "the spent refresh token stayed on disk"
    );
    let sent = api.received_at("POST", "/v1/endpoints/*");
    assert!(!sent.is_empty());
    for r in &sent {
        assert_eq!(bearer(r), format!("Bearer {new_access}"));
    }
    assert_no_token(&auth, &format!("{out}{err}"), "checkin output");
}

#[test]
fn checkin_with_an_expired_session_and_no_refresh_token_sends_nothing() {
    let auth = AuthServer::start(Discovery::Rfc8414);
    let api = govapi();
    let t = Thoth::new("dev");
    expired_session(&t, &auth, false);
    let (code, _, err) = output(&t, &env(&auth, api.url()), &["checkin"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("expired") && err.contains("thoth auth login"),
        "{err}"
    );
    assert!(
        api.received().is_empty(),
        "something was sent with an expired token"
    );
}

#[test]
fn two_runs_at_once_refresh_the_session_once_and_use_the_new_token() {
    let auth = AuthServer::start(Discovery::Rfc8414);
    // A slow refresh: the second run reaches the session while the first is renewing it.
    auth.state().refresh_delay = Duration::from_millis(800);
    let api = govapi();
    let t = Thoth::new("dev");
    let (old_access, old_refresh) = expired_session(&t, &auth, true);
    let mut e = env(&auth, api.url());
    e.push(("THOTH_ENFORCER_URL", api.url().into()));
    let log_file = t.home.path().join("trace.log");
    let start = |agent: &str| {
        let mut cmd = t.command();
        cmd.envs(e.iter().map(|(k, v)| (*k, v.as_str())))
            .args(["run", "--log-file"])
            .arg(&log_file)
            .args(["--agent-id", agent, "--"])
            .arg(fixture_server());
        Session::spawn(cmd)
    };
    let mut runs = [start("a1"), start("a2")];
    for (i, run) in runs.iter_mut().enumerate() {
        run.initialize_fixture();
        let id = json!(10 + i);
        run.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hi"}}}));
        let (reply, _) = run.recv_until_id(&id);
        assert!(reply.get("result").is_some(), "{reply}\n{}", run.stderr());
    }
    assert_eq!(
        auth.grants("refresh_token").len(),
        1,
        "refused: {:?}",
        auth.state().refused
    );
    assert!(
        auth.state().refused.is_empty(),
        "{:?}",
        auth.state().refused
    );
    let new_access = std::fs::read_to_string(jwt_path(&t))
        .unwrap()
        .trim()
        .to_owned();
    let enforced = api.received_at("POST", "/v1/enforce");
    assert_eq!(enforced.len(), 2);
    for r in &enforced {
        assert_eq!(bearer(r), format!("Bearer {new_access}"));
        assert_ne!(bearer(r), format!("Bearer {old_access}"));
    }
    assert!(!all_files(&session_dir(&t)).contains(old_refresh.as_deref().unwrap()));
    let mut texts = String::new();
    for mut run in runs {
        run.close_stdin();
        run.wait_timeout(Duration::from_secs(20));
        texts.push_str(&run.stderr());
        texts.push_str(&serde_json::to_string(&run.drain_frames()).unwrap());
    }
    texts.push_str(&std::fs::read_to_string(&log_file).unwrap_or_default());
    assert!(texts.contains("renewed the expired SSO session"), "{texts}");
    assert_no_token(&auth, &texts, "run output or logs");
}

#[test]
fn doctor_and_health_show_the_session_state_and_expiry_without_the_token() {
    let auth = AuthServer::start(Discovery::Rfc8414);
    let t = Thoth::new("dev");
    let e = env(&auth, NO_GOVAPI);
    expired_session(&t, &auth, false);
    let (code, out, err) = output(&t, &e, &["doctor", "--json"]);
    assert_eq!(code, 1, "an unusable session is a problem: {out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_valid(&schema_validator("doctor.schema.json"), &report);
    assert_eq!(report["session"]["state"], "expired");
    assert_eq!(report["session"]["refreshable"], false);
    assert!(report["session"]["expires_at"].is_string());
    assert!(report["problems"].as_array().unwrap().iter().any(
        |p| p["check"] == "session" && p["fix"].as_str().unwrap().contains("thoth auth login")
    ));
    assert_no_token(&auth, &format!("{out}{err}"), "doctor");
    let (_, out, err) = output(&t, &e, &["health", "--json"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_valid(&schema_validator("health.schema.json"), &report);
    assert_eq!(report["session"]["state"], "expired");
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sso_session")
        .unwrap();
    assert_eq!(check["status"], "fail", "{report}");
    assert_no_token(&auth, &format!("{out}{err}"), "health");
    // A valid session is fine.
    std::fs::write(jwt_path(&t), auth.mint_access(3600)).unwrap();
    let (_, out, _) = output(&t, &e, &["health", "--json"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["session"]["state"], "valid");
    assert_no_token(&auth, &out, "health");
}

#[test]
fn run_with_an_expired_session_and_no_refresh_token_refuses_over_mcp() {
    let auth = AuthServer::start(Discovery::Rfc8414);
    let api = govapi();
    let t = Thoth::new("dev");
    expired_session(&t, &auth, false);
    let mut e = env(&auth, api.url());
    e.push(("THOTH_ENFORCER_URL", api.url().into()));
    let mut cmd = t.command();
    cmd.envs(e.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["run", "--"])
        .arg(fixture_server());
    let mut s = Session::spawn(cmd);
    let reply = s.request(json!(0), "initialize", crate::support::init_params());
    let message = reply["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let data = reply["error"]["data"].to_string();
    assert!(message.contains("expired"), "{reply}");
    assert!(
        format!("{message}{data}").contains("thoth auth login"),
        "{reply}"
    );
    s.close_stdin();
    let status = s.wait_timeout(Duration::from_secs(20)).expect("exits");
    assert_eq!(status.code(), Some(1));
    assert!(
        api.received().is_empty(),
        "something was sent with an expired token"
    );
    assert_no_token(&auth, &s.stderr(), "stderr");
}
