//! The user's one audit chain on disk (DESIGN.md §6). Every `thoth run` appends to it: per batch it takes
//! `state/audit.lock`, reads the head (`head`), finds the chain's real end (records other processes appended
//! since the head was last written are read back and must link), appends, and — at most every
//! `log::SYNC_EVERY`, on rotation and at the end — syncs the file and writes the new head. A file past
//! `THOTH_AUDIT_MAX_FILE_BYTES` is closed and the chain goes on in a new one; on rotation, the oldest files
//! past `THOTH_AUDIT_RETENTION_DAYS` or beyond `THOTH_AUDIT_MAX_TOTAL_BYTES` are removed, the last removed
//! record kept in the head as `pruned` (written before anything is removed) so `verify` sees no gap.
//!
//! When the file the head names is shorter than the head says, missing, or holds lines past it that do not
//! link, the store never "heals" it: the chain goes on in a new file linked from the head, and `verify`
//! reports the old one. When the head itself is missing or invalid, the chain goes on from the newest
//! record in the folder with a new `chain_id`, and its first record there says the head was lost.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::head::{self, ChainLock, ChainPaths, Head, HeadError, Key, Pruned};
use super::log::{sha256_hex, Begin, Chain, Store};
use super::Retention;

/// Records past the head that a store reads back before it gives up and starts a new file.
const MAX_ADOPT_BYTES: u64 = 64 * 1024 * 1024;
/// The last line of a file is looked for in this many bytes from its end.
const TAIL_WINDOW: u64 = 2 * 1024 * 1024;

/// Where the chain ends right now.
#[derive(Debug, Clone)]
struct Tail {
    file: String,
    bytes: u64,
    chain: Chain,
}

pub(crate) struct FileStore {
    paths: ChainPaths,
    retention: Retention,
    started: SystemTime,
    pid: u32,
    key: Option<Key>,
    lock: Option<ChainLock>,
    /// The head as read at `begin` (None: no chain yet).
    head: Option<Head>,
    tail: Option<Tail>,
    /// The open file `tail` is in.
    file: Option<(String, std::fs::File)>,
    /// The next append goes to a new file.
    rotate: bool,
    notice: Option<String>,
    path: Option<PathBuf>,
}

impl FileStore {
    pub fn new(dir: &Path, retention: Retention, started: SystemTime, pid: u32) -> FileStore {
        FileStore {
            paths: ChainPaths::of(dir),
            retention,
            started,
            pid,
            key: None,
            lock: None,
            head: None,
            tail: None,
            file: None,
            rotate: false,
            notice: None,
            path: None,
        }
    }

    /// Open `name` for appending, reusing the handle when it is the one already open.
    fn open(&mut self, name: &str) -> std::io::Result<&mut std::fs::File> {
        if self.file.as_ref().is_none_or(|(open, _)| open != name) {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .append(true)
                .open(self.paths.dir.join(name))?;
            self.file = Some((name.to_owned(), file));
        }
        Ok(&mut self.file.as_mut().expect("just opened").1)
    }

    /// Find the chain's end from the head, reading back what was appended after it.
    fn find_tail(&mut self, head: &Head) -> Tail {
        let mut tail = Tail {
            file: head.file.clone(),
            bytes: head.file_bytes,
            chain: Chain {
                seq: head.seq + 1,
                prev: head.sha256.clone(),
            },
        };
        // What this process knows beyond the head (its own appends since the head was written).
        if let Some(known) = &self.tail {
            if known.file == head.file && known.chain.seq > tail.chain.seq {
                tail = known.clone();
            }
        }
        let name = tail.file.clone();
        let len = match self.open(&name).and_then(|f| f.metadata()) {
            Ok(meta) => meta.len(),
            Err(_) => {
                self.rotate = true;
                return tail;
            }
        };
        if len < tail.bytes || len - tail.bytes > MAX_ADOPT_BYTES {
            // Shorter than the head says (cut or replaced): leave it for verify to report.
            self.rotate = true;
            return tail;
        }
        if len > tail.bytes {
            if let Err(err) = self.adopt(&mut tail, len) {
                tracing::debug!(error = %err, "audit log: cannot read back records past the head");
                self.rotate = true;
            }
        }
        tail
    }

