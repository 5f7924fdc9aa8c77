//! `thoth update` against a loopback GitHub-style release server (HTTPS, test CA), with release assets signed
//! at test time by the same helper real releases use (`installers/release.rs`). Every update runs a COPY of
//! the built binary in a temp folder, which replaces itself. A refused update must leave that copy
//! byte-identical and still running, and say why.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use crate::support::https::{Reply, Server, TestCa};
use crate::support::{assert_valid, schema_validator, thoth_bin};

const REPO: &str = "acme/thoth";
const CURRENT: &str = env!("CARGO_PKG_VERSION");

fn asset_name() -> &'static str {
    thoth::update::release::this_asset_name().expect("a platform releases are built for")
}

/// The release helper, built by cargo as an example.
fn release_helper() -> PathBuf {
    let path = thoth_bin()
        .parent()
        .expect("target dir")
        .join("examples")
        .join(format!("release{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "release helper not built at {}",
        path.display()
    );
    path
}

fn helper(args: &[&str]) -> String {
    let out = Command::new(release_helper())
        .args(args)
        .output()
        .expect("run release helper");
    assert!(
        out.status.success(),
        "release {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A small program that answers `--version` like a release would (refusal tests never get to run it).
fn small_asset(version: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho \"thoth {version} (test release)\"\n").into_bytes()
}

/// One signed release folder: the asset, its .minisig and checksums.sha256, made by the helper.
struct Dist {
    dir: PathBuf,
}

impl Dist {
    fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).expect("dist file")
    }

    fn asset(&self) -> Vec<u8> {
        self.file(asset_name())
    }

    fn signature(&self) -> Vec<u8> {
        self.file(&format!("{}.minisig", asset_name()))
    }
}

struct Fixture {
    home: tempfile::TempDir,
    dir: tempfile::TempDir,
    exe: PathBuf,
    original: Vec<u8>,
    key: PathBuf,
    pubkey: String,
    ca_pem: String,
    server: Server,
    env: Vec<(String, String)>,
}

impl Fixture {
    fn new() -> Fixture {
        let home = tempfile::tempdir().expect("home");
        let dir = tempfile::tempdir().expect("install dir");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let exe = bin.join(format!("thoth{}", std::env::consts::EXE_SUFFIX));
        std::fs::copy(thoth_bin(), &exe).expect("copy thoth");
        let original = std::fs::read(&exe).unwrap();
        let keys = dir.path().join("key");
        let pubkey = helper(&["keygen", "--unencrypted", "--dir", keys.to_str().unwrap()])
            .trim()
            .to_owned();
        let ca = TestCa::new("thoth update test CA");
        let server = Server::https(&ca.leaf());
        let ca_pem = ca.write_pem(home.path(), "test-ca.pem");
        Fixture {
            home,
            exe,
            original,
            key: keys.join("release.key"),
            pubkey,
            ca_pem,
            server,
            env: Vec::new(),
            dir,
        }
    }

    /// Sign `asset` as release `version` with `key` (default: the trusted one) into a new folder.
    fn dist(&self, label: &str, version: &str, asset: &[u8], key: Option<&Path>) -> Dist {
        self.dist_files(label, version, &[(asset_name(), asset)], key)
    }

