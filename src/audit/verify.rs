//! Checking audit chains (DESIGN.md §6) for `thoth audit verify [--json] [FILE...]` (`commands::audit`): each file's record count
//! and its first broken link — a changed, removed or inserted line (named by line number, with the hash
//! expected and found), a line that is not a record, a torn last line — and, for a folder (the default:
//! `~/.thoth/audit`), the links between its files and the chain head kept in `~/.thoth/state` (`chain`): a
//! file missing between two others, a tail cut, a file emptied, deleted or rewritten with recomputed
//! hashes, two logs spliced. Exit 0 when everything verifies, 1 otherwise, naming the file. Read-only.
//! Schema of `--json`: `schemas/audit-verify.schema.json`.
//!
//! A file named on its own is checked only for its own links. What no local check can show is said in
//! `head` (a user who rewrites the log and re-signs the head with the key they can read) and `chain`.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::log::{sha256_hex, GENESIS};

pub const SCHEMA_VERSION: u32 = 1;
pub use super::line::MAX_LINE_BYTES;
use super::line::{read_line, LineRead};

/// Why a chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The line is not JSON.
    NotJson,
    /// JSON without a numeric `seq` and a string `prev_sha256`.
    NotARecord,
    /// `prev_sha256` is not the hash of the line before (64 zeros on line 1).
    HashMismatch,
    /// The hashes link but `seq` does not count on.
    SeqMismatch,
    /// The last line has no `\n`: cut while being written, or edited.
    IncompleteLine,
    LineTooLong,
    /// The file could not be read.
    Unreadable,
    /// The file starts past seq 0, but no file ends where it links and the head records no pruning there:
    /// a file before it was deleted, cut or replaced.
    ChainGap,
    /// Two files continue the chain from the same record: logs were spliced.
    Fork,
    /// The file ends before the record the chain head names: its tail was cut, or it was emptied.
    Truncated,
    /// The record at the head's `seq` is not the one the head names: the file was rewritten.
    HeadMismatch,
    /// The chain head names this file, and it is gone.
    Missing,
}

/// The first broken link of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// 1-based line number (None when the file could not be opened).
    pub line: Option<u64>,
    pub kind: BreakKind,
    /// For `hash_mismatch` the hash the line should carry, for `seq_mismatch` the seq.
    pub expected: Option<String>,
    pub found: Option<String>,
    pub message: String,
}

/// One chain's result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainCheck {
    /// Lines in the file (all of them, also past a break).
    pub records: u64,
    /// The chain verifies up to a last `session_end` record.
    pub closed: bool,
    pub first_break: Option<Break>,
}

impl ChainCheck {
    /// A file (or folder) that could not be read at all.
    fn unreadable(message: String) -> ChainCheck {
        ChainCheck {
            records: 0,
            closed: false,
            first_break: Some(Break {
                line: None,
                kind: BreakKind::Unreadable,
                expected: None,
                found: None,
                message,
            }),
        }
    }
}

/// The fields a link needs; the rest of the record is covered by the next line's hash.
#[derive(Deserialize)]
struct Link {
    seq: u64,
    prev_sha256: String,
    #[serde(default)]
    event: Option<String>,
}

/// Check one chain, reading it line by line; it must start at seq 0 with 64 zeros.
pub fn check(reader: impl BufRead) -> ChainCheck {
    scan(reader, false, None).check
}

/// Check a part of a chain: it may start past seq 0, linking to a record in another file (checked by
/// [`verify_dir`] against the other files and the head).
pub fn check_continuing(reader: impl BufRead) -> ChainCheck {
    scan(reader, true, None).check
}

/// What a scan saw besides the check: how the file links to the chain before it and where it ends.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scan {
    pub check: ChainCheck,
    /// The first record's `seq` and `prev_sha256`.
    pub first: Option<(u64, String)>,
    /// The last linked record's `seq` and line hash.
    pub last: Option<(u64, String)>,
    /// For the `seq` asked for: its line hash and the file's length through it.
    pub wanted: Option<(String, u64)>,
}

