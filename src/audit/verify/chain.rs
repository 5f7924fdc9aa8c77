//! Checking a folder's files as one chain: each file's own links, then how the files link to each other
//! (a file starting past seq 0 continues the one ending just before it, or the pruned prefix the head
//! records), then that the chain reaches the record the head names (`head`). What the head cannot show:
//! records appended after it was last written (at most `log::SYNC_EVERY` of them) may be cut unseen.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{file_report, scan, Break, BreakKind, ChainCheck, FileReport};
use crate::audit::head::{self, ChainPaths, Head, HeadError};

/// The head as `verify` saw it (`--json`: `head`).
#[derive(Debug, Clone, Serialize)]
pub struct HeadReport {
    pub path: String,
    /// `ok`, `missing` (with files present: broken), `absent` (no files, no head: a new install), `invalid`.
    pub status: &'static str,
    pub chain_id: Option<String>,
    pub file: Option<String>,
    pub seq: Option<u64>,
    pub sha256: Option<String>,
    pub pruned_through_seq: Option<u64>,
    pub message: Option<String>,
}

impl HeadReport {
    pub fn is_broken(&self) -> bool {
        matches!(self.status, "missing" | "invalid")
    }
}

struct Checked {
    path: PathBuf,
    check: ChainCheck,
    first: Option<(u64, String)>,
    last: Option<(u64, String)>,
    wanted: Option<(String, u64)>,
}

fn brk(line: Option<u64>, kind: BreakKind, message: String) -> Break {
    Break {
        line,
        kind,
        expected: None,
        found: None,
        message,
    }
}

/// Check `paths` (the folder's files, by name) as one chain anchored by the folder's head.
pub(super) fn check_folder(dir: &Path, paths: &[PathBuf]) -> (Vec<FileReport>, HeadReport) {
    let chain_paths = ChainPaths::of(dir);
    let head = head::read_head(&chain_paths, None);
    let want = head.as_ref().ok().map(|h| h.seq);
    let head_file = head.as_ref().ok().map(|h| h.file.clone());
    let mut files: Vec<Checked> = paths
        .iter()
        .map(|path| {
            let want = match (&head_file, path.file_name()) {
                (Some(name), Some(file)) if file == name.as_str() => want,
                _ => None,
            };
            let scanned = match std::fs::File::open(path) {
                Ok(f) => scan(std::io::BufReader::with_capacity(64 * 1024, f), true, want),
                Err(err) => super::Scan {
                    check: ChainCheck::unreadable(format!("cannot read it: {err}")),
                    ..Default::default()
                },
            };
            Checked {
                path: path.clone(),
                check: scanned.check,
                first: scanned.first,
                last: scanned.last,
                wanted: scanned.wanted,
            }
        })
        .collect();
    link_files(&mut files, head.as_ref().ok());
    if let Ok(h) = &head {
        unreached(&mut files, h);
    }
    let mut reports: Vec<FileReport> = Vec::new();
    let head_report = match &head {
        Ok(h) => {
            check_head(dir, h, &mut files, &mut reports);
            HeadReport {
                path: chain_paths.head().display().to_string(),
                status: "ok",
                chain_id: Some(h.chain_id.clone()),
                file: Some(h.file.clone()),
                seq: Some(h.seq),
                sha256: Some(h.sha256.clone()),
                pruned_through_seq: h.pruned.as_ref().map(|p| p.seq),
                message: None,
            }
        }
        Err(why) => {
            let (status, message) = match why {
                HeadError::Missing if files.is_empty() => ("absent", None),
                HeadError::Missing => (
                    "missing",
                    Some(format!(
                        "the chain head {} is missing, so a cut tail or a rewritten log cannot be seen: it was deleted (the next thoth run records that it was lost and goes on)",
                        chain_paths.head().display()
                    )),
                ),
                other => (
                    "invalid",
                    Some(format!(
                        "the chain head {} cannot be trusted: {other}",
                        chain_paths.head().display()
                    )),
                ),
            };
            HeadReport {
                path: chain_paths.head().display().to_string(),
                status,
                chain_id: None,
                file: None,
                seq: None,
                sha256: None,
                pruned_through_seq: None,
                message,
            }
        }
    };
    let mut out: Vec<FileReport> = files
        .into_iter()
        .map(|f| file_report(&f.path, f.check))
        .collect();
    out.append(&mut reports);
    (out, head_report)
}