    /// Sign these assets (name, bytes) as release `version` into a new folder.
    fn dist_files(
        &self,
        label: &str,
        version: &str,
        assets: &[(&str, &[u8])],
        key: Option<&Path>,
    ) -> Dist {
        let dir = self.dir.path().join(format!("dist-{label}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in assets {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let key = key.unwrap_or(&self.key);
        helper(&[
            "sign",
            "--key",
            key.to_str().unwrap(),
            "--version",
            version,
            dir.to_str().unwrap(),
        ]);
        Dist { dir }
    }

    /// A second key pair, trusted by nobody.
    fn other_key(&self) -> PathBuf {
        let keys = self.dir.path().join("other-key");
        helper(&["keygen", "--unencrypted", "--dir", keys.to_str().unwrap()]);
        keys.join("release.key")
    }

    /// Publish releases: (tag, prerelease, files to serve as the release's assets).
    fn publish(&self, releases: &[(&str, bool, &Dist)]) {
        let mut list = Vec::new();
        for (tag, prerelease, dist) in releases {
            let mut assets = Vec::new();
            let mut names: Vec<String> = std::fs::read_dir(&dist.dir)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for name in names {
                let bytes = dist.file(&name);
                let path = format!("/download/{tag}/{name}");
                assets.push(json!({
                    "name": name,
                    "size": bytes.len(),
                    "browser_download_url": format!("{}{path}", self.server.url()),
                }));
                self.server.route("GET", &path, vec![Reply::bytes(bytes)]);
            }
            list.push(json!({"tag_name": tag, "prerelease": prerelease, "draft": false, "assets": assets}));
        }
        self.serve_list(json!(list));
    }

    fn serve_list(&self, list: Value) {
        self.server.route(
            "GET",
            &format!("/repos/{REPO}/releases"),
            vec![Reply::json(list)],
        );
    }

    /// Serve `reply` for one file of release `tag` instead of what was published.
    fn replace_file(&self, tag: &str, name: &str, reply: Reply) {
        self.server
            .route("GET", &format!("/download/{tag}/{name}"), vec![reply]);
    }

    /// The copied binary with a clean environment: dev, the loopback server, the test CA and the test key.
    fn command(&self, env: &'static str) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("USER", "tester")
            .env("THOTH_ENV", env)
            .env("THOTH_LOG", "debug")
            .env("THOTH_UPDATE_URL", self.server.url())
            .env("THOTH_UPDATE_REPO", REPO)
            .env("THOTH_TLS_CA_BUNDLE", &self.ca_pem)
            .env("THOTH_UPDATE_TIMEOUT_SECONDS", "5")
            .stdin(Stdio::null());
        if env == "dev" {
            cmd.env("THOTH_UPDATE_PUBKEY", &self.pubkey);
        }
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        cmd
    }

    fn update(&self, args: &[&str]) -> Output {
        self.command("dev")
            .arg("update")
            .args(args)
            .output()
            .expect("run the copied thoth")
    }

    fn installed(&self) -> Vec<u8> {
        std::fs::read(&self.exe).unwrap()
    }

    fn previous(&self) -> PathBuf {
        thoth::update::install::previous_path(&self.exe)
    }

    fn state(&self) -> Value {
        let path = self.home.path().join(".thoth/state/update.json");
        let state: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_valid(&schema_validator("update-state.schema.json"), &state);
        state
    }

    /// The installed file still runs.
    fn assert_runs(&self) -> String {
        let out = Command::new(&self.exe)
            .arg("--version")
            .output()
            .expect("run the installed file");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `thoth update ARGS` is refused with `message`; the old binary is byte-identical, runs, and the state
    /// file records the error.
    fn assert_refused(&self, args: &[&str], message: &str) -> String {
        let out = self.update(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing on stdout when refused");
        assert!(
            stderr.contains(message),
            "expected {message:?} in:\n{stderr}"
        );
        assert!(stderr.contains("hint:"), "{stderr}");
        assert!(
            self.installed() == self.original,
            "the old binary was changed"
        );
        assert!(
            !self.previous().exists(),
            "nothing was kept: nothing was replaced"
        );
        assert!(self.assert_runs().contains(CURRENT));
        let state = self.state();
        assert!(
            state["last_error"]
                .as_str()
                .is_some_and(|e| e.contains(message)),
            "{state}"
        );
        assert_eq!(state["last_result"], "failed");
        stderr
    }
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_valid(&schema_validator("update-check.schema.json"), &v);
    v
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_verified_release_installs_runs_and_rolls_back() {
    let f = Fixture::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f.exe, std::fs::Permissions::from_mode(0o750)).unwrap();
    }
    // The new release is a real thoth binary (with a marker, so its bytes differ from the running one),
    // without its debug info where `strip` exists: a sixth of the bytes to sign, serve and check.
    let stripped = f.dir.path().join("thoth-stripped");
    std::fs::copy(thoth_bin(), &stripped).unwrap();
    let _ = Command::new("strip").arg(&stripped).status();
    let mut new = std::fs::read(&stripped).unwrap();
    new.extend_from_slice(b"\nthoth-test-release-9.0.0\n");
    let dist = f.dist("good", "9.0.0", &new, None);
    let older = f.dist("older", "0.0.1", &small_asset("0.0.1"), None);
    f.publish(&[("v9.0.0", false, &dist), ("v0.0.1", false, &older)]);

    let report = json_of(&f.update(&["--json"]));
    assert_eq!(report["action"], "updated");
    assert_eq!(report["target_version"], "9.0.0");
    assert_eq!(report["install"], "upgrade");
    assert_eq!(report["current_version"], CURRENT);
    assert!(
        f.installed() == new,
        "the installed file is the signed asset"
    );
    assert!(std::fs::read(f.previous()).unwrap() == f.original);
    assert!(f.assert_runs().starts_with("thoth "));
    #[cfg(unix)]
    assert_eq!(
        mode(&f.exe),
        0o750,
        "the mode of the installed file is kept"
    );
    let state = f.state();
    assert_eq!(state["current_version"], "9.0.0");
    assert_eq!(state["latest_seen"], "9.0.0");
    assert_eq!(state["last_error"], Value::Null);
    assert_eq!(state["previous_version"], CURRENT);

    // The new binary rolls itself back.
    let back = json_of(&f.update(&["--rollback", "--json"]));
    assert_eq!(back["action"], "rolled_back");
    assert_eq!(back["target_version"], CURRENT);
    assert!(f.installed() == f.original, "the previous binary is back");
    assert!(
        std::fs::read(f.previous()).unwrap() == new,
        "and the replaced one is kept"
    );
    assert!(f.assert_runs().contains(CURRENT));
    assert_eq!(f.state()["current_version"], CURRENT);
}

#[test]
fn check_looks_without_changing_anything() {
    let f = Fixture::new();
    let stable = f.dist("stable", "9.0.0", &small_asset("9.0.0"), None);
    let beta = f.dist("beta", "9.1.0-beta.1", &small_asset("9.1.0-beta.1"), None);
    f.publish(&[("v9.1.0-beta.1", true, &beta), ("v9.0.0", false, &stable)]);
    let report = json_of(&f.update(&["--check", "--json"]));
    assert_eq!(report["action"], "check");
    assert_eq!(report["update_available"], true);
    assert_eq!(report["channel"], "stable");
    assert_eq!(report["latest_version"], "9.0.0");
    assert_eq!(report["target_version"], "9.0.0");
    assert_eq!(report["asset"], asset_name());
    let report = json_of(&f.update(&["--check", "--json", "--channel", "beta"]));
    assert_eq!(report["target_version"], "9.1.0-beta.1");
    assert!(f.installed() == f.original);
    assert!(!f.previous().exists());
    assert!(
        f.server.received_at("GET", "/download/*").is_empty(),
        "--check downloads nothing"
    );
    let state = f.state();
    assert_eq!(state["last_result"], "check");
    assert_eq!(state["channel"], "beta");
    assert_eq!(state["latest_seen"], "9.1.0-beta.1");
    assert_eq!(state["last_error"], Value::Null);
    // `thoth health` reports this state as written (issue 6 reads what issue 7 writes).
    let health = f
        .command("dev")
        .args(["health", "--json"])
        .output()
        .unwrap();
    let health: Value = serde_json::from_slice(&health.stdout).unwrap();
    assert_valid(&schema_validator("health.schema.json"), &health);
    assert_eq!(health["update"], state);
    // Human form.
    let out = f.update(&["--check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("9.0.0 can be installed"), "{text}");
    // No progress bar without a terminal: stderr holds no bar characters.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("[=="));
    // Nothing was replaced yet, so there is nothing to roll back to; --rollback takes no other choice.
    f.assert_refused(&["--rollback"], "no previous binary to roll back to");
    assert_eq!(f.update(&["--rollback", "--force"]).status.code(), Some(2));
    // The alias.
    let out = f
        .command("dev")
        .args(["self-update", "--check", "--json"])
        .output()
        .unwrap();
    assert_eq!(json_of(&out)["target_version"], "9.0.0");
}

#[test]
fn nothing_newer_means_up_to_date_and_never_a_downgrade() {
    let f = Fixture::new();
    let older = f.dist("older", "0.0.9", &small_asset("0.0.9"), None);
    f.publish(&[("v0.0.9", false, &older)]);
    let report = json_of(&f.update(&["--json"]));
    assert_eq!(report["action"], "up_to_date");
    assert_eq!(report["update_available"], false);
    assert!(f.installed() == f.original);
    let text = String::from_utf8_lossy(&f.update(&[]).stdout).into_owned();
    assert!(text.contains("is up to date"), "{text}");
    // --force alone never picks the older one: it wants the current version, which is not published.
    let out = f.update(&["--force"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(f.installed() == f.original);
    f.assert_refused(
        &["--version", "0.0.9"],
        &format!("refusing to downgrade from {CURRENT} to 0.0.9"),
    );
    // Named with --force, the downgrade is installed.
    let report = json_of(&f.update(&["--version", "0.0.9", "--force", "--json"]));
    assert_eq!(report["install"], "downgrade");
    assert!(f.installed() == older.asset());
    assert!(f.assert_runs().contains("0.0.9"));
}

#[test]
fn force_reinstalls_the_current_version_keeping_owner_and_mode() {
    let f = Fixture::new();
    let same = f.dist("same", CURRENT, &small_asset(CURRENT), None);
    let tag = format!("v{CURRENT}");
    f.publish(&[(&tag, false, &same)]);
    // GitHub answers asset downloads with a redirect to its object store.
    f.server
        .route("GET", "/objects/asset", vec![Reply::bytes(same.asset())]);
    f.replace_file(&tag, asset_name(), Reply::redirect("/objects/asset"));
    #[cfg(unix)]
    let owner = {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        std::fs::set_permissions(&f.exe, std::fs::Permissions::from_mode(0o751)).unwrap();
        // As root (a per-machine install), the owner of the installed file is kept too.
        if thoth::platform::is_root() {
            std::os::unix::fs::chown(&f.exe, Some(4242), Some(4343)).unwrap();
        }
        let meta = std::fs::metadata(&f.exe).unwrap();
        (meta.uid(), meta.gid())
    };
    assert_eq!(json_of(&f.update(&["--json"]))["action"], "up_to_date");
    let report = json_of(&f.update(&["--force", "--json"]));
    assert_eq!(report["action"], "updated");
    assert_eq!(report["install"], "reinstall");
    assert!(f.installed() == same.asset());
    assert_eq!(f.server.received_at("GET", "/objects/asset").len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&f.exe).unwrap();
        assert_eq!(mode(&f.exe), 0o751);
        assert_eq!((meta.uid(), meta.gid()), owner);
    }
}

#[test]
fn archived_assets_are_verified_then_unpacked() {
    let binary = small_asset("9.0.0");
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(binary.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    tar.append_data(&mut header, "thoth-9.0.0/thoth", binary.as_slice())
        .unwrap();
    let tar_gz = tar.into_inner().unwrap().finish().unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        "thoth-9.0.0/thoth",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    std::io::Write::write_all(&mut zip, &binary).unwrap();
    let zip = zip.finish().unwrap().into_inner();
    for (suffix, archive) in [(".tar.gz", tar_gz), (".zip", zip)] {
        let f = Fixture::new();
        let name = format!("{}{suffix}", asset_name());
        let dist = f.dist_files("archive", "9.0.0", &[(&name, &archive)], None);
        f.publish(&[("v9.0.0", false, &dist)]);
        let report = json_of(&f.update(&["--json"]));
        assert_eq!(report["asset"], name);
        assert!(
            f.installed() == binary,
            "the binary inside {name} is installed"
        );
        assert!(f.assert_runs().contains("9.0.0"));
    }
}

#[test]
fn a_tampered_signature_is_refused() {
    let f = Fixture::new();
    let dist = f.dist("good", "9.0.0", &small_asset("9.0.0"), None);
    f.publish(&[("v9.0.0", false, &dist)]);
    // Change one character of the signature line (still valid base64, no longer the signature).
    let text = String::from_utf8(dist.signature()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut sig: Vec<char> = lines[1].chars().collect();
    sig[40] = if sig[40] == 'A' { 'B' } else { 'A' };
    lines[1] = sig.into_iter().collect();
    f.replace_file(
        "v9.0.0",
        &format!("{}.minisig", asset_name()),
        Reply::bytes(lines.join("\n") + "\n"),
    );
    f.assert_refused(&[], "does not verify");
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let f = Fixture::new();
    let theirs = f.dist(
        "theirs",
        "9.0.0",
        &small_asset("9.0.0"),
        Some(&f.other_key()),
    );
    f.publish(&[("v9.0.0", false, &theirs)]);
    f.assert_refused(&[], "made by a key this build does not trust");
}

#[test]
fn a_valid_signature_over_another_file_is_refused() {
    let f = Fixture::new();
    let dist = f.dist("good", "9.0.0", &small_asset("9.0.0"), None);
    let other = f.dist("other", "9.0.0", b"#!/bin/sh\necho evil\n", None);
    f.publish(&[("v9.0.0", false, &dist)]);
    f.replace_file(
        "v9.0.0",
        &format!("{}.minisig", asset_name()),
        Reply::bytes(other.signature()),
    );
    f.assert_refused(&[], "does not verify");
}

#[test]
fn a_trusted_comment_for_another_version_is_refused() {
    let f = Fixture::new();
    // Correctly signed, but for 8.0.0: replayed as release 9.0.0.
    let replayed = f.dist("replayed", "8.0.0", &small_asset("8.0.0"), None);
    f.publish(&[("v9.0.0", false, &replayed)]);
    let stderr = f.assert_refused(&[], "does not name version 9.0.0");
    assert!(stderr.contains("version:8.0.0"), "{stderr}");
}

#[test]
fn a_checksum_mismatch_is_refused() {
    let f = Fixture::new();
    let dist = f.dist("good", "9.0.0", &small_asset("9.0.0"), None);
    f.publish(&[("v9.0.0", false, &dist)]);
    let wrong = format!("{}  {}\n", "ab".repeat(32), asset_name());
    f.replace_file("v9.0.0", "checksums.sha256", Reply::bytes(wrong));
    f.assert_refused(&[], "does not match checksums.sha256");
}

#[test]
fn a_truncated_download_is_refused() {
    let f = Fixture::new();
    let dist = f.dist("good", "9.0.0", &small_asset("9.0.0"), None);
    f.publish(&[("v9.0.0", false, &dist)]);
    let asset = dist.asset();
    let half = asset[..asset.len() / 2].to_vec();
    f.replace_file("v9.0.0", asset_name(), Reply::bytes(half.clone()));
    f.assert_refused(&[], "was truncated");
    // The connection cut mid-body (Content-Length announced, then closed).
    let (url, server) = cut_server(half, asset.len());
    f.replace_file("v9.0.0", asset_name(), Reply::redirect(&url));
    let stderr = f.assert_refused(&[], "was truncated");
    assert!(
        stderr.contains(&format!("of {} bytes", asset.len())),
        "{stderr}"
    );
    server.join().unwrap();
}

/// A plain-HTTP loopback server for one request: it announces `announced` bytes, sends `body`, and closes.
fn cut_server(body: Vec<u8>, announced: usize) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/cut", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nContent-Type: application/octet-stream\r\n\r\n"
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
        let _ = stream.flush();
    });
    (url, handle)
}

#[test]
fn a_non_semver_tag_or_version_is_refused() {
    let f = Fixture::new();
    let dist = f.dist("nightly", "9.0.0", &small_asset("9.0.0"), None);
    f.publish(&[("nightly-2026-11-01", false, &dist)]);
    f.assert_refused(&[], "ignored tags that are not semver: nightly-2026-11-01");
    f.assert_refused(
        &["--version", "latest"],
        "\"latest\" is not a semantic version",
    );
}

#[test]
fn a_hanging_server_times_out() {
    let mut f = Fixture::new();
    f.env
        .push(("THOTH_UPDATE_TIMEOUT_SECONDS".into(), "1".into()));
    let dist = f.dist("good", "9.0.0", &small_asset("9.0.0"), None);
    f.publish(&[("v9.0.0", false, &dist)]);
    f.replace_file("v9.0.0", asset_name(), Reply::hang());
    f.assert_refused(&[], "timed out");
    // And a hanging release lookup.
    f.server.route(
        "GET",
        &format!("/repos/{REPO}/releases"),
        vec![Reply::hang()],
    );
    f.assert_refused(&["--check"], "timed out");
}

#[test]
fn a_missing_asset_is_refused() {
    let f = Fixture::new();
    let dist = f.dist("good", "9.0.0", &small_asset("9.0.0"), None);
    f.publish(&[("v9.0.0", false, &dist)]);
    f.replace_file("v9.0.0", asset_name(), Reply::status(404, "Not Found"));
    f.assert_refused(&[], "HTTP 404");
}

#[test]
fn managed_settings_disable_or_pin_updates() {
    let mut f = Fixture::new();
    let a = f.dist("a", "9.0.0", &small_asset("9.0.0"), None);
    let b = f.dist("b", "9.1.0", &small_asset("9.1.0"), None);
    f.publish(&[("v9.1.0", false, &b), ("v9.0.0", false, &a)]);
    let managed = f.home.path().join("managed.json");
    f.env.push((
        "THOTH_MANAGED_SETTINGS_FILE".into(),
        managed.to_str().unwrap().into(),
    ));

    std::fs::write(
        &managed,
        r#"{"THOTH_ENV": "dev", "THOTH_UPDATE_DISABLED": true}"#,
    )
    .unwrap();
    let stderr = f.assert_refused(&[], "self-update is disabled");
    assert!(stderr.contains("MDM"), "{stderr}");
    assert!(
        f.server.received_at("GET", "/repos/*").is_empty(),
        "no lookup when disabled"
    );

    std::fs::write(
        &managed,
        r#"{"THOTH_ENV": "dev", "THOTH_UPDATE_PINNED_VERSION": "9.0.0", "THOTH_UPDATE_CHANNEL": "stable"}"#,
    )
    .unwrap();
    let report = json_of(&f.update(&["--check", "--json"]));
    assert_eq!(report["pinned_version"], "9.0.0");
    assert_eq!(report["latest_version"], "9.1.0");
    assert_eq!(report["target_version"], "9.0.0");
    f.assert_refused(&["--version", "9.1.0"], "THOTH_UPDATE_PINNED_VERSION");
    f.assert_refused(&["--channel", "beta"], "THOTH_UPDATE_CHANNEL");

    // doctor shows the update policy and the last attempt.
    let out = f
        .command("dev")
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let doctor: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&schema_validator("doctor.schema.json"), &doctor);
    let update = &doctor["update"];
    assert_eq!(update["enabled"], true, "{update}");
    assert_eq!(update["pinned_version"], "9.0.0");
    assert_eq!(update["channel"], "stable");
    assert_eq!(update["latest_seen"], "9.1.0");
    assert!(update["last_error"]
        .as_str()
        .is_some_and(|e| e.contains("THOTH_UPDATE_CHANNEL")));
    assert_eq!(
        out.status.code(),
        Some(0),
        "valid update settings are no problem"
    );

    // A managed pin that is not semver is a doctor problem (and refuses updates).
    std::fs::write(
        &managed,
        r#"{"THOTH_ENV": "dev", "THOTH_UPDATE_PINNED_VERSION": "latest"}"#,
    )
    .unwrap();
    let out = f
        .command("dev")
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doctor: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&schema_validator("doctor.schema.json"), &doctor);
    assert!(
        doctor["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["check"] == "update"
                && p["problem"]
                    .as_str()
                    .unwrap()
                    .contains("THOTH_UPDATE_PINNED_VERSION")),
        "{doctor}"
    );
    f.assert_refused(
        &["--check"],
        "THOTH_UPDATE_PINNED_VERSION \"latest\" is not a semantic version",
    );
}

#[test]
fn only_dev_may_add_a_release_key_and_a_build_without_keys_installs_nothing() {
    let f = Fixture::new();
    let dist = f.dist("good", "9.0.0", &small_asset("9.0.0"), None);
    f.publish(&[("v9.0.0", false, &dist)]);
    let run = |with_key: bool| {
        let mut cmd = f.command("staging");
        if with_key {
            cmd.env("THOTH_UPDATE_PUBKEY", &f.pubkey);
        }
        cmd.arg("update").output().unwrap()
    };
    let refused = run(true);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr)
        .contains("THOTH_UPDATE_PUBKEY is refused when THOTH_ENV is staging"));
    if thoth::update::keys::parse_list(thoth::update::keys::COMPILED_IN).is_empty() {
        let out = run(false);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no release public keys compiled in"),
            "{stderr}"
        );
    }
    assert!(f.installed() == f.original);
    assert!(f.server.received_at("GET", "/download/*").is_empty());
}