pub(crate) fn scan(mut reader: impl BufRead, any_start: bool, want: Option<u64>) -> Scan {
    let mut prev = GENESIS.to_owned();
    let mut seq = 0u64;
    let mut line_no = 0u64;
    let mut offset = 0u64;
    let mut closed = false;
    let mut first_break: Option<Break> = None;
    let mut out = Scan::default();
    let mut buf = Vec::new();
    loop {
        let read = match read_line(&mut reader, &mut buf, MAX_LINE_BYTES) {
            Ok(LineRead::Eof) => break,
            Ok(read) => read,
            Err(err) => {
                first_break.get_or_insert(Break {
                    line: Some(line_no + 1),
                    kind: BreakKind::Unreadable,
                    expected: None,
                    found: None,
                    message: format!("line {}: cannot read it: {err}", line_no + 1),
                });
                break;
            }
        };
        line_no += 1;
        offset += buf.len() as u64 + 1;
        if first_break.is_some() {
            continue;
        }
        first_break = match read {
            LineRead::TooLong => Some(simple(
                line_no,
                BreakKind::LineTooLong,
                format!("line {line_no} is longer than {MAX_LINE_BYTES} bytes: not a record thoth wrote"),
            )),
            LineRead::Partial => Some(simple(
                line_no,
                BreakKind::IncompleteLine,
                format!("line {line_no} has no line end: the file was cut while being written, or edited"),
            )),
            _ => {
                if line_no == 1 {
                    if let Ok(link) = serde_json::from_slice::<Link>(&buf) {
                        if any_start && link.seq > 0 {
                            seq = link.seq;
                            prev = link.prev_sha256.clone();
                        }
                        out.first = Some((link.seq, link.prev_sha256));
                    }
                }
                let at = seq;
                let broken = link(&buf, line_no, &mut prev, &mut seq, &mut closed);
                if broken.is_none() {
                    out.last = Some((at, prev.clone()));
                    if want == Some(at) {
                        out.wanted = Some((prev.clone(), offset));
                    }
                }
                broken
            }
        };
    }
    out.check = ChainCheck {
        records: line_no,
        closed: closed && first_break.is_none(),
        first_break,
    };
    out
}

fn simple(line: u64, kind: BreakKind, message: String) -> Break {
    Break {
        line: Some(line),
        kind,
        expected: None,
        found: None,
        message,
    }
}

/// Check that `line` links to the chain so far, and advance it.
fn link(line: &[u8], n: u64, prev: &mut String, seq: &mut u64, closed: &mut bool) -> Option<Break> {
    let record: Link = match serde_json::from_slice(line) {
        Ok(record) => record,
        Err(err) if err.is_data() => {
            return Some(simple(
                n,
                BreakKind::NotARecord,
                format!("line {n} is JSON but not an audit record ({err})"),
            ))
        }
        Err(err) => {
            return Some(simple(
                n,
                BreakKind::NotJson,
                format!("line {n} is not JSON ({err})"),
            ))
        }
    };
    if record.prev_sha256 != *prev {
        let why = if n == 1 {
            "a chain starts with 64 zeros: lines were removed from the start, or line 1 was changed"
                .to_owned()
        } else if record.seq == *seq {
            format!(
                "line {} was changed (or this line's prev_sha256 was)",
                n - 1
            )
        } else if record.seq > *seq {
            format!(
                "{} record(s) are missing before line {n}",
                record.seq - *seq
            )
        } else {
            format!("a line was inserted or repeated before line {n}")
        };
        return Some(Break {
            line: Some(n),
            kind: BreakKind::HashMismatch,
            expected: Some(prev.clone()),
            found: Some(record.prev_sha256),
            message: format!(
                "line {n}: prev_sha256 does not match the hash of the line before it: {why}"
            ),
        });
    }
    if record.seq != *seq {
        return Some(Break {
            line: Some(n),
            kind: BreakKind::SeqMismatch,
            expected: Some(seq.to_string()),
            found: Some(record.seq.to_string()),
            message: format!("line {n}: seq is {}, expected {}", record.seq, *seq),
        });
    }
    *prev = sha256_hex(line);
    *seq += 1;
    *closed = record.event.as_deref() == Some("session_end");
    None
}

/// Check the chain in a file on its own (it may continue another file: see [`check_continuing`]).
pub fn check_file(path: &Path) -> ChainCheck {
    match std::fs::File::open(path) {
        Ok(file) => check_continuing(std::io::BufReader::with_capacity(64 * 1024, file)),
        Err(err) => ChainCheck::unreadable(format!("cannot read it: {err}")),
    }
}

/// `thoth audit verify --json` (schemas/audit-verify.schema.json).
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub schema_version: u32,
    /// `ok` when every file verifies (also when there are none), else `broken`.
    pub status: &'static str,
    /// The folder searched when no FILE was given.
    pub directory: Option<String>,
    pub files: Vec<FileReport>,
    /// The folder's chain head (absent when only files were named).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<chain::HeadReport>,
}

