//! Release assets may be archives of the binary (`thoth-linux-x86_64.tar.gz`, `thoth-windows-x86_64.exe.zip`).
//! The archive is what is signed and checksummed; only after it is verified is the one `thoth` / `thoth.exe`
//! entry taken out, size-capped.

use std::io::Read;

use super::Error;

pub const TAR_GZ: &str = ".tar.gz";
pub const ZIP: &str = ".zip";
/// Archive suffixes, in the order an asset is looked for after the bare binary.
pub const SUFFIXES: &[&str] = &[TAR_GZ, ZIP];

/// The binary inside a verified asset: the asset itself, or what its archive holds.
pub fn binary(bytes: Vec<u8>, asset: &str, limit: u64) -> Result<Vec<u8>, Error> {
    if asset.ends_with(TAR_GZ) {
        binary_from_tar_gz(&bytes, asset, limit)
    } else if asset.ends_with(ZIP) {
        binary_from_zip(&bytes, asset, limit)
    } else {
        Ok(bytes)
    }
}

fn is_binary_name(path: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or_default();
    matches!(name, "thoth" | "thoth.exe")
}

/// The binary inside a verified `.zip`: the one file named `thoth` or `thoth.exe`, at any depth.
pub fn binary_from_zip(archive: &[u8], asset: &str, limit: u64) -> Result<Vec<u8>, Error> {
    let bad = |reason: String| Error::Archive {
        asset: asset.into(),
        reason,
    };
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(archive)).map_err(|e| bad(e.to_string()))?;
    let mut found = None;
    for index in 0..zip.len() {
        let file = zip.by_index(index).map_err(|e| bad(e.to_string()))?;
        let name = file.name().map_err(|e| bad(e.to_string()))?.into_owned();
        if !file.is_file() || !is_binary_name(&name) {
            continue;
        }
        take_binary(&mut found, file, limit).map_err(bad)?;
    }
    found.ok_or_else(|| bad("it holds no file named thoth or thoth.exe".into()))
}

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
        take_binary(&mut found, entry, limit).map_err(bad)?;
    }
    found.ok_or_else(|| bad("it holds no file named thoth or thoth.exe".into()))
}

/// Read the one binary entry of an archive (at most `limit` bytes); a second one is refused.
fn take_binary(found: &mut Option<Vec<u8>>, entry: impl Read, limit: u64) -> Result<(), String> {
    if found.is_some() {
        return Err("it holds more than one thoth binary".into());
    }
    let mut bytes = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!("its binary is larger than {limit} bytes"));
    }
    *found = Some(bytes);
    Ok(())
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

    fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (path, bytes) in files {
            writer
                .start_file(*path, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn zips_work_the_same_way() {
        let archive = zip(&[("README.md", b"docs"), ("thoth-1.2.3/thoth.exe", b"binary")]);
        assert_eq!(binary(archive, "a.zip", 100).unwrap(), b"binary");
        let two = zip(&[("a/thoth.exe", b"1"), ("b/thoth", b"2")]);
        assert!(binary_from_zip(&two, "a", 100).is_err());
        let big = zip(&[("thoth.exe", &[0u8; 200])]);
        assert!(binary_from_zip(&big, "a", 100).is_err());
        assert!(binary_from_zip(b"not a zip", "a", 100).is_err());
        assert_eq!(
            binary(b"raw".to_vec(), "thoth-linux-x86_64", 100).unwrap(),
            b"raw"
        );
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
