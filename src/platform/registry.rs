//! Windows registry reads: every value of one key, raw (name, `REG_*` type, bytes). Used for the managed
//! settings policy key (DESIGN.md §4); decoding the values is `settings::managed`'s job, not this module's.

use std::io;

use windows_sys::Win32::Foundation::{
    ERROR_FILE_NOT_FOUND, ERROR_MORE_DATA, ERROR_NO_MORE_ITEMS, ERROR_PATH_NOT_FOUND,
    ERROR_SUCCESS, WIN32_ERROR,
};
use windows_sys::Win32::System::Registry::{
    RegCloseKey, RegEnumValueW, RegOpenKeyExW, HKEY, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE,
    KEY_READ, KEY_WOW64_64KEY,
};

use super::registry_value::RegistryValue;

/// The longest value name the registry allows, in UTF-16 units, plus its NUL.
const MAX_VALUE_NAME_UNITS: usize = 16_384;
/// Data buffer to start with; grown to what the registry asks for.
const INITIAL_DATA_BYTES: usize = 4096;
/// A value rewritten between two reads can ask for a bigger buffer again; give up after this many tries.
const MAX_READ_ATTEMPTS: usize = 4;

/// A root key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hive {
    LocalMachine,
    CurrentUser,
}

impl Hive {
    fn handle(self) -> HKEY {
        match self {
            Hive::LocalMachine => HKEY_LOCAL_MACHINE,
            Hive::CurrentUser => HKEY_CURRENT_USER,
        }
    }
}

/// An open key, closed on drop.
struct OpenKey(HKEY);

impl Drop for OpenKey {
    fn drop(&mut self) {
        // SAFETY: the handle came from RegOpenKeyExW and is closed only here.
        unsafe { RegCloseKey(self.0) };
    }
}

/// Every value of `hive\subkey` (the 64-bit view), or `None` when the key does not exist.
pub fn read_values(hive: Hive, subkey: &str) -> io::Result<Option<Vec<RegistryValue>>> {
    let Some(key) = open(hive, subkey)? else {
        return Ok(None);
    };
    let mut values = Vec::new();
    for index in 0.. {
        match read_value(&key, index)? {
            Some(value) => values.push(value),
            None => break,
        }
    }
    Ok(Some(values))
}

fn open(hive: Hive, subkey: &str) -> io::Result<Option<OpenKey>> {
    let subkey: Vec<u16> = subkey.encode_utf16().chain(Some(0)).collect();
    let mut key: HKEY = std::ptr::null_mut();
    // SAFETY: `subkey` is NUL-terminated and outlives the call; `key` is a valid out pointer.
    let status = unsafe {
        RegOpenKeyExW(
            hive.handle(),
            subkey.as_ptr(),
            0,
            KEY_READ | KEY_WOW64_64KEY,
            &mut key,
        )
    };
    match status {
        ERROR_SUCCESS => Ok(Some(OpenKey(key))),
        ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND => Ok(None),
        other => Err(os_error(other)),
    }
}

/// The value at `index`, or `None` past the last one.
fn read_value(key: &OpenKey, index: u32) -> io::Result<Option<RegistryValue>> {
    let mut name = vec![0u16; MAX_VALUE_NAME_UNITS];
    let mut data = vec![0u8; INITIAL_DATA_BYTES];
    for _ in 0..MAX_READ_ATTEMPTS {
        let mut name_units = name.len() as u32;
        let mut data_bytes = data.len() as u32;
        let mut kind = 0u32;
        // SAFETY: every buffer is valid for the length passed beside it; the key is open.
        let status = unsafe {
            RegEnumValueW(
                key.0,
                index,
                name.as_mut_ptr(),
                &mut name_units,
                std::ptr::null(),
                &mut kind,
                data.as_mut_ptr(),
                &mut data_bytes,
            )
        };
        match status {
            ERROR_SUCCESS => {
                name.truncate(name_units as usize);
                data.truncate(data_bytes as usize);
                return Ok(Some(RegistryValue {
                    name: String::from_utf16_lossy(&name),
                    kind,
                    data,
                }));
            }
            ERROR_NO_MORE_ITEMS => return Ok(None),
            // The data outgrew the buffer: `data_bytes` now holds the size it needs.
            ERROR_MORE_DATA => data.resize((data_bytes as usize).max(data.len() * 2), 0),
            other => return Err(os_error(other)),
        }
    }
    Err(io::Error::other(format!(
        "registry value {index} kept changing size while being read"
    )))
}

fn os_error(code: WIN32_ERROR) -> io::Error {
    io::Error::from_raw_os_error(code as i32)
}
