//! Linux: PR_SET_PDEATHSIG in the child between fork and exec.

use std::io;

pub struct Guard;

pub fn prepare(cmd: &mut tokio::process::Command) {
    // SAFETY: getpid is async-signal-safe and has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs in the forked child before exec and only makes async-signal-safe system calls
    // (prctl, getppid, raise); it allocates nothing and takes no locks.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // thoth died between fork and prctl: the signal will never come, so act on it now.
            if libc::getppid() != parent {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        });
    }
}

pub fn attach(_child: &tokio::process::Child) -> io::Result<Guard> {
    Ok(Guard)
}
