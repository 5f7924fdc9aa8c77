//! The macOS package and the Windows MSI, built on Linux by installers/build-pkg.sh and build-msi.sh from the
//! built binary for two versions (1.2.3 and 1.3.0, a different --binary each), with docker, podman, pkgbuild,
//! productbuild and hdiutil replaced by stubs that fail; then read with our own xar / cpio readers and the
//! real tools (bsdtar, cpio, lsbom, shellcheck, msiinfo, msiextract, osslsigncode). Issue 13.
#![cfg(unix)]
// Build times and package sizes are noted on stderr (shown with --nocapture).
#![allow(clippy::print_stderr)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::support::archives::{read_odc_gz, read_xar};
use crate::support::{repo_root, thoth_bin};

const VERSIONS: [&str; 2] = ["1.2.3", "1.3.0"];
pub const UPGRADE_CODE: &str = "{604E46F8-9990-4BD1-81ED-A53D29E06D91}";

/// Install the packaging tools once per test run (installers/ensure-tools.sh is idempotent).
pub fn ensure_tools() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let out = Command::new("sh")
            .arg(repo_root().join("installers/ensure-tools.sh"))
            .args([
                "wixl",
                "msibuild",
                "msiinfo",
                "msiextract",
                "bsdtar",
                "cpio",
                "shellcheck",
                "osslsigncode",
                "openssl",
                "mkbom",
                "lsbom",
            ])
            .output()
            .expect("run ensure-tools.sh");
        assert!(out.status.success(), "{}", text(&out.stderr));
    });
}

/// PATH with cargo's bin folder (mkbom, lsbom) and, first, stubs for the tools a Linux build must not use.
fn tool_path(stubs: &Path) -> String {
    let cargo_bin = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo"))
        .join("bin");
    format!(
        "{}:{}:{}",
        stubs.display(),
        std::env::var("PATH").unwrap_or_default(),
        cargo_bin.display()
    )
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// The binary the packages are built from: THOTH_PACKAGE_BINARY (.ci/run points it at the release build),
/// else the binary cargo built for this test run.
fn package_source() -> PathBuf {
    std::env::var_os("THOTH_PACKAGE_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(thoth_bin)
}

/// One build: the binary it was given and the folder holding both packages.
pub struct Build {
    pub version: &'static str,
    pub binary: PathBuf,
    pub out: PathBuf,
}

impl Build {
    pub fn pkg(&self) -> PathBuf {
        self.out.join("thoth-macos-universal.pkg")
    }
    pub fn msi(&self) -> PathBuf {
        self.out.join("thoth-windows-x86_64.msi")
    }
}

struct Builds {
    _dir: tempfile::TempDir,
    stubs: PathBuf,
    builds: Vec<Build>,
}

fn build_script(stubs: &Path, script: &str, args: &[&std::ffi::OsStr]) -> Output {
    Command::new("sh")
        .arg(repo_root().join("installers").join(script))
        .args(args)
        .current_dir(repo_root())
        .env("PATH", tool_path(stubs))
        .output()
        .expect("run build script")
}

fn builds() -> &'static Builds {
    static BUILDS: OnceLock<Builds> = OnceLock::new();
    BUILDS.get_or_init(|| {
        ensure_tools();
        let dir = tempfile::tempdir().unwrap();
        let stubs = dir.path().join("stubs");
        std::fs::create_dir(&stubs).unwrap();
        for tool in ["docker", "podman", "pkgbuild", "productbuild", "hdiutil"] {
            let p = stubs.join(tool);
            std::fs::write(
                &p,
                format!("#!/bin/sh\necho \"{tool} must not be used\" >&2\nexit 97\n"),
            )
            .unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut builds = Vec::new();
        for version in VERSIONS {
            // A different binary per version: the real one, then the real one with a marker appended.
            let binary = dir.path().join(format!("thoth-{version}"));
            let mut bytes = std::fs::read(package_source()).unwrap();
            if version != VERSIONS[0] {
                bytes.extend_from_slice(format!("\nthoth test build {version}\n").as_bytes());
            }
            std::fs::write(&binary, bytes).unwrap();
            std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o700)).unwrap();
            let out = dir.path().join(format!("out-{version}")).join("nested");
            for script in ["build-pkg.sh", "build-msi.sh"] {
                let started = std::time::Instant::now();
                let o = build_script(
                    &stubs,
                    script,
                    &[
                        "--binary".as_ref(),
                        binary.as_os_str(),
                        "--version".as_ref(),
                        version.as_ref(),
                        "--out".as_ref(),
                        out.as_os_str(),
                    ],
                );
                assert!(
                    o.status.success(),
                    "{script} {version}: {}",
                    text(&o.stderr)
                );
                eprintln!(
                    "{script} {version}: {:.1}s",
                    started.elapsed().as_secs_f64()
                );
            }
            builds.push(Build {
                version,
                binary,
                out,
            });
        }
        for b in &builds {
            for p in [b.pkg(), b.msi()] {
                eprintln!(
                    "{}: {} bytes",
                    p.display(),
                    std::fs::metadata(&p).unwrap().len()
                );
            }
        }
        Builds {
            _dir: dir,
            stubs,
            builds,
        }
    })
}

