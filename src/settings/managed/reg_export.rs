//! `regedit /e` exports (version 5.00) of thoth's policy key, read into the same registry values the live
//! registry gives, so the Windows decoding is tested on every OS. A line format: a small hand parser. Only the
//! Thoth key's own section counts (`HKEY_LOCAL_MACHINE`, then `HKEY_CURRENT_USER` filling gaps).

use super::{
    registry_entries, strict, ManagedEntries, ManagedError, ManagedValues, UNNAMED_REG_EXPORT,
};
use crate::platform::managed_paths::{
    RegistryValue, REG_BINARY, REG_DWORD, REG_SZ, WINDOWS_MACHINE_KEY, WINDOWS_POLICY_SUBKEY,
    WINDOWS_USER_KEY,
};

const HEADER: &str = "Windows Registry Editor Version 5.00";
const UTF16LE_BOM: &[u8] = &[0xff, 0xfe];
const UTF8_BOM: &[u8] = &[0xef, 0xbb, 0xbf];

/// Which policy key a section is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Machine,
    User,
    Other,
}

/// A `.reg` file as regedit writes it (UTF-16LE with a byte-order mark), or as UTF-8. Errors name
/// `UNNAMED_REG_EXPORT`; `from_reg_export_bytes_at` names the file.
pub fn from_reg_export_bytes(bytes: &[u8]) -> Result<ManagedValues, ManagedError> {
    from_reg_export_bytes_at(bytes, UNNAMED_REG_EXPORT)
}

/// `from_reg_export_bytes` for the file at `origin` (its path).
pub fn from_reg_export_bytes_at(bytes: &[u8], origin: &str) -> Result<ManagedValues, ManagedError> {
    strict(reg_export_entries(bytes, origin)?)
}

/// The export's entries (a bad value spoils only its own key); an undecodable or malformed file fails whole.
pub fn reg_export_entries(bytes: &[u8], origin: &str) -> Result<ManagedEntries, ManagedError> {
    let text = decode(bytes).ok_or_else(|| ManagedError::Encoding {
        origin: origin.to_owned(),
        expected: "UTF-8 or UTF-16LE",
    })?;
    text_entries(&text, origin)
}

fn decode(bytes: &[u8]) -> Option<String> {
    if let Some(utf16) = bytes.strip_prefix(UTF16LE_BOM) {
        if utf16.len() % 2 != 0 {
            return None;
        }
        let units: Vec<u16> = utf16
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        return String::from_utf16(&units).ok();
    }
    let utf8 = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    String::from_utf8(utf8.to_vec()).ok()
}

/// The text of a `regedit /e` export. Values become `HKLM\...\Thoth\NAME` (or `HKCU\...`) origins; errors name
/// `UNNAMED_REG_EXPORT` and the line; `from_reg_export_at` names the file.
pub fn from_reg_export(text: &str) -> Result<ManagedValues, ManagedError> {
    from_reg_export_at(text, UNNAMED_REG_EXPORT)
}

/// `from_reg_export` for the file at `origin` (its path).
pub fn from_reg_export_at(text: &str, origin: &str) -> Result<ManagedValues, ManagedError> {
    strict(text_entries(text, origin)?)
}

fn text_entries(text: &str, origin: &str) -> Result<ManagedEntries, ManagedError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = logical_lines(text).filter(|(_, line)| !line.trim().is_empty());
    let has_header = lines
        .next()
        .is_some_and(|(_, first)| first.trim() == HEADER);
    if !has_header {
        return Err(ManagedError::NotARegExport {
            origin: origin.to_owned(),
        });
    }
    let line_error = |line: usize, reason: String| ManagedError::RegExportLine {
        origin: origin.to_owned(),
        line,
        reason,
    };
    let (machine, user) = policy_key_values(lines, &line_error)?;
    let mut entries = decode_section(WINDOWS_MACHINE_KEY, &machine, &line_error);
    for (key, entry) in decode_section(WINDOWS_USER_KEY, &user, &line_error) {
        entries.entry(key).or_insert(entry);
    }
    Ok(entries)
}

