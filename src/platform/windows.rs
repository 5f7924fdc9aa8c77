//! Windows OS calls: token elevation, stdio through tokio, console control events, ending a child.

use std::io;
use std::process::ExitStatus;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::Security::{
    GetTokenInformation, TokenElevation, TOKEN_ELEVATION, TOKEN_QUERY,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use super::users::TargetUser;
use super::{Reader, Signal, Writer};

/// An elevated token (an administrator's, or SYSTEM) counts as root.
pub fn is_root() -> bool {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: standard token query on our own process; the handle is closed below.
    unsafe {
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return false;
        }
        let mut elevation = TOKEN_ELEVATION { TokenIsElevated: 0 };
        let mut len = 0u32;
        let ok = GetTokenInformation(
            token,
            TokenElevation,
            (&mut elevation as *mut TOKEN_ELEVATION).cast(),
            std::mem::size_of::<TOKEN_ELEVATION>() as u32,
            &mut len,
        );
        CloseHandle(token);
        ok != 0 && elevation.TokenIsElevated != 0
    }
}

pub fn uid() -> Option<u32> {
    None
}

pub fn tune_allocator() {}

pub fn user_name() -> Option<String> {
    use windows_sys::Win32::System::WindowsProgramming::GetUserNameW;
    let mut buf = [0u16; 257];
    let mut len = buf.len() as u32;
    // SAFETY: GetUserNameW writes at most `len` UTF-16 units (including the NUL) into `buf`.
    if unsafe { GetUserNameW(buf.as_mut_ptr(), &mut len) } == 0 || len == 0 {
        return None;
    }
    Some(String::from_utf16_lossy(&buf[..(len as usize - 1)]))
}

pub fn ids() -> (Option<u32>, Option<u32>) {
    (None, None)
}

/// Windows has no user database to ask for a home folder without the user's token: profiles live side by side
/// in the profiles folder (the parent of `%PUBLIC%`, normally `C:\Users`).
pub fn lookup_user(name: &str) -> Option<TargetUser> {
    let profiles = std::env::var_os("PUBLIC")
        .map(std::path::PathBuf::from)
        .and_then(|public| public.parent().map(|p| p.to_path_buf()))
        .or_else(|| {
            std::env::var_os("SystemDrive")
                .map(|d| std::path::PathBuf::from(format!("{}\\Users", d.to_string_lossy())))
        })?;
    Some(TargetUser {
        name: name.to_owned(),
        uid: None,
        gid: None,
        home: profiles.join(name),
    })
}

/// The user of the active console session (WTSGetActiveConsoleSessionId), if someone is logged on there.
pub fn console_user() -> Option<TargetUser> {
    use windows_sys::Win32::System::RemoteDesktop::{
        WTSFreeMemory, WTSGetActiveConsoleSessionId, WTSQuerySessionInformationW, WTSUserName,
        WTS_CURRENT_SERVER_HANDLE,
    };
    // SAFETY: no preconditions; 0xFFFFFFFF means no session is attached to the console.
    let session = unsafe { WTSGetActiveConsoleSessionId() };
    if session == u32::MAX {
        return None;
    }
    let mut buffer: *mut u16 = std::ptr::null_mut();
    let mut bytes: u32 = 0;
    // SAFETY: on success WTS allocates `buffer` (freed below) holding `bytes` bytes of NUL-terminated UTF-16.
    let ok = unsafe {
        WTSQuerySessionInformationW(
            WTS_CURRENT_SERVER_HANDLE,
            session,
            WTSUserName,
            &mut buffer,
            &mut bytes,
        )
    };
    if ok == 0 || buffer.is_null() {
        return None;
    }
    // SAFETY: `buffer` holds `bytes / 2` UTF-16 units as documented; it is freed exactly once.
    let name = unsafe {
        let units = std::slice::from_raw_parts(buffer, (bytes / 2) as usize);
        let text = String::from_utf16_lossy(units);
        WTSFreeMemory(buffer.cast());
        text
    };
    let name = name.trim_end_matches('\0').to_owned();
    if name.is_empty() {
        return None;
    }
    lookup_user(&name)
}

pub fn copy_owner_and_mode(_file: &std::fs::File, _like: &std::fs::Metadata) -> io::Result<()> {
    Ok(())
}

pub fn give_to(_file: &std::fs::File, _uid: Option<u32>, _gid: Option<u32>) -> io::Result<()> {
    Ok(())
}

pub fn give_privately(
    _file: &std::fs::File,
    _uid: Option<u32>,
    _gid: Option<u32>,
) -> io::Result<()> {
    Ok(())
}

pub fn owner_of(_meta: &std::fs::Metadata) -> (Option<u32>, Option<u32>) {
    (None, None)
}

pub fn sync_dir(_dir: &std::path::Path) -> io::Result<()> {
    Ok(())
}

pub fn make_private(_path: &std::path::Path) -> io::Result<bool> {
    Ok(false)
}

pub fn client_stdio() -> (Reader, Writer) {
    (Box::new(tokio::io::stdin()), Box::new(tokio::io::stdout()))
}

pub struct Signals {
    ctrl_c: tokio::signal::windows::CtrlC,
    ctrl_break: tokio::signal::windows::CtrlBreak,
}

impl Signals {
    pub fn new() -> io::Result<Signals> {
        Ok(Signals {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
            ctrl_break: tokio::signal::windows::ctrl_break()?,
        })
    }

    pub async fn recv(&mut self) -> Signal {
        tokio::select! {
            Some(()) = self.ctrl_c.recv() => Signal::Interrupt,
            Some(()) = self.ctrl_break.recv() => Signal::Terminate,
            else => std::future::pending().await,
        }
    }
}

/// Windows has no signals to pass on: the child shares our console and gets Ctrl-C itself; ending it is
/// TerminateProcess.
pub fn forward(child: &mut tokio::process::Child, _signal: Signal) {
    let _ = child.start_kill();
}

pub fn signal_exit_code(_status: ExitStatus) -> u8 {
    1
}
