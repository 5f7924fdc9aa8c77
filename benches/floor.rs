//! The floor: the least a line pass-through can do, std only. `proxy __floor <server...>` spawns the server
//! and copies lines in two blocking threads (client -> server, server -> client), flushing once its input has
//! nothing more buffered. No parsing, no policy, no audit: what thoth's per-call cost is judged against.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::process::{Command, Stdio};

/// Run the floor proxy around `server` until the server closes its stdout; returns its exit code.
pub fn run(server: &[String]) -> i32 {
    let mut child = Command::new(&server[0])
        .args(&server[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("floor: spawn the server");
    let to_server = child.stdin.take().expect("floor: server stdin");
    let from_server = child.stdout.take().expect("floor: server stdout");
    // The client's EOF closes the server's stdin (copy_lines drops it), so the server ends, then its stdout.
    std::thread::spawn(move || copy_lines(std::io::stdin().lock(), to_server));
    copy_lines(from_server, std::io::stdout().lock());
    child.wait().ok().and_then(|s| s.code()).unwrap_or(1)
}

fn copy_lines(src: impl Read, dst: impl Write) {
    let mut src = BufReader::with_capacity(64 * 1024, src);
    let mut dst = BufWriter::with_capacity(64 * 1024, dst);
    let mut line = Vec::with_capacity(64 * 1024);
    loop {
        line.clear();
        match src.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if dst.write_all(&line).is_err() {
            return;
        }
        // Coalesce: one flush for all the lines that were already read.
        if src.buffer().is_empty() && dst.flush().is_err() {
            return;
        }
    }
    let _ = dst.flush();
}