/// Run `thoth update ARGS` on a pseudo-terminal (util-linux `script`), returning what the terminal showed.
#[cfg(unix)]
fn on_terminal(f: &Fixture, args: &str) -> Option<String> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let env = f.command("dev");
    let mut cmd = Command::new(script);
    cmd.env_clear();
    for (name, value) in env.get_envs() {
        if let Some(value) = value {
            cmd.env(name, value);
        }
    }
    let line = format!("'{}' update {args}", f.exe.display());
    let out = cmd
        .env("TERM", "xterm")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(unix)]
#[test]
fn a_progress_bar_only_for_a_person_at_a_terminal() {
    let bar = format!("{} [", asset_name());
    // Each run installs the small test release, so each gets its own fixture.
    let fixture = |managed: bool| {
        let mut f = Fixture::new();
        let dist = f.dist("good", "9.0.0", &small_asset("9.0.0"), None);
        f.publish(&[("v9.0.0", false, &dist)]);
        if managed {
            let path = f.home.path().join("managed.json");
            std::fs::write(
                &path,
                r#"{"THOTH_ENV": "dev", "THOTH_UPDATE_CHANNEL": "stable"}"#,
            )
            .unwrap();
            f.env.push((
                "THOTH_MANAGED_SETTINGS_FILE".into(),
                path.to_str().unwrap().into(),
            ));
        }
        f
    };
    let f = fixture(false);
    let Some(shown) = on_terminal(&f, "") else {
        return; // no `script` on this machine: nothing to drive a terminal with
    };
    assert!(shown.contains("thoth updated"), "{shown}");
    assert!(shown.contains(&bar), "a bar at a terminal: {shown}");
    let f = fixture(false);
    let shown = on_terminal(&f, "--json").unwrap_or_default();
    assert!(shown.contains("\"updated\""), "{shown}");
    assert!(!shown.contains(&bar), "no bar with --json: {shown}");
    let f = fixture(true);
    let shown = on_terminal(&f, "").unwrap_or_default();
    assert!(shown.contains("thoth updated"), "{shown}");
    assert!(!shown.contains(&bar), "no bar under MDM: {shown}");
}