fn xml_attr(doc: &roxmltree::Document, tag: &str, attr: &str) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name(tag))
        .filter_map(|n| n.attribute(attr).map(str::to_owned))
        .collect()
}

#[test]
fn pkg_is_a_flat_package_whose_xar_checksums_hold() {
    for b in &builds().builds {
        let xar = read_xar(&std::fs::read(b.pkg()).unwrap());
        let mut files: Vec<&str> = xar
            .entries
            .iter()
            .filter(|e| e.kind == "file")
            .map(|e| e.path.as_str())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "Distribution",
                "thoth.pkg/Bom",
                "thoth.pkg/PackageInfo",
                "thoth.pkg/Payload",
                "thoth.pkg/Scripts"
            ]
        );
        let components: Vec<_> = xar
            .entries
            .iter()
            .filter(|e| e.kind == "directory")
            .map(|e| e.path.as_str())
            .collect();
        assert_eq!(components, ["thoth.pkg"], "exactly one component");
        assert!(xar
            .entries
            .iter()
            .all(|e| e.uid == Some(0) && e.gid == Some(0)));
        // bsdtar can list it too.
        let listed = run(Command::new("bsdtar").arg("-tf").arg(b.pkg()));
        let listed = text(&listed.stdout);
        for f in files {
            assert!(
                listed.lines().any(|l| l == f),
                "bsdtar does not list {f}: {listed}"
            );
        }
    }
}

#[test]
fn distribution_names_product_version_domains_os_and_architectures() {
    for b in &builds().builds {
        let xar = read_xar(&std::fs::read(b.pkg()).unwrap());
        let text = String::from_utf8(xar.file("Distribution").to_vec()).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "installer-gui-script");
        let product = doc
            .descendants()
            .find(|n| n.has_tag_name("product"))
            .unwrap();
        assert_eq!(product.attribute("id"), Some("com.atensecurity.thoth"));
        assert_eq!(product.attribute("version"), Some(b.version));
        assert_eq!(xml_attr(&doc, "domains", "enable_localSystem"), ["true"]);
        let min = xml_attr(&doc, "os-version", "min");
        assert_eq!(min.len(), 1);
        assert!(doc.descendants().any(|n| n.has_tag_name("os-version")
            && n.parent().unwrap().has_tag_name("allowed-os-versions")));
        assert_eq!(
            xml_attr(&doc, "options", "hostArchitectures"),
            ["x86_64,arm64"]
        );
        // The pkg-ref naming the component sits inside a choice that choices-outline lists.
        let listed = xml_attr(&doc, "line", "choice");
        let pkg_ref = doc
            .descendants()
            .find(|n| {
                n.has_tag_name("pkg-ref") && n.text().is_some_and(|t| t.trim() == "#thoth.pkg")
            })
            .expect("a pkg-ref to #thoth.pkg");
        assert_eq!(pkg_ref.attribute("id"), Some("com.atensecurity.thoth"));
        assert_eq!(pkg_ref.attribute("version"), Some(b.version));
        let choice = pkg_ref.parent().unwrap();
        assert!(choice.has_tag_name("choice"));
        assert!(listed
            .iter()
            .any(|c| Some(c.as_str()) == choice.attribute("id")));
    }
}

