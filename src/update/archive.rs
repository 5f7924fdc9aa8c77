//! Release assets may be `.tar.gz` archives of the binary (`thoth-linux-x86_64.tar.gz`). The archive is what
//! is signed and checksummed; only after it is verified is the one `thoth` / `thoth.exe` entry taken out,
//! size-capped. Zip archives are not supported (publish Windows as the bare `.exe`).

use std::io::Read;

use super::Error;

pub const TAR_GZ: &str = ".tar.gz";

/// The binary inside a verified `.tar.gz`: the one regular file named `thoth` or `thoth.exe`, at any depth.
pub fn binary_from_tar_gz(archive: &[u8], asset: &str, limit: u64) -> Result<Vec<u8>, Error> {
    let bad = |reason: String| Error::Archive {
        asset: asset.into(),
        reason,
    };
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let entries = tar.entries().map_err(|e| bad(e.to_string()))?;
    let mut found = None;
    for entry in entries {
        let entry = entry.map_err(|e| bad(e.to_string()))?;
        let path = entry.path().map_err(|e| bad(e.to_string()))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !entry.header().entry_type().is_file() || !matches!(name, "thoth" | "thoth.exe") {
            continue;
        }
        if found.is_some() {
            return Err(bad("it holds more than one thoth binary".into()));
        }
        let mut bytes = Vec::new();
        entry
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(e.to_string()))?;
        if bytes.len() as u64 > limit {
            return Err(bad(format!("its binary is larger than {limit} bytes")));
        }
        found = Some(bytes);
    }
    found.ok_or_else(|| bad("it holds no file named thoth or thoth.exe".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (path, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o755);
            header.set_cksum();
            builder.append_data(&mut header, path, *bytes).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn the_binary_is_taken_out_of_the_archive() {
        let archive = tar_gz(&[("README.md", b"docs"), ("thoth-1.2.3/thoth", b"binary")]);
        assert_eq!(binary_from_tar_gz(&archive, "a", 100).unwrap(), b"binary");
    }

    #[test]
    fn odd_archives_are_refused() {
        let none = tar_gz(&[("README.md", b"docs")]);
        assert!(binary_from_tar_gz(&none, "a", 100).is_err());
        let two = tar_gz(&[("a/thoth", b"1"), ("b/thoth", b"2")]);
        assert!(binary_from_tar_gz(&two, "a", 100).is_err());
        let big = tar_gz(&[("thoth", &[0u8; 200])]);
        assert!(binary_from_tar_gz(&big, "a", 100).is_err());
        assert!(binary_from_tar_gz(b"not gzip", "a", 100).is_err());
    }
}