// ---- a release server that stalls --------------------------------------------------------------------------

/// How the hand-written server misbehaves.
#[derive(Clone, Copy)]
enum Stall {
    /// Accept the release lookup and never answer.
    Lookup,
    /// Answer the lookup; every download sends its headers and a few body bytes, then nothing.
    MidBody,
}

/// A loopback HTTP server (plain TCP, so it can stop mid-body) that holds each stalled connection open until
/// the client gives up: it blocks reading the socket, which ends when thoth closes it.
fn stalling_server(stall: Stall) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let base = url.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let base = base.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match conn.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let hold = |mut conn: std::net::TcpStream| {
                    let mut sink = [0u8; 64];
                    while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
                };
                match (stall, path.starts_with("/repos/")) {
                    (Stall::Lookup, true) => hold(conn),
                    (Stall::MidBody, true) => {
                        let names = [
                            asset_name().to_owned(),
                            format!("{}.minisig", asset_name()),
                            "checksums.sha256".to_owned(),
                        ];
                        let assets: Vec<Value> = names
                            .iter()
                            .map(|n| json!({"name": n, "size": 1000, "browser_download_url": format!("{base}/download/v9.0.0/{n}")}))
                            .collect();
                        let body = json!([{"tag_name": "v9.0.0", "prerelease": false, "draft": false, "assets": assets}]).to_string();
                        let _ = write!(conn, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                        hold(conn);
                    }
                    (_, false) => {
                        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: 1000\r\n\r\n0123456789");
                        let _ = conn.flush();
                        hold(conn);
                    }
                }
            });
        }
    });
    url
}