#[test]
fn package_info_declares_identifier_version_payload_and_postinstall() {
    for b in &builds().builds {
        let xar = read_xar(&std::fs::read(b.pkg()).unwrap());
        let text = String::from_utf8(xar.file("thoth.pkg/PackageInfo").to_vec()).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap();
        let info = doc.root_element();
        assert_eq!(info.tag_name().name(), "pkg-info");
        for (attr, want) in [
            ("identifier", "com.atensecurity.thoth"),
            ("version", b.version),
            ("install-location", "/"),
            ("auth", "root"),
        ] {
            assert_eq!(info.attribute(attr), Some(want), "{attr}");
        }
        let payload = doc
            .descendants()
            .find(|n| n.has_tag_name("payload"))
            .unwrap();
        let entries = read_odc_gz(xar.file("thoth.pkg/Payload"));
        assert_eq!(
            payload.attribute("numberOfFiles"),
            Some(entries.len().to_string().as_str())
        );
        let kb: u64 = payload.attribute("installKBytes").unwrap().parse().unwrap();
        let size = std::fs::metadata(&b.binary).unwrap().len();
        assert!(
            kb >= size / 1024,
            "installKBytes {kb} for a {size}-byte binary"
        );
        let post = doc
            .descendants()
            .find(|n| n.has_tag_name("postinstall"))
            .unwrap();
        assert_eq!(post.attribute("file"), Some("./postinstall"));
        assert!(post.parent().unwrap().has_tag_name("scripts"));
    }
}

#[test]
fn payload_is_a_root_owned_odc_cpio_holding_the_given_binary() {
    for b in &builds().builds {
        let xar = read_xar(&std::fs::read(b.pkg()).unwrap());
        let payload = xar.file("thoth.pkg/Payload");
        let entries = read_odc_gz(payload);
        let thoth = entries
            .iter()
            .find(|e| e.name.trim_start_matches("./") == "usr/local/bin/thoth")
            .expect("./usr/local/bin/thoth");
        assert_eq!(thoth.mode, 0o100755, "a regular file, 0755");
        assert_eq!(
            thoth.data,
            std::fs::read(&b.binary).unwrap(),
            "byte-identical"
        );
        for e in &entries {
            assert!(
                !e.name.starts_with('/') && !e.name.split('/').any(|c| c == ".."),
                "{}",
                e.name
            );
            assert_eq!((e.uid, e.gid), (0, 0), "{} owned 0:0", e.name);
            assert_eq!(
                e.mode & 0o7022,
                0,
                "{}: group/world writable or setuid",
                e.name
            );
            if e.mode & 0o170000 == 0o040000 {
                assert_eq!(e.mode & 0o7777, 0o755, "{}: directory mode", e.name);
            }
        }
        // GNU cpio reads it as odc as well.
        let mut child = Command::new("cpio")
            .args(["-it", "--quiet", "-H", "odc"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(payload), &mut raw).unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), &raw).unwrap();
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert!(text(&out.stdout)
            .lines()
            .any(|l| l.trim_start_matches("./") == "usr/local/bin/thoth"));
    }
}

#[test]
fn bom_lists_the_payload_with_the_binary_mode_owner_size_and_checksum() {
    for b in &builds().builds {
        let xar = read_xar(&std::fs::read(b.pkg()).unwrap());
        let bom = xar.file("thoth.pkg/Bom");
        assert!(bom.starts_with(b"BOMStore"));
        let dir = tempfile::tempdir().unwrap();
        let bom_path = dir.path().join("Bom");
        std::fs::write(&bom_path, bom).unwrap();
        let listed = run(Command::new("lsbom")
            .arg(&bom_path)
            .env("PATH", tool_path(&builds().stubs)));
        let listed = text(&listed.stdout);
        let norm = |p: &str| {
            p.trim_start_matches("./")
                .trim_start_matches('.')
                .to_owned()
        };
        let bom_paths: Vec<String> = listed
            .lines()
            .map(|l| norm(l.split('\t').next().unwrap()))
            .collect();
        let payload_paths: Vec<String> = read_odc_gz(xar.file("thoth.pkg/Payload"))
            .iter()
            .map(|e| norm(&e.name))
            .collect();
        assert_eq!(bom_paths, payload_paths);
        let cksum = run(Command::new("cksum").arg(&b.binary));
        let mut words = text(&cksum.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        words.truncate(2);
        let line = listed
            .lines()
            .find(|l| l.starts_with("./usr/local/bin/thoth\t"))
            .expect("thoth in the Bom");
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            fields[1..],
            ["100755", "0/0", &words[1], &words[0]],
            "{line}"
        );
    }
}

