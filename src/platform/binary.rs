//! OS calls for replacing thoth's own binary (`update::install`): keep a copy of the installed file, and read the raw install facts (macOS package receipts,
//! the MSI's registry marker) that `update::package` judges. Parsing stays in `update::package`.

use std::io;
use std::path::{Path, PathBuf};

/// macOS keeps a receipt per installed flat package in these folders.
pub const MACOS_RECEIPT_DIRS: &[&str] = &["/var/db/receipts", "/Library/Receipts"];
/// Receipts of thoth's own packages start with this identifier.
pub const PACKAGE_ID_PREFIX: &str = "com.atensecurity.thoth";
/// The key the Windows installer (MSI) writes, with `InstallDir` naming where it put thoth.exe.
pub const WINDOWS_INSTALLER_SUBKEY: &str = r"SOFTWARE\AtenSecurity\Thoth\Installer";

/// Keep the installed binary at `dest` before it is replaced: a hard link where the OS allows one (the file
/// stays in place, so there is no moment without a binary), a copy otherwise; on Windows a running binary
/// cannot be overwritten but can be renamed, so it is moved.
pub fn keep_copy(exe: &Path, dest: &Path) -> io::Result<()> {
    os::keep_copy(exe, dest)
}

/// macOS receipt plists of thoth's packages, raw (path, bytes); empty elsewhere.
pub fn package_receipts() -> Vec<(PathBuf, Vec<u8>)> {
    #[cfg(target_os = "macos")]
    {
        let mut found = Vec::new();
        for dir in MACOS_RECEIPT_DIRS {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(PACKAGE_ID_PREFIX) && name.ends_with(".plist") {
                    if let Ok(bytes) = std::fs::read(entry.path()) {
                        found.push((entry.path(), bytes));
                    }
                }
            }
        }
        found
    }
    #[cfg(not(target_os = "macos"))]
    {
        Vec::new()
    }
}

/// The values of the MSI's registry marker (HKLM), raw; empty elsewhere or when absent.
pub fn installer_registry_values() -> Vec<super::managed_paths::RegistryValue> {
    #[cfg(windows)]
    {
        super::registry::read_values(
            super::registry::Hive::LocalMachine,
            WINDOWS_INSTALLER_SUBKEY,
        )
        .ok()
        .flatten()
        .unwrap_or_default()
    }
    #[cfg(not(windows))]
    {
        Vec::new()
    }
}

#[cfg(unix)]
mod os {
    use super::*;
    pub fn keep_copy(exe: &Path, dest: &Path) -> io::Result<()> {
        match std::fs::remove_file(dest) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
        if std::fs::hard_link(exe, dest).is_err() {
            std::fs::copy(exe, dest)?;
        }
        Ok(())
    }
}

#[cfg(windows)]
mod os {
    use super::*;

    pub fn keep_copy(exe: &Path, dest: &Path) -> io::Result<()> {
        std::fs::rename(exe, dest)
    }
}