#[test]
fn a_release_server_that_stalls_ends_with_a_clear_error_in_seconds() {
    for (stall, label) in [(Stall::Lookup, "lookup"), (Stall::MidBody, "download")] {
        let mut f = Fixture::new();
        f.env
            .push(("THOTH_UPDATE_URL".into(), stalling_server(stall)));
        // The total bound is far away: only the stall bound can end this.
        f.env
            .push(("THOTH_UPDATE_TIMEOUT_SECONDS".into(), "120".into()));
        f.env
            .push(("THOTH_UPDATE_STALL_SECONDS".into(), "2".into()));
        let started = std::time::Instant::now();
        let stderr = f.assert_refused(&[], "THOTH_UPDATE_STALL_SECONDS");
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(20),
            "{label}: took {took:?}"
        );
        assert!(stderr.contains("sent nothing for 2 s"), "{label}: {stderr}");
    }
}

#[test]
fn the_default_stall_bound_ends_a_hung_update_within_a_minute() {
    let stall = thoth::settings::keys::get("THOTH_UPDATE_STALL_SECONDS").unwrap();
    let seconds: u64 = stall.default.unwrap().parse().unwrap();
    assert!((1..60).contains(&seconds), "{seconds}");
    assert_eq!(seconds, thoth::update::config::DEFAULT_STALL_SECONDS);
}
