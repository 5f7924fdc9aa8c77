//! One registry value as the OS stores it, and the `REG_*` type codes: platform-neutral data, so the
//! managed-settings parsers build and are tested on every OS. A leaf: `registry` (the Windows reads) and
//! `managed_paths` both import it.

/// Registry value types (the `REG_*` codes of winnt.h), kept here so the parsers build on every OS.
pub const REG_NONE: u32 = 0;
pub const REG_SZ: u32 = 1;
pub const REG_EXPAND_SZ: u32 = 2;
pub const REG_BINARY: u32 = 3;
pub const REG_DWORD: u32 = 4;
pub const REG_DWORD_BIG_ENDIAN: u32 = 5;
pub const REG_MULTI_SZ: u32 = 7;
pub const REG_QWORD: u32 = 11;

/// One registry value as the OS stores it: its name, its `REG_*` type and its raw data (strings are UTF-16LE,
/// usually NUL-terminated; a DWORD is 4 little-endian bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryValue {
    pub name: String,
    pub kind: u32,
    pub data: Vec<u8>,
}