/// A value and the number of the line it was read from.
type NumberedValue = (usize, RegistryValue);

/// The raw values of the machine and the user policy key sections; every other section is skipped unread.
fn policy_key_values(
    lines: impl Iterator<Item = (usize, String)>,
    line_error: &dyn Fn(usize, String) -> ManagedError,
) -> Result<(Vec<NumberedValue>, Vec<NumberedValue>), ManagedError> {
    let mut machine = Vec::new();
    let mut user = Vec::new();
    let mut section = Section::Other;
    for (number, line) in lines {
        let line = line.trim();
        if line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            section = parse_section(line).map_err(|reason| line_error(number, reason))?;
            continue;
        }
        let values = match section {
            Section::Machine => &mut machine,
            Section::User => &mut user,
            Section::Other => continue,
        };
        let parsed = parse_value_line(line).map_err(|reason| line_error(number, reason))?;
        values.extend(parsed.map(|value| (number, value)));
    }
    Ok((machine, user))
}

/// Decode one section's values, naming the line of a bad one.
fn decode_section(
    key: &str,
    values: &[NumberedValue],
    line_error: &dyn Fn(usize, String) -> ManagedError,
) -> ManagedEntries {
    let mut decoded = ManagedEntries::new();
    for (number, value) in values {
        let one = registry_entries(key, std::slice::from_ref(value))
            .into_iter()
            .map(|(name, entry)| {
                let entry = entry.map_err(|e| match e {
                    ManagedError::BadValue { key, problem, .. } => {
                        line_error(*number, format!("{key}: {problem}"))
                    }
                    other => other,
                });
                (name, entry)
            });
        // A name set twice in one section: the later line wins, as it does on import.
        decoded.extend(one);
    }
    decoded
}

/// Lines joined where regedit wrapped them (a trailing `\`, the next line indented), each with the number of
/// its first line.
fn logical_lines(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    let mut physical = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line));
    std::iter::from_fn(move || {
        let (number, first) = physical.next()?;
        let mut line = first.to_owned();
        while !line.trim_start().starts_with(';') && line.trim_end().ends_with('\\') {
            line.truncate(line.trim_end().len() - 1);
            match physical.next() {
                Some((_, next)) => line.push_str(next.trim_start()),
                None => break,
            }
        }
        Some((number, line))
    })
}

fn parse_section(line: &str) -> Result<Section, String> {
    let name = line
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or_else(|| "a key line must end with `]`".to_owned())?;
    let is_key = |hive: &str| {
        strip_prefix_ignore_case(name, hive)
            .and_then(|rest| rest.strip_prefix('\\'))
            .is_some_and(|subkey| subkey.eq_ignore_ascii_case(WINDOWS_POLICY_SUBKEY))
    };
    Ok(if is_key("HKEY_LOCAL_MACHINE") {
        Section::Machine
    } else if is_key("HKEY_CURRENT_USER") {
        Section::User
    } else {
        Section::Other
    })
}

/// `"NAME"=DATA`, or `None` for the key's default value (`@=...`), which is not a setting.
fn parse_value_line(line: &str) -> Result<Option<RegistryValue>, String> {
    if line.starts_with("@=") {
        return Ok(None);
    }
    let (name, rest) =
        parse_quoted(line).map_err(|reason| format!("expected `\"NAME\"=value`: {reason}"))?;
    let data = rest
        .trim_start()
        .strip_prefix('=')
        .ok_or_else(|| format!("expected `=` after \"{name}\""))?;
    let (kind, data) = parse_data(data.trim()).map_err(|reason| format!("{name}: {reason}"))?;
    Ok(Some(RegistryValue { name, kind, data }))
}

/// A `"..."` string with regedit's two escapes (`\\`, `\"`), and the text after it.
fn parse_quoted(text: &str) -> Result<(String, &str), String> {
    let body = text
        .strip_prefix('"')
        .ok_or_else(|| "a quoted name or string must start with `\"`".to_owned())?;
    let mut unquoted = String::new();
    let mut chars = body.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Ok((unquoted, &body[index + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped @ ('\\' | '"'))) => unquoted.push(escaped),
                Some((_, other)) => {
                    return Err(format!("unknown escape `\\{other}` (write `\\\\`)"))
                }
                None => break,
            },
            c => unquoted.push(c),
        }
    }
    Err("the string has no closing `\"`".to_owned())
}

