//! Was this binary installed by a package (macOS pkg receipt, the Windows MSI, a system path under /usr the
//! user cannot write)? Then `thoth update` must not half-replace it: the MDM channel owns it. The facts come
//! raw from `platform::binary`; judging them is here, platform-neutral and tested on every OS.

use std::path::{Path, PathBuf};

use crate::platform::binary::PACKAGE_ID_PREFIX;
use crate::platform::managed_paths::{RegistryValue, REG_EXPAND_SZ, REG_SZ};

/// What is known about how the running binary was installed.
#[derive(Debug, Default)]
pub struct InstallFacts {
    /// macOS receipts of thoth packages: (receipt path, plist bytes).
    pub receipts: Vec<(PathBuf, Vec<u8>)>,
    /// The MSI's registry marker values.
    pub installer_values: Vec<RegistryValue>,
    /// Whether the user running `thoth update` may create files in the binary's folder.
    pub folder_writable: bool,
}

impl InstallFacts {
    /// The facts of this machine for the binary at `exe`.
    pub fn gather(exe: &Path) -> InstallFacts {
        let folder = exe.parent().unwrap_or(Path::new("."));
        InstallFacts {
            receipts: crate::platform::binary::package_receipts(),
            installer_values: crate::platform::binary::installer_registry_values(),
            folder_writable: tempfile::NamedTempFile::new_in(folder).is_ok(),
        }
    }
}

/// Who installed `exe`, in words, when it was a package; None when thoth may replace it itself.
pub fn installed_by(exe: &Path, facts: &InstallFacts) -> Option<String> {
    for (path, bytes) in &facts.receipts {
        if let Some((id, prefix)) = receipt(bytes) {
            if id.starts_with(PACKAGE_ID_PREFIX) && exe.starts_with(Path::new("/").join(&prefix)) {
                return Some(format!(
                    "the macOS package {id} (receipt {})",
                    path.display()
                ));
            }
        }
    }
    if let Some(dir) = installer_dir(&facts.installer_values) {
        if is_inside_windows_path(exe, &dir) {
            return Some(format!(
                "the Windows installer (MSI) into {}",
                dir.display()
            ));
        }
    }
    if exe.starts_with("/usr") && !facts.folder_writable {
        return Some("a system package (it is under /usr, which you cannot write)".into());
    }
    None
}

/// Is `path` inside `dir`, compared as Windows compares paths (case-insensitive, `\\` or `/`)?
fn is_inside_windows_path(path: &Path, dir: &Path) -> bool {
    let norm = |p: &Path| p.to_string_lossy().replace('\\', "/").to_lowercase();
    let dir = norm(dir);
    let dir = dir.trim_end_matches('/');
    norm(path)
        .strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// `(PackageIdentifier, InstallPrefixPath)` of a pkg receipt plist (XML or binary).
pub fn receipt(bytes: &[u8]) -> Option<(String, String)> {
    let value = plist::Value::from_reader(std::io::Cursor::new(bytes)).ok()?;
    let dict = value.as_dictionary()?;
    let id = dict.get("PackageIdentifier")?.as_string()?.to_owned();
    let prefix = dict
        .get("InstallPrefixPath")
        .and_then(plist::Value::as_string)
        .unwrap_or("/")
        .trim_start_matches('/')
        .to_owned();
    Some((id, prefix))
}

/// The `InstallDir` value of the MSI's marker key.
pub fn installer_dir(values: &[RegistryValue]) -> Option<PathBuf> {
    let value = values.iter().find(|v| {
        v.name.eq_ignore_ascii_case("InstallDir") && matches!(v.kind, REG_SZ | REG_EXPAND_SZ)
    })?;
    let units: Vec<u16> = value
        .data
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0)
        .collect();
    let text = String::from_utf16(&units).ok()?;
    (!text.trim().is_empty()).then(|| PathBuf::from(text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt_plist(id: &str, prefix: &str) -> Vec<u8> {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>InstallDate</key><date>2026-01-02T03:04:05Z</date>
<key>InstallPrefixPath</key><string>{prefix}</string>
<key>PackageIdentifier</key><string>{id}</string>
<key>PackageVersion</key><string>1.2.3</string>
</dict></plist>"#
        )
        .into_bytes()
    }

    fn facts(writable: bool) -> InstallFacts {
        InstallFacts {
            folder_writable: writable,
            ..InstallFacts::default()
        }
    }

    #[test]
    fn a_pkg_receipt_covering_the_binary_means_the_package_owns_it() {
        let mut f = facts(true);
        f.receipts.push((
            "/var/db/receipts/com.atensecurity.thoth.pkg.plist".into(),
            receipt_plist("com.atensecurity.thoth.pkg", "usr/local/bin"),
        ));
        let how = installed_by(Path::new("/usr/local/bin/thoth"), &f).unwrap();
        assert!(how.contains("com.atensecurity.thoth.pkg"), "{how}");
        assert_eq!(installed_by(Path::new("/Users/a/bin/thoth"), &f), None);
        // Another vendor's package does not count.
        f.receipts[0].1 = receipt_plist("com.example.tool", "/");
        assert_eq!(installed_by(Path::new("/usr/local/bin/thoth"), &f), None);
        assert_eq!(receipt(b"not a plist"), None);
    }

    #[test]
    fn the_msi_marker_names_its_folder() {
        let mut data: Vec<u8> = r"C:\Program Files\Thoth"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        data.extend([0, 0]);
        let mut f = facts(true);
        f.installer_values.push(RegistryValue {
            name: "InstallDir".into(),
            kind: REG_SZ,
            data,
        });
        let how = installed_by(Path::new(r"C:\Program Files\Thoth\thoth.exe"), &f).unwrap();
        assert!(how.contains("MSI"), "{how}");
        assert_eq!(installed_by(Path::new(r"C:\Users\a\thoth.exe"), &f), None);
    }

    #[test]
    fn a_read_only_system_path_is_a_package() {
        assert!(installed_by(Path::new("/usr/bin/thoth"), &facts(false)).is_some());
        assert_eq!(
            installed_by(Path::new("/usr/bin/thoth"), &facts(true)),
            None
        );
        assert_eq!(
            installed_by(Path::new("/home/a/bin/thoth"), &facts(false)),
            None
        );
    }
}