    /// Take the whole lines in `[tail.bytes, len)` that link on from `tail`; cut a torn last line (its writer
    /// died mid-append: nobody else writes while we hold the lock). A line that does not link means the
    /// file was edited: the chain goes on in a new file.
    fn adopt(&mut self, tail: &mut Tail, len: u64) -> std::io::Result<()> {
        let start = tail.bytes;
        let file = self.open(&tail.file.clone())?;
        file.seek(std::io::SeekFrom::Start(start))?;
        let mut rest = Vec::with_capacity((len - start) as usize);
        file.take(len - start).read_to_end(&mut rest)?;
        let mut at = 0usize;
        while let Some(end) = memchr::memchr(b'\n', &rest[at..]) {
            let line = &rest[at..at + end];
            if !links(line, &tail.chain) {
                self.rotate = true;
                return Ok(());
            }
            tail.chain = Chain {
                seq: tail.chain.seq + 1,
                prev: sha256_hex(line),
            };
            at += end + 1;
            tail.bytes = start + at as u64;
        }
        if at < rest.len() {
            let file = self.open(&tail.file.clone())?;
            file.set_len(tail.bytes)?;
        }
        Ok(())
    }

    /// No usable head: go on from the newest record in the folder (or start the chain).
    fn recover(&mut self, why: &HeadError) -> Option<Tail> {
        let files = list(&self.paths.dir).unwrap_or_default();
        let newest = files
            .iter()
            .filter_map(|path| {
                let (seq, hash, _) = last_record(path)?;
                Some((seq, hash, path))
            })
            .max_by_key(|(seq, _, _)| *seq);
        if *why != HeadError::Missing || newest.is_some() {
            self.notice = Some(format!(
                "the chain head {} was not usable ({why}); the chain goes on from the newest record in {}",
                self.paths.head().display(),
                self.paths.dir.display()
            ));
            tracing::warn!("{}", self.notice.as_deref().unwrap_or_default());
        }
        self.rotate = true;
        newest.map(|(seq, hash, path)| Tail {
            file: name_of(path),
            bytes: 0,
            chain: Chain {
                seq: seq + 1,
                prev: hash,
            },
        })
    }

    fn new_head(&self, tail: &Tail, previous: Option<&Head>) -> Head {
        Head {
            schema_version: head::SCHEMA_VERSION,
            chain_id: previous
                .map_or_else(|| uuid::Uuid::new_v4().to_string(), |h| h.chain_id.clone()),
            file: tail.file.clone(),
            seq: tail.chain.seq - 1,
            sha256: tail.chain.prev.clone(),
            file_bytes: tail.bytes,
            updated_at: super::rfc3339(SystemTime::now()),
            pruned: previous.and_then(|h| h.pruned.clone()),
            mac: String::new(),
        }
    }

