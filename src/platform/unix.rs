//! Unix OS calls (Linux and macOS): euid, non-blocking stdio on pipes and sockets, signals.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::pin::Pin;
use std::process::ExitStatus;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::signal::unix::{signal, SignalKind};

use super::users::TargetUser;
use super::{Reader, Signal, Writer};

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub fn uid() -> Option<u32> {
    // SAFETY: as above.
    Some(unsafe { libc::geteuid() })
}

/// glibc raises its mmap threshold after a large free, so buffers of later large messages come from the heap
/// and stay resident after the message is gone. A fixed threshold keeps them mmapped: grown in place by mremap
/// and returned to the OS when freed.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

pub fn user_name() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    passwd(Lookup::Uid(unsafe { libc::geteuid() })).map(|user| user.name)
}

pub fn ids() -> (Option<u32>, Option<u32>) {
    // SAFETY: geteuid / getegid have no preconditions and cannot fail.
    unsafe { (Some(libc::geteuid()), Some(libc::getegid())) }
}

pub fn lookup_user(name: &str) -> Option<TargetUser> {
    passwd(Lookup::Name(std::ffi::CString::new(name).ok()?))
}

#[cfg(target_os = "macos")]
pub fn console_user() -> Option<TargetUser> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/dev/console").ok()?.uid();
    passwd(Lookup::Uid(super::users::console_owner(uid)?))
}

#[cfg(not(target_os = "macos"))]
pub fn console_user() -> Option<TargetUser> {
    use super::users::{pick_graphical_uid, RuntimeDir};
    if let Some(name) = std::env::var("SUDO_USER")
        .ok()
        .filter(|n| !n.is_empty() && n != "root")
    {
        return lookup_user(&name);
    }
    let dirs: Vec<RuntimeDir> = std::fs::read_dir("/run/user")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let uid = entry.file_name().to_str()?.parse().ok()?;
            let path = entry.path();
            let has_display = ["wayland-0", ".X11-unix", "X11-display"]
                .iter()
                .any(|name| path.join(name).exists());
            Some(RuntimeDir { uid, has_display })
        })
        .collect();
    passwd(Lookup::Uid(pick_graphical_uid(&dirs)?))
}

enum Lookup {
    Uid(u32),
    Name(std::ffi::CString),
}

/// One user database entry (getpwuid_r / getpwnam_r).
fn passwd(lookup: Lookup) -> Option<TargetUser> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut pwd = std::mem::MaybeUninit::<libc::passwd>::uninit();
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: both calls write into `pwd` and `buf` (sized as given) and set `result` on success.
    let rc = unsafe {
        match &lookup {
            Lookup::Uid(uid) => libc::getpwuid_r(
                *uid,
                pwd.as_mut_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            ),
            Lookup::Name(name) => libc::getpwnam_r(
                name.as_ptr(),
                pwd.as_mut_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            ),
        }
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success the entry's strings point at NUL-terminated text inside `buf`.
    let (name, dir, uid, gid) = unsafe {
        let entry = &*result;
        (
            std::ffi::CStr::from_ptr(entry.pw_name),
            std::ffi::CStr::from_ptr(entry.pw_dir),
            entry.pw_uid,
            entry.pw_gid,
        )
    };
    use std::os::unix::ffi::OsStrExt;
    Some(TargetUser {
        name: name.to_string_lossy().into_owned(),
        uid: Some(uid),
        gid: Some(gid),
        home: std::path::PathBuf::from(std::ffi::OsStr::from_bytes(dir.to_bytes())),
    })
}

pub fn copy_owner_and_mode(file: &File, like: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if is_root() {
        std::os::unix::fs::fchown(file, Some(like.uid()), Some(like.gid()))?;
    }
    // After chown: changing the owner clears set-id bits.
    file.set_permissions(std::fs::Permissions::from_mode(like.mode() & 0o7777))
}

