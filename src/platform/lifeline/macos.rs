//! macOS: no parent-death signal, so a watcher process (forked from thoth, running nothing but system calls)
//! waits on kqueue for thoth's exit or the server's: thoth gone first means SIGKILL to the server.

use std::io;

pub struct Guard;

pub fn prepare(_cmd: &mut tokio::process::Command) {}

pub fn attach(child: &tokio::process::Child) -> io::Result<Guard> {
    let Some(server) = child.id() else {
        return Ok(Guard); // already exited and reaped
    };
    let server = server as libc::pid_t;
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: after fork the child runs only `watch`, which makes async-signal-safe system calls and never
    // returns (so nothing of the parent's state, locks or allocator included, is touched).
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => unsafe { watch(parent, server) },
        _ => Ok(Guard),
    }
}

/// The watcher: close every inherited descriptor (so pipes still see EOF), then wait for either exit.
unsafe fn watch(parent: libc::pid_t, server: libc::pid_t) -> ! {
    let mut limit: libc::rlimit = std::mem::zeroed();
    let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
        limit.rlim_cur.min(65536) as libc::c_int
    } else {
        1024
    };
    for fd in 0..max {
        libc::close(fd);
    }
    let kq = libc::kqueue();
    if kq < 0 {
        libc::_exit(0);
    }
    let mut registered = 0;
    for pid in [server, parent] {
        let change = libc::kevent {
            ident: pid as libc::uintptr_t,
            filter: libc::EVFILT_PROC,
            flags: libc::EV_ADD,
            fflags: libc::NOTE_EXIT,
            data: 0,
            udata: std::ptr::null_mut(),
        };
        if libc::kevent(kq, &change, 1, std::ptr::null_mut(), 0, std::ptr::null()) == 0 {
            registered += 1;
        } else if pid == server {
            libc::_exit(0); // the server is already gone
        }
    }
    // thoth died before (or while) the watch was set up.
    if registered < 2 || libc::getppid() != parent {
        libc::kill(server, libc::SIGKILL);
        libc::_exit(0);
    }
    loop {
        let mut events: [libc::kevent; 2] = std::mem::zeroed();
        let n = libc::kevent(
            kq,
            std::ptr::null(),
            0,
            events.as_mut_ptr(),
            2,
            std::ptr::null(),
        );
        if n < 0 {
            if *libc::__error() == libc::EINTR {
                continue;
            }
            libc::_exit(0);
        }
        let seen = &events[..n as usize];
        // The server exiting first (its pid may be reused once thoth reaps it): nothing to do.
        if seen.iter().any(|e| e.ident == server as libc::uintptr_t) {
            libc::_exit(0);
        }
        if seen.iter().any(|e| e.ident == parent as libc::uintptr_t) {
            libc::kill(server, libc::SIGKILL);
            libc::_exit(0);
        }
    }
}