    /// Remove the oldest files past the retention limits (never the current one): first record the last
    /// removed record in the head, then remove.
    fn prune(&self, head: &mut Head, key: &Key) -> std::io::Result<()> {
        let mut files: Vec<(u64, SystemTime, u64, PathBuf)> = list(&self.paths.dir)?
            .into_iter()
            .filter(|p| name_of(p) != head.file)
            .filter_map(|p| {
                let meta = std::fs::metadata(&p).ok()?;
                let first = first_seq(&p).unwrap_or(0);
                Some((first, meta.modified().ok()?, meta.len(), p))
            })
            .collect();
        files.sort_by_key(|f| (f.0, f.1));
        let current = std::fs::metadata(self.paths.dir.join(&head.file)).map_or(0, |m| m.len());
        let mut total: u64 = current + files.iter().map(|f| f.2).sum::<u64>();
        let cutoff = (self.retention.max_age_days > 0).then(|| {
            SystemTime::now()
                .checked_sub(std::time::Duration::from_secs(
                    self.retention.max_age_days * 86_400,
                ))
                .unwrap_or(SystemTime::UNIX_EPOCH)
        });
        let mut doomed = Vec::new();
        let mut pruned = head.pruned.clone();
        for (_, modified, len, path) in files {
            let old = cutoff.is_some_and(|c| modified < c);
            let over = self.retention.max_total_bytes > 0 && total > self.retention.max_total_bytes;
            if !old && !over {
                break;
            }
            let Some((seq, sha256, _)) = last_record(&path) else {
                break;
            };
            let so_far = pruned.as_ref().map_or((0, 0), |p| (p.files, p.bytes));
            pruned = Some(Pruned {
                seq,
                sha256,
                files: so_far.0 + 1,
                bytes: so_far.1 + len,
                at: super::rfc3339(SystemTime::now()),
            });
            total -= len;
            doomed.push(path);
        }
        if doomed.is_empty() {
            return Ok(());
        }
        head.pruned = pruned;
        head::write_head(&self.paths, key, head)?;
        for path in doomed {
            tracing::debug!(path = %path.display(), "audit log: pruned");
            if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %err, "cannot remove an old audit file");
            }
        }
        Ok(())
    }
}

impl Store for FileStore {
    fn begin(&mut self) -> std::io::Result<Begin> {
        crate::home::create_private_dir(&self.paths.dir)?;
        let lock = ChainLock::acquire(&self.paths)?;
        if self.key.is_none() {
            self.key = Some(head::read_or_create_key(&self.paths)?);
        }
        let read = head::read_head(&self.paths, self.key.as_ref());
        let tail = match read {
            Ok(head) => {
                let tail = self.find_tail(&head);
                self.head = Some(head);
                Some(tail)
            }
            Err(why) => {
                self.head = None;
                self.recover(&why)
            }
        };
        if let Some(tail) = &tail {
            if tail.bytes >= self.retention.max_file_bytes {
                self.rotate = true;
            }
        } else {
            self.rotate = true;
        }
        let chain = tail
            .as_ref()
            .map_or_else(Chain::genesis, |t| t.chain.clone());
        self.tail = tail;
        self.lock = Some(lock);
        Ok(Begin {
            chain,
            notice: self.notice.clone(),
        })
    }

    fn commit(&mut self, bytes: &[u8], end: &Chain, durable: bool) -> std::io::Result<()> {
        let result = self.append(bytes, end, durable);
        self.lock = None;
        result
    }

    fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }
}

impl FileStore {
    fn append(&mut self, bytes: &[u8], end: &Chain, durable: bool) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let rotated = self.rotate;
        if rotated {
            // The file left behind reaches the disk before the head moves past it.
            if let Some((_, old)) = self.file.take() {
                let _ = old.sync_data();
            }
            let (path, file) = open_new(&self.paths.dir, self.started, self.pid)?;
            let name = name_of(&path);
            self.file = Some((name.clone(), file));
            let chain = self
                .tail
                .as_ref()
                .map_or_else(Chain::genesis, |t| t.chain.clone());
            self.tail = Some(Tail {
                file: name,
                bytes: 0,
                chain,
            });
            self.rotate = false;
        }
        let Some(mut tail) = self.tail.clone() else {
            return Err(std::io::Error::other("the audit chain has no file"));
        };
        let file = self.open(&tail.file)?;
        if let Err(err) = file.write_all(bytes) {
            if let Err(cut) = file.set_len(tail.bytes) {
                // A torn line would break the chain for good: the next batch starts a new file.
                tracing::warn!(error = %cut, "cannot cut the audit log back to its last whole line; starting a new file");
                self.rotate = true;
            }
            return Err(err);
        }
        tail.bytes += bytes.len() as u64;
        tail.chain = end.clone();
        self.path = Some(self.paths.dir.join(&tail.file));
        self.tail = Some(tail.clone());
        self.notice = None;
        if durable || rotated {
            self.make_durable(&tail, rotated);
        }
        Ok(())
    }

    /// Sync the file, then record the new head (and prune after a rotation). Failures are logged: the records
    /// are in the file, and the next writer reads them back past the old head.
    fn make_durable(&mut self, tail: &Tail, rotated: bool) {
        if let Some((_, file)) = &self.file {
            if let Err(err) = file.sync_data() {
                tracing::debug!(error = %err, "audit log: sync failed");
            }
        }
        let Some(key) = self.key.take() else {
            return;
        };
        let mut head = self.new_head(tail, self.head.as_ref());
        let written = head::write_head(&self.paths, &key, &mut head).and_then(|()| {
            if rotated {
                self.prune(&mut head, &key)
            } else {
                Ok(())
            }
        });
        if let Err(err) = written {
            tracing::warn!(path = %self.paths.head().display(), error = %err, "cannot write the audit chain head");
        }
        self.head = Some(head);
        self.key = Some(key);
    }
}

