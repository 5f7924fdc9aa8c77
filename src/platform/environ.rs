//! Overwrite secret values in this process's initial environment block. A child running as the same user
//! (the MCP server) can read that block: Linux `/proc/<pid>/environ`, macOS `KERN_PROCARGS2`. Both read the
//! strings the kernel copied onto the stack at exec, which `environ` points into; `remove_var` only drops the
//! pointer, so the bytes are overwritten in place. Call it once the values are read, before any thread that
//! could read the environment starts (the values read as empty afterwards).

/// Overwrite the value of every `NAME=value` entry whose name `is_secret` says is one. Returns how many
/// entries were scrubbed.
pub fn scrub(is_secret: &dyn Fn(&str) -> bool) -> usize {
    os::scrub(is_secret)
}

/// Overwrite the value part of one `NAME=value` string if its name is a secret; true when it did.
#[cfg_attr(not(unix), allow(dead_code))]
fn scrub_entry(entry: &mut [u8], is_secret: &dyn Fn(&str) -> bool) -> bool {
    let Some(eq) = entry.iter().position(|&b| b == b'=') else {
        return false;
    };
    let secret = std::str::from_utf8(&entry[..eq]).is_ok_and(is_secret);
    let value = &mut entry[eq + 1..];
    if !secret || value.is_empty() {
        return false;
    }
    value.fill(0);
    true
}

#[cfg(unix)]
mod os {
    use std::ffi::{c_char, CStr};

    #[cfg(target_os = "macos")]
    fn environ() -> *mut *mut c_char {
        // SAFETY: _NSGetEnviron returns the address of the process's `environ` variable.
        unsafe { *libc::_NSGetEnviron() }
    }

    #[cfg(not(target_os = "macos"))]
    fn environ() -> *mut *mut c_char {
        extern "C" {
            static mut environ: *mut *mut c_char;
        }
        // SAFETY: reading the pointer value of libc's `environ`.
        unsafe { environ }
    }

    pub fn scrub(is_secret: &dyn Fn(&str) -> bool) -> usize {
        let mut count = 0;
        let mut entry = environ();
        if entry.is_null() {
            return 0;
        }
        // SAFETY: `environ` is a NULL-terminated array of NUL-terminated strings owned by this process;
        // each string is overwritten within its own length only, with no allocation or resizing.
        unsafe {
            while !(*entry).is_null() {
                let len = CStr::from_ptr(*entry).to_bytes().len();
                let bytes = std::slice::from_raw_parts_mut((*entry).cast::<u8>(), len);
                count += usize::from(super::scrub_entry(bytes, is_secret));
                entry = entry.add(1);
            }
        }
        count + linux_block(is_secret)
    }

    /// Linux: also the whole block /proc reads (env_start..env_end in /proc/self/stat), for entries whose
    /// `environ` pointer was replaced by a set_var.
    #[cfg(target_os = "linux")]
    fn linux_block(is_secret: &dyn Fn(&str) -> bool) -> usize {
        let Some((start, end)) = env_range() else {
            return 0;
        };
        // The block must hold the first environ string, else the range is not what we think it is.
        let first = environ();
        // SAFETY: environ is non-null here (checked by the caller); we only read its first pointer.
        let first = unsafe { *first } as usize;
        if !(start..end).contains(&first) || end - start > 16 << 20 {
            return 0;
        }
        // SAFETY: [start, end) is this process's initial environment block on its own stack (the kernel
        // reports it), writable, and not moved for the life of the process.
        let block = unsafe { std::slice::from_raw_parts_mut(start as *mut u8, end - start) };
        block
            .split_mut(|&b| b == 0)
            .map(|entry| usize::from(super::scrub_entry(entry, is_secret)))
            .sum()
    }

    #[cfg(not(target_os = "linux"))]
    fn linux_block(_is_secret: &dyn Fn(&str) -> bool) -> usize {
        0
    }

    /// Fields 50 and 51 of /proc/self/stat (after the parenthesised command name, which may hold spaces).
    #[cfg(target_os = "linux")]
    fn env_range() -> Option<(usize, usize)> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3 (state).
        let start = fields.get(50 - 3)?.parse().ok()?;
        let end = fields.get(51 - 3)?.parse().ok()?;
        (start < end).then_some((start, end))
    }
}

#[cfg(windows)]
mod os {
    /// Windows: another process of the same user can read our environment through the PEB; a child cannot
    /// be kept from it by overwriting (the block is rebuilt by the OS APIs). Not done; see README.
    pub fn scrub(_is_secret: &dyn Fn(&str) -> bool) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_secret_values_are_overwritten() {
        let is = |n: &str| n == "THOTH_API_KEY";
        let mut entry = b"THOTH_API_KEY=sk-123".to_vec();
        assert!(super::scrub_entry(&mut entry, &is));
        assert_eq!(&entry, b"THOTH_API_KEY=\0\0\0\0\0\0");
        let mut other = b"THOTH_ENV=dev".to_vec();
        assert!(!super::scrub_entry(&mut other, &is));
        assert_eq!(&other, b"THOTH_ENV=dev");
        assert!(!super::scrub_entry(&mut b"no-equals".to_vec(), &is));
    }
}