#[test]
fn scripts_hold_an_executable_shellcheck_clean_postinstall() {
    for b in &builds().builds {
        let xar = read_xar(&std::fs::read(b.pkg()).unwrap());
        let entries = read_odc_gz(xar.file("thoth.pkg/Scripts"));
        let post = entries
            .iter()
            .find(|e| e.name.trim_start_matches("./") == "postinstall")
            .expect("postinstall");
        assert_eq!(post.mode, 0o100755);
        assert!(post.data.starts_with(b"#!"));
        assert_eq!(
            post.data,
            std::fs::read(repo_root().join("pkg/scripts/postinstall")).unwrap()
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("postinstall");
        std::fs::write(&p, &post.data).unwrap();
        run(Command::new("shellcheck").arg("-x").arg(&p));
    }
}

/// The postinstall on another volume: the binary becomes root-owned 0755 whatever it was, a bin folder
/// others can write is named in a warning, and no user set-up is attempted.
#[test]
fn postinstall_makes_the_binary_root_owned_and_warns_about_a_writable_folder() {
    let target = tempfile::tempdir().unwrap();
    let bin = target.path().join("usr/local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let thoth = bin.join("thoth");
    std::fs::copy(thoth_bin(), &thoth).unwrap();
    std::fs::set_permissions(&thoth, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o777)).unwrap();
    let script = repo_root().join("pkg/scripts/postinstall");
    let out = run(Command::new("sh")
        .arg(&script)
        .arg("/tmp/x.pkg")
        .arg("/")
        .arg(target.path()));
    let meta = std::fs::metadata(&thoth).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o755);
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 0);
    // thothctl is a root-owned relative link to thoth.
    let ctl = bin.join("thothctl");
    assert_eq!(std::fs::read_link(&ctl).unwrap(), Path::new("thoth"));
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&std::fs::symlink_metadata(&ctl).unwrap()),
        0
    );
    let said = text(&out.stdout);
    assert!(
        said.contains("can be written by a user other than root"),
        "{said}"
    );
    assert!(said.contains("no user to set up"), "{said}");
    // A root-owned 0755 folder gives no warning.
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(Command::new("sh")
        .arg(&script)
        .arg("/tmp/x.pkg")
        .arg("/")
        .arg(target.path()));
    assert!(
        !text(&out.stdout).contains("warning"),
        "{}",
        text(&out.stdout)
    );
}

/// `msiinfo export` of one table: rows of column name -> value (the 3 header lines give the names).
pub fn msi_table(msi: &Path, table: &str) -> Vec<BTreeMap<String, String>> {
    let out = run(Command::new("msiinfo").arg("export").arg(msi).arg(table));
    let body = text(&out.stdout);
    let mut lines = body.lines();
    let names: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split('\t')
        .map(str::to_owned)
        .collect();
    lines.next();
    lines.next();
    lines
        .map(|l| {
            names
                .iter()
                .cloned()
                .zip(
                    l.split('\t')
                        .map(str::to_owned)
                        .chain(std::iter::repeat(String::new())),
                )
                .collect()
        })
        .collect()
}

fn properties(msi: &Path) -> BTreeMap<String, String> {
    msi_table(msi, "Property")
        .into_iter()
        .map(|r| (r["Property"].clone(), r["Value"].clone()))
        .collect()
}