/// The data after `=`: a string, `dword:`, `hex:` or `hex(N):`. Returns the `REG_*` type and the raw bytes.
fn parse_data(data: &str) -> Result<(u32, Vec<u8>), String> {
    if data.starts_with('"') {
        let (text, rest) = parse_quoted(data)?;
        if !rest.trim().is_empty() {
            return Err(format!("unexpected `{}` after the string", rest.trim()));
        }
        return Ok((REG_SZ, utf16le_with_nul(&text)));
    }
    if let Some(digits) = strip_prefix_ignore_case(data, "dword:") {
        return parse_dword(digits).map(|dword| (REG_DWORD, dword.to_le_bytes().to_vec()));
    }
    if let Some(bytes) = strip_prefix_ignore_case(data, "hex:") {
        return parse_hex_bytes(bytes).map(|bytes| (REG_BINARY, bytes));
    }
    if let Some(rest) = strip_prefix_ignore_case(data, "hex(") {
        let (kind, bytes) = rest
            .split_once("):")
            .ok_or_else(|| "expected `hex(TYPE):` before the bytes".to_owned())?;
        let kind = u32::from_str_radix(kind, 16)
            .map_err(|_| format!("`{kind}` is not a hexadecimal registry type"))?;
        return parse_hex_bytes(bytes).map(|bytes| (kind, bytes));
    }
    if data == "-" {
        return Err("`-` deletes the value; an export sets values".to_owned());
    }
    Err(format!(
        "`{data}` is not a registry value (expected \"text\", dword:, hex: or hex(N):)"
    ))
}

fn parse_dword(digits: &str) -> Result<u32, String> {
    let valid = (1..=8).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_hexdigit());
    valid
        .then(|| u32::from_str_radix(digits, 16).ok())
        .flatten()
        .ok_or_else(|| format!("dword:{digits} is not 8 hexadecimal digits"))
}

/// Comma-separated hex bytes (`3c,00,00,00`); empty for no data.
fn parse_hex_bytes(text: &str) -> Result<Vec<u8>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(str::trim)
        .map(|byte| {
            let valid = byte.len() == 2 && byte.chars().all(|c| c.is_ascii_hexdigit());
            valid
                .then(|| u8::from_str_radix(byte, 16).ok())
                .flatten()
                .ok_or_else(|| format!("`{byte}` is not a hex byte"))
        })
        .collect()
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn utf16le_with_nul(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .chain(Some(0))
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// The raw values of `[HKEY_LOCAL_MACHINE\<subkey>]` in a `.reg` export: another program's policy key (Claude
/// Desktop's `SOFTWARE\Policies\Claude`), read as the live registry would give it. Other sections are skipped.
pub fn machine_key_values(
    bytes: &[u8],
    origin: &str,
    subkey: &str,
) -> Result<Vec<RegistryValue>, ManagedError> {
    let text = decode(bytes).ok_or_else(|| ManagedError::Encoding {
        origin: origin.to_owned(),
        expected: "UTF-8 or UTF-16LE",
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = logical_lines(text).filter(|(_, line)| !line.trim().is_empty());
    if lines.next().is_none_or(|(_, first)| first.trim() != HEADER) {
        return Err(ManagedError::NotARegExport {
            origin: origin.to_owned(),
        });
    }
    let wanted = format!("[HKEY_LOCAL_MACHINE\\{subkey}]");
    let mut inside = false;
    let mut values = Vec::new();
    for (number, line) in lines {
        let line = line.trim();
        if line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            inside = line.eq_ignore_ascii_case(&wanted);
            continue;
        }
        if inside {
            let parsed = parse_value_line(line).map_err(|reason| ManagedError::RegExportLine {
                origin: origin.to_owned(),
                line: number,
                reason,
            })?;
            values.extend(parsed);
        }
    }
    Ok(values)
}