#[derive(Debug, Serialize)]
pub struct FileReport {
    pub path: String,
    /// `ok` or `broken`.
    pub status: &'static str,
    pub records: u64,
    pub closed: bool,
    pub first_break: Option<Break>,
}

/// Every `*.jsonl` in `dir` (none when it does not exist), checked as one chain against the folder's head.
pub fn verify_dir(dir: &Path) -> VerifyReport {
    let (files, head) = match super::store::list(dir) {
        Ok(paths) => {
            let (files, head) = chain::check_folder(dir, &paths);
            (files, Some(head))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            // The folder itself is gone: the head (kept elsewhere) still says what it held.
            let (files, head) = chain::check_folder(dir, &[]);
            (files, Some(head))
        }
        Err(err) => (
            vec![file_report(
                dir,
                ChainCheck::unreadable(format!("cannot list the folder: {err}")),
            )],
            None,
        ),
    };
    let mut report = report(Some(dir.display().to_string()), files);
    if head.as_ref().is_some_and(chain::HeadReport::is_broken) {
        report.status = "broken";
    }
    report.head = head;
    report
}

/// The files named, each checked on its own (a folder stands for its `*.jsonl`, checked as a chain).
pub fn verify_paths(paths: &[PathBuf]) -> VerifyReport {
    let mut files = Vec::new();
    let mut broken_head = false;
    for path in paths {
        if path.is_dir() {
            let report = verify_dir(path);
            broken_head |= report
                .head
                .as_ref()
                .is_some_and(chain::HeadReport::is_broken);
            files.extend(report.files);
        } else {
            files.push(file_report(path, check_file(path)));
        }
    }
    let mut report = report(None, files);
    if broken_head {
        report.status = "broken";
    }
    report
}

fn file_report(path: &Path, check: ChainCheck) -> FileReport {
    FileReport {
        path: path.display().to_string(),
        status: if check.first_break.is_none() {
            "ok"
        } else {
            "broken"
        },
        records: check.records,
        closed: check.closed,
        first_break: check.first_break,
    }
}

fn report(directory: Option<String>, files: Vec<FileReport>) -> VerifyReport {
    let broken = files.iter().any(|f| f.first_break.is_some());
    VerifyReport {
        schema_version: SCHEMA_VERSION,
        status: if broken { "broken" } else { "ok" },
        directory,
        files,
        head: None,
    }
}

/// The report for a person.
pub fn render(report: &VerifyReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if report.files.is_empty()
        && !report
            .head
            .as_ref()
            .is_some_and(chain::HeadReport::is_broken)
    {
        let _ = writeln!(
            out,
            "no audit logs in {}",
            report.directory.as_deref().unwrap_or("the paths given")
        );
        return out;
    }
    if let Some(head) = report.head.as_ref().filter(|h| h.is_broken()) {
        let _ = writeln!(out, "BROKEN  {}  (the chain head)", head.path);
        let _ = writeln!(
            out,
            "        {}",
            head.message.as_deref().unwrap_or_default()
        );
    }
    for file in &report.files {
        let records = match file.records {
            1 => "1 record".to_owned(),
            n => format!("{n} records"),
        };
        match &file.first_break {
            None if file.closed => {
                let _ = writeln!(out, "ok      {}  {records}", file.path);
            }
            None => {
                let _ = writeln!(
                    out,
                    "ok      {}  {records} (not closed: still running, or it stopped without its closing record)",
                    file.path
                );
            }
            Some(brk) => {
                let _ = writeln!(out, "BROKEN  {}  {records}", file.path);
                let _ = write!(out, "        {}", brk.message);
                if let (Some(expected), Some(found)) = (&brk.expected, &brk.found) {
                    let _ = write!(
                        out,
                        " (expected {}, found {})",
                        short(expected),
                        short(found)
                    );
                }
                out.push('\n');
            }
        }
    }
    let broken = report
        .files
        .iter()
        .filter(|f| f.first_break.is_some())
        .count();
    let total = report.files.len();
    let files = if total == 1 { "file" } else { "files" };
    let _ = writeln!(
        out,
        "{total} {files}: {} ok, {broken} broken",
        total - broken
    );
    out
}

/// A hash cut to 16 characters for reading.
fn short(s: &str) -> String {
    match s.char_indices().nth(16) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

mod chain;
#[cfg(test)]
mod tests;
