//! The house stays as built (issue 16): `.ci/import-map.py --check` fails when an import runs back up a floor
//! or a circle appears that is not listed (with its reason) in the script, and when a listed one is gone.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/import-map.py")
}

fn check(src: Option<&Path>) -> Output {
    let mut cmd = Command::new("python3");
    cmd.arg(script()).arg("--check");
    match src {
        Some(src) => cmd.env("IMPORT_MAP_SRC", src),
        None => cmd.env_remove("IMPORT_MAP_SRC"),
    };
    cmd.output().expect("python3 runs .ci/import-map.py")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn no_import_runs_back_up_and_no_circle_beyond_the_listed_debts() {
    let out = check(None);
    assert!(
        out.status.success(),
        "import map check failed:\n{}",
        text(&out)
    );
    assert!(text(&out).contains("ok"), "{}", text(&out));
}

/// A tree of files under a temp `src/`, each `(path, text)`.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, body) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    dir
}

#[test]
fn the_check_fails_on_an_arrow_up_and_on_a_circle() {
    // Clean: settings (floor 2) imports platform (floor 1).
    let clean = tree(&[
        ("lib.rs", "pub mod settings;\npub mod platform;\n"),
        ("settings/mod.rs", "use crate::platform::paths;\n"),
        ("platform/mod.rs", "pub mod paths;\n"),
        ("platform/paths.rs", "pub fn x() {}\n"),
    ]);
    let out = check(Some(clean.path()));
    assert!(out.status.success(), "{}", text(&out));

    // Each way of writing an import that runs back up is caught.
    for import in [
        "use crate::cli::GlobalArgs;",
        "use crate::{cli::GlobalArgs, platform};",
        "fn f(_: crate::cli::GlobalArgs) {}",
        "use crate::cli::{self, GlobalArgs as G};",
    ] {
        let up = tree(&[
            (
                "lib.rs",
                "pub mod settings;\npub mod cli;\npub mod platform;\n",
            ),
            ("settings/mod.rs", import),
            ("cli.rs", "pub struct GlobalArgs;\n"),
            ("platform/mod.rs", "pub fn x() {}\n"),
        ]);
        let out = check(Some(up.path()));
        assert!(!out.status.success(), "{import}: {}", text(&out));
        assert!(
            text(&out).contains("arrow runs back up: settings -> cli"),
            "{import}: {}",
            text(&out)
        );
    }

    // Two files of one room importing each other: a circle.
    let circle = tree(&[
        ("lib.rs", "pub mod audit;\n"),
        ("audit/mod.rs", "pub mod log;\npub mod store;\n"),
        (
            "audit/log.rs",
            "use super::store::FileStore;\npub struct Chain;\n",
        ),
        (
            "audit/store.rs",
            "use super::log::Chain;\npub struct FileStore;\n",
        ),
    ]);
    let out = check(Some(circle.path()));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("circle: audit/log.rs audit/store.rs"),
        "{}",
        text(&out)
    );
}