/// A file starting past seq 0 must continue exactly one file (or the pruned prefix).
fn link_files(files: &mut [Checked], head: Option<&Head>) {
    let mut ends: HashMap<(u64, String), usize> = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        if let (None, Some(last)) = (&f.check.first_break, &f.last) {
            ends.insert(last.clone(), i);
        }
    }
    let pruned = head
        .and_then(|h| h.pruned.as_ref())
        .map(|p| (p.seq, p.sha256.clone()));
    let mut continued: HashMap<(u64, String), PathBuf> = HashMap::new();
    for f in files.iter_mut() {
        let Some((seq, prev)) = f.first.clone() else {
            continue;
        };
        if seq == 0 || f.check.first_break.is_some() {
            continue;
        }
        let from = (seq - 1, prev.clone());
        if let Some(other) = continued.get(&from) {
            f.check.first_break = Some(brk(
                Some(1),
                BreakKind::Fork,
                format!(
                    "line 1 continues the chain from seq {} as {} does too: two logs were spliced into one chain",
                    seq - 1,
                    other.display()
                ),
            ));
            continue;
        }
        continued.insert(from.clone(), f.path.clone());
        if ends.contains_key(&from) || pruned.as_ref() == Some(&from) {
            continue;
        }
        f.check.first_break = Some(Break {
            expected: Some(prev),
            found: None,
            ..brk(
                Some(1),
                BreakKind::ChainGap,
                format!(
                    "line 1 continues the chain from seq {}, but no audit file ends with that record and the chain head does not record it as pruned: a file before this one was deleted, cut or replaced",
                    seq - 1
                ),
            )
        });
    }
}

/// The file the head names must hold the record the head names.
fn check_head(dir: &Path, head: &Head, files: &mut [Checked], extra: &mut Vec<FileReport>) {
    let Some(f) = files
        .iter_mut()
        .find(|f| f.path.file_name().is_some_and(|n| n == head.file.as_str()))
    else {
        let path = dir.join(&head.file);
        extra.push(file_report(
            &path,
            ChainCheck {
                records: 0,
                closed: false,
                first_break: Some(brk(
                    None,
                    BreakKind::Missing,
                    format!(
                        "the chain head says the chain ends in this file at seq {}, and it is gone: it was deleted or renamed",
                        head.seq
                    ),
                )),
            },
        ));
        return;
    };
    if f.check.first_break.is_some() {
        return;
    }
    match &f.wanted {
        Some((hash, _)) if *hash == head.sha256 => {}
        Some((hash, _)) => {
            f.check.first_break = Some(Break {
                expected: Some(head.sha256.clone()),
                found: Some(hash.clone()),
                ..brk(
                    None,
                    BreakKind::HeadMismatch,
                    format!(
                        "the record at seq {} is not the one the chain head names: the file was rewritten (its hashes recomputed)",
                        head.seq
                    ),
                )
            });
        }
        None => {
            let ends = match &f.last {
                Some((seq, _)) => format!("ends at seq {seq}"),
                None => "is empty".to_owned(),
            };
            f.check.first_break = Some(Break {
                expected: Some(head.seq.to_string()),
                found: f.last.as_ref().map(|(seq, _)| seq.to_string()),
                ..brk(
                    None,
                    BreakKind::Truncated,
                    format!(
                        "the file {ends}, but the chain head says its last record is seq {}: records were cut from its end, or it was emptied or replaced",
                        head.seq
                    ),
                )
            });
        }
    }
    f.check.closed = f.check.closed && f.check.first_break.is_none();
}

/// With a head, every file must be on the chain it anchors: reached walking back from the head's file
/// (to the genesis file or the pruned prefix), or continuing it past the head (records appended after the
/// head was last written). Any other file is a log from another chain put beside this one.
fn unreached(files: &mut [Checked], head: &Head) {
    let ends: HashMap<(u64, String), usize> = files
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.last.clone().map(|last| (last, i)))
        .collect();
    let before = |f: &Checked| -> Option<usize> {
        let (seq, prev) = f.first.clone()?;
        ends.get(&(seq.checked_sub(1)?, prev)).copied()
    };
    let mut reached = vec![false; files.len()];
    let mut at = files
        .iter()
        .position(|f| f.path.file_name().is_some_and(|n| n == head.file.as_str()));
    if at.is_none() {
        // The head's file is gone (reported as missing): nothing to walk back from.
        return;
    }
    while let Some(i) = at {
        if reached[i] {
            break;
        }
        reached[i] = true;
        at = before(&files[i]);
    }
    // Files past the head continue a reached one.
    loop {
        let mut more = false;
        for i in 0..files.len() {
            if !reached[i] && before(&files[i]).is_some_and(|p| reached[p]) {
                reached[i] = true;
                more = true;
            }
        }
        if !more {
            break;
        }
    }
    for (f, reached) in files.iter_mut().zip(reached) {
        if reached || f.check.first_break.is_some() {
            continue;
        }
        f.check.first_break = Some(brk(
            Some(1),
            BreakKind::Fork,
            format!(
                "this file is not on the chain the head anchors (chain {}): a log from another chain (or from an older thoth, which kept one chain per file) was put here",
                head.chain_id
            ),
        ));
        f.check.closed = false;
    }
}
