//! The release helper for maintainers (`installers/release.sh` runs it): make a minisign key pair, and sign
//! release assets the way `thoth update` verifies them: `<asset>.minisig` whose trusted comment names the
//! version and asset (`thoth::update::verify::trusted_comment`), plus `checksums.sha256` over every asset.
//! The integration tests make their fixtures with this same program. Keys are minisign's own format, so
//! `minisign -G` keys work too.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "release",
    about = "Sign thoth release assets for `thoth update`"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a new key pair: DIR/release.key (secret, 0600) and DIR/release.pub (add its key line to
    /// installers/release-keys.pub). Encrypted with THOTH_RELEASE_KEY_PASSWORD, or asked for, unless
    /// --unencrypted (tests only).
    Keygen {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        #[arg(long)]
        unencrypted: bool,
    },
    /// Sign every asset (`thoth-*`) in DIR for VERSION and write DIR/checksums.sha256.
    Sign {
        /// The minisign secret key (password from THOTH_RELEASE_KEY_PASSWORD, or asked for).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The release version, as tagged (1.4.2 or v1.4.2).
        #[arg(long, value_name = "VERSION")]
        version: String,
        /// The folder holding the built assets (thoth-macos-universal, thoth-linux-x86_64, ...).
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Keygen { dir, unencrypted } => keygen(&dir, unencrypted),
        Command::Sign { key, version, dir } => sign(&key, &version, &dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("release: error: {err}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, String>;

fn password() -> Option<String> {
    std::env::var("THOTH_RELEASE_KEY_PASSWORD").ok()
}

fn keygen(dir: &Path, unencrypted: bool) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let pair = if unencrypted {
        minisign::KeyPair::generate_unencrypted_keypair()
    } else {
        minisign::KeyPair::generate_encrypted_keypair(password())
    }
    .map_err(|e| format!("cannot make a key pair: {e}"))?;
    let secret = pair
        .sk
        .to_box(Some("thoth release secret key"))
        .map_err(|e| e.to_string())?
        .into_string();
    let public = pair.pk.to_box().map_err(|e| e.to_string())?.into_string();
    write_private(&dir.join("release.key"), secret.as_bytes())?;
    write(&dir.join("release.pub"), public.as_bytes())?;
    println!("{}", pair.pk.to_base64());
    Ok(())
}

fn load_key(path: &Path) -> Result<minisign::SecretKey> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let boxed = minisign::SecretKeyBox::from_string(&text).map_err(|e| e.to_string())?;
    match minisign::SecretKey::from_unencrypted_box(boxed.clone()) {
        Ok(key) => Ok(key),
        Err(_) => minisign::SecretKey::from_box(boxed, password())
            .map_err(|e| format!("cannot open {}: {e}", path.display())),
    }
}

fn sign(key_path: &Path, version: &str, dir: &Path) -> Result<()> {
    let version = thoth::update::config::parse_version("--version", version)
        .map_err(|e| e.to_string())?
        .to_string();
    let key = load_key(key_path)?;
    let mut assets: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("thoth-") && !name.ends_with(".minisig"))
        .collect();
    assets.sort();
    if assets.is_empty() {
        return Err(format!("{} holds no thoth-* assets", dir.display()));
    }
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut checksums = String::new();
    for asset in &assets {
        let bytes = std::fs::read(dir.join(asset)).map_err(|e| format!("{asset}: {e}"))?;
        let comment = thoth::update::verify::trusted_comment(&version, asset, timestamp);
        let signature = minisign::sign(None, &key, bytes.as_slice(), Some(&comment), None)
            .map_err(|e| format!("cannot sign {asset}: {e}"))?;
        write(
            &dir.join(format!("{asset}.minisig")),
            signature.into_string().as_bytes(),
        )?;
        checksums += &format!("{}  {asset}\n", thoth::update::verify::sha256_hex(&bytes));
        println!("signed {asset} ({version})");
    }
    write(&dir.join("checksums.sha256"), checksums.as_bytes())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        format!(
            "{}: {e} (an existing key is never overwritten)",
            path.display()
        )
    })?;
    file.write_all(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))
}