fn is_guid(s: &str) -> bool {
    let s = s.trim_start_matches('{').trim_end_matches('}');
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[test]
fn msi_is_per_machine_x64_with_one_upgrade_code_and_a_product_code_per_version() {
    let mut product_codes = Vec::new();
    for b in &builds().builds {
        let suminfo = text(&run(Command::new("msiinfo").arg("suminfo").arg(b.msi())).stdout);
        assert!(
            suminfo.lines().any(|l| l.starts_with("Template: x64;")),
            "{suminfo}"
        );
        let p = properties(&b.msi());
        assert_eq!(p.get("ALLUSERS").map(String::as_str), Some("1"));
        assert!(!p.contains_key("MSIINSTALLPERUSER"));
        assert!(p["ProductName"].contains("Thoth"));
        assert!(p["Manufacturer"].contains("Aten"));
        assert_eq!(p["ProductVersion"], b.version);
        assert_eq!(p["UpgradeCode"], UPGRADE_CODE);
        assert!(is_guid(&p["ProductCode"]), "{}", p["ProductCode"]);
        product_codes.push(p["ProductCode"].clone());
    }
    assert_ne!(
        product_codes[0], product_codes[1],
        "a new ProductCode for each version"
    );
}

#[test]
fn msi_upgrades_older_versions_and_refuses_a_downgrade_with_a_message() {
    for b in &builds().builds {
        let p = properties(&b.msi());
        let secure: Vec<&str> = p["SecureCustomProperties"].split(';').collect();
        let rows = msi_table(&b.msi(), "Upgrade");
        let upgrade = rows
            .iter()
            .find(|r| r["UpgradeCode"] == UPGRADE_CODE && r["VersionMax"] == b.version)
            .expect("an Upgrade row covering older versions");
        let attrs: u32 = upgrade["Attributes"].parse().unwrap();
        assert_eq!(attrs & 2, 0, "not OnlyDetect");
        assert_eq!(
            attrs & 0x200,
            0,
            "VersionMax exclusive: the same version is not 'older'"
        );
        assert!(upgrade["VersionMin"].is_empty(), "every older version");
        assert!(secure.contains(&upgrade["ActionProperty"].as_str()));
        let newer = rows
            .iter()
            .find(|r| r["UpgradeCode"] == UPGRADE_CODE && r["VersionMin"] == b.version)
            .expect("an Upgrade row detecting newer versions");
        let newer_prop = newer["ActionProperty"].clone();
        assert!(secure.contains(&newer_prop.as_str()));
        let seq: BTreeMap<String, i64> = msi_table(&b.msi(), "InstallExecuteSequence")
            .into_iter()
            .map(|r| (r["Action"].clone(), r["Sequence"].parse().unwrap()))
            .collect();
        for action in [
            "FindRelatedProducts",
            "RemoveExistingProducts",
            "LaunchConditions",
            "WriteEnvironmentStrings",
            "RemoveEnvironmentStrings",
            "WriteRegistryValues",
        ] {
            assert!(seq.contains_key(action), "{action} sequenced");
        }
        assert!(seq["FindRelatedProducts"] < seq["LaunchConditions"]);
        let conditions = msi_table(&b.msi(), "LaunchCondition");
        let refuse = conditions
            .iter()
            .find(|r| r["Condition"] == format!("NOT {newer_prop}"))
            .expect("LaunchCondition NOT <newer detected>");
        assert!(
            refuse["Description"].contains("newer version"),
            "{refuse:?}"
        );
    }
}

#[test]
fn msi_installs_thoth_exe_in_program_files_64_with_path_and_the_installer_key() {
    for b in &builds().builds {
        let dirs: BTreeMap<String, (String, String)> = msi_table(&b.msi(), "Directory")
            .into_iter()
            .map(|r| {
                (
                    r["Directory"].clone(),
                    (r["Directory_Parent"].clone(), r["DefaultDir"].clone()),
                )
            })
            .collect();
        let (thoth_dir, _) = dirs
            .iter()
            .find(|(_, (parent, name))| parent == "ProgramFiles64Folder" && name.ends_with("Thoth"))
            .expect("ProgramFiles64Folder > Thoth");
        assert_eq!(dirs["ProgramFiles64Folder"].0, "TARGETDIR");
        let files = msi_table(&b.msi(), "File");
        let exe = files
            .iter()
            .find(|r| r["FileName"].ends_with("thoth.exe"))
            .expect("thoth.exe");
        let ctl = files
            .iter()
            .find(|r| r["FileName"].ends_with("thothctl.exe"))
            .expect("thothctl.exe, the same binary under its second name");
        assert_eq!(ctl["Component_"], exe["Component_"]);
        assert_eq!(ctl["FileSize"], exe["FileSize"]);
        let components = msi_table(&b.msi(), "Component");
        let comp = |id: &str| {
            components
                .iter()
                .find(|r| r["Component"] == id)
                .unwrap()
                .clone()
        };
        let exe_comp = comp(&exe["Component_"]);
        assert_eq!(&exe_comp["Directory_"], thoth_dir);
        let attrs: u32 = exe_comp["Attributes"].parse().unwrap();
        assert_ne!(attrs & 256, 0, "64-bit component");
        let features = msi_table(&b.msi(), "FeatureComponents");
        assert!(features
            .iter()
            .any(|r| r["Component_"] == exe["Component_"]));
        assert!(
            msi_table(&b.msi(), "Media")
                .iter()
                .any(|r| r["Cabinet"].starts_with('#')),
            "embedded cabinet"
        );

        let env = msi_table(&b.msi(), "Environment");
        let path = env
            .iter()
            .find(|r| r["Name"] == "=-*PATH")
            .expect("system PATH row");
        assert_eq!(path["Value"], format!("[~];[{thoth_dir}]"));
        assert!(features
            .iter()
            .any(|r| r["Component_"] == path["Component_"]));

        let reg = msi_table(&b.msi(), "Registry");
        let value = |name: &str| {
            reg.iter()
                .find(|r| {
                    r["Root"] == "2"
                        && r["Key"] == r"SOFTWARE\AtenSecurity\Thoth\Installer"
                        && r["Name"] == name
                })
                .unwrap_or_else(|| panic!("HKLM Installer value {name}: {reg:?}"))
                .clone()
        };
        assert_eq!(value("InstallDir")["Value"], format!("[{thoth_dir}]"));
        assert_eq!(value("Version")["Value"], "[ProductVersion]");
        let reg_attrs: u32 = comp(&value("InstallDir")["Component_"])["Attributes"]
            .parse()
            .unwrap();
        assert_ne!(reg_attrs & 256, 0, "the registry component is 64-bit");

        let dir = tempfile::tempdir().unwrap();
        run(Command::new("msiextract")
            .arg("-C")
            .arg(dir.path())
            .arg(b.msi()));
        let extracted = walk(dir.path())
            .into_iter()
            .find(|p| p.ends_with("thoth.exe"))
            .expect("extracted thoth.exe");
        assert_eq!(
            std::fs::read(extracted).unwrap(),
            std::fs::read(&b.binary).unwrap()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `--sign-cert/--sign-key` signs the MSI with Authenticode; osslsigncode verifies it against the throwaway
/// certificate, and the unsigned MSI does not verify.
#[test]
fn msi_signed_with_a_throwaway_certificate_verifies() {
    let b = &builds().builds[0];
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=Thoth CI test signer",
        ])
        .args(["-addext", "extendedKeyUsage=codeSigning", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    let out = dir.path().join("signed");
    let o = build_script(
        &builds().stubs,
        "build-msi.sh",
        &[
            "--binary".as_ref(),
            b.binary.as_os_str(),
            "--version".as_ref(),
            "1.2.3".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
            "--sign-cert".as_ref(),
            cert.as_os_str(),
            "--sign-key".as_ref(),
            key.as_os_str(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let signed = out.join("thoth-windows-x86_64.msi");
    let verify = |msi: &Path| {
        Command::new("osslsigncode")
            .args(["verify", "-CAfile"])
            .arg(&cert)
            .arg("-in")
            .arg(msi)
            .output()
            .unwrap()
    };
    let v = verify(&signed);
    assert!(
        v.status.success(),
        "{}\n{}",
        text(&v.stdout),
        text(&v.stderr)
    );
    assert!(
        text(&v.stdout).contains("Thoth CI test signer"),
        "{}",
        text(&v.stdout)
    );
    assert!(
        !verify(&b.msi()).status.success(),
        "an unsigned MSI must not verify"
    );
    // Still the same installer inside.
    assert_eq!(properties(&signed)["UpgradeCode"], UPGRADE_CODE);
}

#[test]
fn build_scripts_refuse_missing_or_bad_arguments() {
    let stubs = &builds().stubs;
    let dir = tempfile::tempdir().unwrap();
    for script in ["build-pkg.sh", "build-msi.sh"] {
        let bin = thoth_bin();
        let cases: [(Vec<&std::ffi::OsStr>, &str); 3] = [
            (
                vec![
                    "--version".as_ref(),
                    "1.2.3".as_ref(),
                    "--out".as_ref(),
                    dir.path().as_os_str(),
                ],
                "usage",
            ),
            (
                vec![
                    "--binary".as_ref(),
                    bin.as_os_str(),
                    "--version".as_ref(),
                    "1.2".as_ref(),
                    "--out".as_ref(),
                    dir.path().as_os_str(),
                ],
                "X.Y.Z",
            ),
            (
                vec![
                    "--binary".as_ref(),
                    "/nonexistent".as_ref(),
                    "--version".as_ref(),
                    "1.2.3".as_ref(),
                    "--out".as_ref(),
                    dir.path().as_os_str(),
                ],
                "/nonexistent",
            ),
        ];
        for (args, said) in cases {
            let o = build_script(stubs, script, &args);
            assert_eq!(o.status.code(), Some(2), "{script} {args:?}");
            assert!(
                text(&o.stderr).contains(said),
                "{script}: {}",
                text(&o.stderr)
            );
        }
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

/// checksums.sha256 covers every asset (sha256sum -c agrees); the SBOM is made when cargo-cyclonedx is
/// installed (release-assets.sh installs it on demand; CI skips that build, see installers/README.md).
#[test]
fn release_assets_checksum_every_asset() {
    let b = &builds().builds[1];
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(b.pkg(), dir.path().join("thoth-macos-universal.pkg")).unwrap();
    std::fs::copy(b.msi(), dir.path().join("thoth-windows-x86_64.msi")).unwrap();
    std::fs::copy(&b.binary, dir.path().join("thoth-linux-x86_64")).unwrap();
    let has_cyclonedx = Command::new("cargo")
        .args(["cyclonedx", "--version"])
        .env("PATH", tool_path(&builds().stubs))
        .output()
        .is_ok_and(|o| o.status.success());
    let mut cmd = Command::new("sh");
    cmd.arg(repo_root().join("installers/release-assets.sh"))
        .arg("--dir")
        .arg(dir.path())
        .env("PATH", tool_path(&builds().stubs));
    if !has_cyclonedx {
        eprintln!("cargo-cyclonedx is not installed: checking checksums only");
        cmd.arg("--no-sbom");
    }
    run(&mut cmd);
    let sums = std::fs::read_to_string(dir.path().join("checksums.sha256")).unwrap();
    let mut names: Vec<&str> = sums
        .lines()
        .map(|l| l.split_once("  ").unwrap().1)
        .collect();
    names.sort();
    let mut want = vec![
        "thoth-linux-x86_64",
        "thoth-macos-universal.pkg",
        "thoth-windows-x86_64.msi",
    ];
    if has_cyclonedx {
        want.push("thoth-sbom.cdx.json");
        want.sort();
        let sbom: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("thoth-sbom.cdx.json")).unwrap())
                .unwrap();
        assert_eq!(sbom["bomFormat"], "CycloneDX");
        let components: Vec<&str> = sbom["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        for dep in ["tokio", "rustls", "serde_json", "windows-sys"] {
            assert!(components.contains(&dep), "{dep} in the SBOM");
        }
        assert!(
            !components.contains(&"proptest"),
            "dev-dependencies are not in the binary"
        );
    }
    assert_eq!(names, want);
    run(Command::new("sha256sum")
        .arg("-c")
        .arg("checksums.sha256")
        .current_dir(dir.path()));
}
