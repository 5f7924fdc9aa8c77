//! The platform-neutral face of OS calls: who we run as, the client's stdio as async handles, signals, and
//! ending a child. `unix.rs` and `windows.rs` hold only the OS calls; no `#[cfg]` on OS outside this folder
//! (STYLE.md §9).

pub mod binary;
pub mod client_policy_paths;
pub mod environ;
pub mod file_trust;
pub mod lifeline;
pub mod managed_paths;
pub mod opener;
pub mod paths;
#[cfg(windows)]
pub mod registry;
pub mod registry_value;
pub mod users;

use std::process::ExitStatus;

use tokio::io::{AsyncRead, AsyncWrite};

#[cfg(unix)]
#[path = "unix.rs"]
mod os;
#[cfg(windows)]
#[path = "windows.rs"]
mod os;

pub type Reader = Box<dyn AsyncRead + Unpin + Send>;
pub type Writer = Box<dyn AsyncWrite + Unpin + Send>;

/// Running as root (uid 0) on Unix, or with an elevated token on Windows.
pub fn is_root() -> bool {
    os::is_root()
}

/// The current user's numeric id where the OS has one.
pub fn uid() -> Option<u32> {
    os::uid()
}

/// The name of the user thoth runs as, from the OS (not from $USER, which anyone can set).
pub fn user_name() -> Option<String> {
    os::user_name()
}

/// Restrict a file (0600) or folder (0700) to its owner. Returns whether the mode had to change. No-op where
/// permissions are not mode bits (Windows: the profile folder's ACL already is the user's).
pub fn make_private(path: &std::path::Path) -> std::io::Result<bool> {
    os::make_private(path)
}

/// Give a new file the owner, group and mode of the file it replaces (owner and group only when running as
/// root, the only case where they can differ). No-op on Windows, where the folder's ACL applies.
pub fn copy_owner_and_mode(file: &std::fs::File, like: &std::fs::Metadata) -> std::io::Result<()> {
    os::copy_owner_and_mode(file, like)
}

/// Give a new file to a user (running as root for them), readable by all as a config is (0644).
pub fn give_to(file: &std::fs::File, uid: Option<u32>, gid: Option<u32>) -> std::io::Result<()> {
    os::give_to(file, uid, gid)
}

/// Give a new file to a user (running as root for them), readable by its owner only (0600): a config that
/// holds a secret. No-op on Windows, where the folder's ACL applies.
pub fn give_privately(
    file: &std::fs::File,
    uid: Option<u32>,
    gid: Option<u32>,
) -> std::io::Result<()> {
    os::give_privately(file, uid, gid)
}

/// The owner and group of a file (none on Windows).
pub fn owner_of(meta: &std::fs::Metadata) -> (Option<u32>, Option<u32>) {
    os::owner_of(meta)
}

/// Flush a folder's entries (a rename) to disk. No-op where folders cannot be opened (Windows).
pub fn sync_dir(dir: &std::path::Path) -> std::io::Result<()> {
    os::sync_dir(dir)
}

/// Keep large message buffers from staying resident after the message is gone (where the allocator needs it).
pub fn tune_allocator() {
    os::tune_allocator()
}

/// thoth's own stdin and stdout as async handles. Pipes and sockets (what MCP clients give) are driven by the
/// event loop directly; anything else (a file, a terminal) goes through tokio's blocking stdio.
pub fn client_stdio() -> (Reader, Writer) {
    os::client_stdio()
}

/// Signals that end thoth (SIGTERM / SIGINT; Ctrl-C / Ctrl-Break on Windows).
pub use os::Signals;

/// A signal thoth received and passes on to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Terminate,
    Interrupt,
}

/// Pass a signal on to the child; on Windows, where there are none to pass, end it.
pub fn forward(child: &mut tokio::process::Child, signal: Signal) {
    os::forward(child, signal)
}

/// Ask the child to stop (SIGTERM; on Windows there is no gentler way than ending it).
pub fn terminate(child: &mut tokio::process::Child) {
    os::forward(child, Signal::Terminate)
}

/// The exit code thoth passes on for the child's status: its own code, or 128 + the signal that ended it.
pub fn exit_code(status: ExitStatus) -> u8 {
    match status.code() {
        Some(code) => (code & 0xff) as u8,
        None => os::signal_exit_code(status),
    }
}