pub fn give_to(file: &File, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if is_root() {
        std::os::unix::fs::fchown(file, uid, gid)?;
    }
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

pub fn give_privately(file: &File, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if is_root() {
        std::os::unix::fs::fchown(file, uid, gid)?;
    }
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

pub fn owner_of(meta: &std::fs::Metadata) -> (Option<u32>, Option<u32>) {
    use std::os::unix::fs::MetadataExt;
    (Some(meta.uid()), Some(meta.gid()))
}

pub fn sync_dir(dir: &std::path::Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub fn make_private(path: &std::path::Path) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)?;
    let wanted = if meta.is_dir() { 0o700 } else { 0o600 };
    if meta.permissions().mode() & 0o777 == wanted {
        return Ok(false);
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(wanted))?;
    Ok(true)
}

pub fn client_stdio() -> (Reader, Writer) {
    let reader: Reader = match NonBlocking::open(libc::STDIN_FILENO, Interest::READABLE) {
        Some(fd) => Box::new(fd),
        None => Box::new(tokio::io::stdin()),
    };
    let writer: Writer = match NonBlocking::open(libc::STDOUT_FILENO, Interest::WRITABLE) {
        Some(fd) => Box::new(fd),
        None => Box::new(tokio::io::stdout()),
    };
    (reader, writer)
}

/// A dup of a pipe or socket fd in non-blocking mode, driven by the event loop. The original flags are put
/// back on drop (O_NONBLOCK belongs to the open file, which other processes may share).
struct NonBlocking {
    fd: AsyncFd<File>,
    original_flags: libc::c_int,
}

impl NonBlocking {
    fn open(fd: RawFd, interest: Interest) -> Option<NonBlocking> {
        if !is_pipe_or_socket(fd) || same_file(fd, libc::STDERR_FILENO) {
            // Not a pipe (a tty or a file), or shared with stderr, which the server inherits: making it
            // non-blocking would change it for the server too. Use the blocking path.
            return None;
        }
        // SAFETY: dup on an open fd; the result is owned by the File below.
        let dup = unsafe { libc::dup(fd) };
        if dup < 0 {
            return None;
        }
        // SAFETY: `dup` is a fresh, owned descriptor.
        let file = unsafe { File::from_raw_fd(dup) };
        // SAFETY: fcntl on a valid fd.
        let original_flags = unsafe { libc::fcntl(dup, libc::F_GETFL) };
        if original_flags < 0
            || unsafe { libc::fcntl(dup, libc::F_SETFL, original_flags | libc::O_NONBLOCK) } < 0
        {
            return None;
        }
        // SAFETY: the File owns `dup` and keeps it open, unchanged, for as long as the AsyncFd holds it.
        match unsafe { AsyncFd::register_with_interest(file, interest) } {
            Ok(fd) => Some(NonBlocking { fd, original_flags }),
            Err(err) => {
                // SAFETY: the File (and so `dup`) is still open inside the error.
                unsafe {
                    libc::fcntl(
                        err.into_parts().0.as_raw_fd(),
                        libc::F_SETFL,
                        original_flags,
                    )
                };
                None
            }
        }
    }
}

impl Drop for NonBlocking {
    fn drop(&mut self) {
        // SAFETY: the fd is still open (AsyncFd owns it until after this).
        unsafe {
            libc::fcntl(
                self.fd.get_ref().as_raw_fd(),
                libc::F_SETFL,
                self.original_flags,
            )
        };
    }
}

fn stat(fd: RawFd) -> Option<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a stat struct on success.
    (unsafe { libc::fstat(fd, st.as_mut_ptr()) } == 0).then(|| unsafe { st.assume_init() })
}

fn is_pipe_or_socket(fd: RawFd) -> bool {
    stat(fd).is_some_and(|st| matches!(st.st_mode & libc::S_IFMT, libc::S_IFIFO | libc::S_IFSOCK))
}

fn same_file(a: RawFd, b: RawFd) -> bool {
    match (stat(a), stat(b)) {
        (Some(x), Some(y)) => x.st_dev == y.st_dev && x.st_ino == y.st_ino,
        _ => false,
    }
}

impl AsyncRead for NonBlocking {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            let wanted = unfilled.len();
            match guard.try_io(|inner| inner.get_ref().read(unfilled)) {
                Ok(Ok(n)) => {
                    // A short read drained the pipe: skip the read that would only say EAGAIN (as tokio's
                    // own sockets do).
                    if n > 0 && n < wanted {
                        guard.clear_ready();
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(err)) => return Poll::Ready(Err(err)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for NonBlocking {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|inner| inner.get_ref().write(buf)) {
                Ok(Ok(n)) => {
                    if n < buf.len() {
                        guard.clear_ready();
                    }
                    return Poll::Ready(Ok(n));
                }
                Ok(Err(err)) => return Poll::Ready(Err(err)),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

pub struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn new() -> io::Result<Signals> {
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    pub async fn recv(&mut self) -> Signal {
        tokio::select! {
            Some(()) = self.terminate.recv() => Signal::Terminate,
            Some(()) = self.interrupt.recv() => Signal::Interrupt,
            // Both streams ended (the runtime is shutting down): never resolve.
            else => std::future::pending().await,
        }
    }
}

pub fn forward(child: &mut tokio::process::Child, signal: Signal) {
    let Some(pid) = child.id() else { return };
    let sig = match signal {
        Signal::Terminate => libc::SIGTERM,
        Signal::Interrupt => libc::SIGINT,
    };
    // SAFETY: kill with a pid we spawned and have not reaped (child.id() is None once reaped).
    unsafe { libc::kill(pid as libc::pid_t, sig) };
}

pub fn signal_exit_code(status: ExitStatus) -> u8 {
    status.signal().map(|s| (128 + s) as u8).unwrap_or(1)
}