/// Whether `line` is a record with the `seq` and `prev_sha256` that `chain` expects next.
fn links(line: &[u8], chain: &Chain) -> bool {
    #[derive(serde::Deserialize)]
    struct Link {
        seq: u64,
        prev_sha256: String,
    }
    serde_json::from_slice::<Link>(line)
        .is_ok_and(|l| l.seq == chain.seq && l.prev_sha256 == chain.prev)
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The audit files in `dir` (`*.jsonl`), by name.
pub(crate) fn list(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl") && p.is_file())
        .collect();
    paths.sort();
    Ok(paths)
}

/// `seq` of a file's first record.
fn first_seq(path: &Path) -> Option<u64> {
    use super::line::{read_line, LineRead, MAX_LINE_BYTES};
    let file = std::fs::File::open(path).ok()?;
    let mut line = Vec::new();
    // The checker's bounded reader: a first line past the cap, or without its `\n`, is no record.
    match read_line(
        &mut std::io::BufReader::new(file),
        &mut line,
        MAX_LINE_BYTES,
    )
    .ok()?
    {
        LineRead::Line => {}
        LineRead::Eof | LineRead::Partial | LineRead::TooLong => return None,
    }
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: u64,
    }
    serde_json::from_slice::<Seq>(&line).ok().map(|s| s.seq)
}

/// A file's last whole record: its `seq`, its line's hash and the file's length through it.
pub(crate) fn last_record(path: &Path) -> Option<(u64, String, u64)> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let from = len.saturating_sub(TAIL_WINDOW);
    file.seek(std::io::SeekFrom::Start(from)).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let end = bytes.iter().rposition(|b| *b == b'\n')?;
    let start = bytes[..end]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    if start == 0 && from > 0 {
        return None;
    }
    let line = &bytes[start..end];
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: u64,
    }
    let seq = serde_json::from_slice::<Seq>(line).ok()?.seq;
    Some((seq, sha256_hex(line), from + end as u64 + 1))
}

/// Create a new file in `dir`, never reusing a name: a taken one gets `-1`, `-2`, ….
fn open_new(
    dir: &Path,
    started: SystemTime,
    pid: u32,
) -> std::io::Result<(PathBuf, std::fs::File)> {
    crate::home::create_private_dir(dir)?;
    // Named by when the file starts (not the session); the chain's order is its records' seq, not the names.
    let stem = super::log::file_stem(SystemTime::now().max(started), pid);
    for n in 0..1000 {
        let name = match n {
            0 => format!("{stem}.jsonl"),
            n => format!("{stem}-{n}.jsonl"),
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                crate::platform::make_private(&path)?;
                return Ok((path, file));
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("every audit file name for {stem} is taken"),
    ))
}
