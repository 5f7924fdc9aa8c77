//! The server must not outlive thoth, however thoth ends (SIGKILL included, where no code of thoth's runs):
//! Linux has the child ask for a parent-death signal before exec; macOS starts a tiny watcher process that
//! kills the server when thoth's pid exits (kqueue NOTE_EXIT); Windows puts the server in a job object that
//! kills what it holds when its last handle (thoth's) closes. Grandchildren: the Windows job holds them too;
//! on Unix they see their stdin close when thoth and the server are gone.

#[cfg(target_os = "linux")]
#[path = "lifeline/linux.rs"]
mod os;
#[cfg(target_os = "macos")]
#[path = "lifeline/macos.rs"]
mod os;
#[cfg(windows)]
#[path = "lifeline/windows.rs"]
mod os;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod os {
    pub struct Guard;
    pub fn prepare(_cmd: &mut tokio::process::Command) {}
    pub fn attach(_child: &tokio::process::Child) -> std::io::Result<Guard> {
        Ok(Guard)
    }
}

/// Keeps the tie between thoth and its server (on Windows, the job handle): hold it as long as the server.
pub struct Lifeline {
    _guard: os::Guard,
}

/// Before spawning: arrange for the child to die with this process (Linux: in the child, before exec). Call
/// it on a thread that lives as long as thoth: Linux sends the signal when the spawning *thread* exits
/// (`thoth run` spawns from the main thread, which runs the session).
pub fn prepare(cmd: &mut tokio::process::Command) {
    os::prepare(cmd)
}

/// After spawning: the rest of the tie (macOS: the watcher; Windows: the job). An error is logged by the caller;
/// the session goes on (the server still gets EOF and the shutdown sequence when thoth ends normally).
pub fn attach(child: &tokio::process::Child) -> std::io::Result<Lifeline> {
    os::attach(child).map(|guard| Lifeline { _guard: guard })
}
