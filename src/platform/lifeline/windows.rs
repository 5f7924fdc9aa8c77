//! Windows: a job object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE; thoth holds its only handle, so when thoth
//! ends, however it ends, the kernel closes it and ends the server and everything it started since.

use std::io;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
    SetInformationJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};

/// The job handle (closing it ends the server).
pub struct Guard(HANDLE);

// SAFETY: a job handle may be used and closed from any thread.
unsafe impl Send for Guard {}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: the handle came from CreateJobObjectW and is closed once.
        unsafe {
            CloseHandle(self.0);
        }
    }
}

pub fn prepare(_cmd: &mut tokio::process::Command) {}

pub fn attach(child: &tokio::process::Child) -> io::Result<Guard> {
    let Some(process) = child.raw_handle() else {
        return Err(io::Error::other("the server has already exited"));
    };
    // SAFETY: plain Win32 calls on a job this function creates and the child's live process handle.
    unsafe {
        let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
        if job.is_null() {
            return Err(io::Error::last_os_error());
        }
        let guard = Guard(job);
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if SetInformationJobObject(
            job,
            JobObjectExtendedLimitInformation,
            &info as *const _ as *const std::ffi::c_void,
            std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        ) == 0
        {
            return Err(io::Error::last_os_error());
        }
        if AssignProcessToJobObject(job, process as HANDLE) == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(guard)
    }
}
