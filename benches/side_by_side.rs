//! thoth against the floor (benches/floor.rs), side by side in one run: direct / floor / thoth observe /
//! thoth block with a scope / naive Python, taking turns in `ROUNDS` alternating rounds (this VM drifts over
//! seconds), medians over the rounds. Per path: on-CPU time per call of all the proxy's threads (schedstat)
//! for small calls pipelined `WINDOW` in flight and for 200 KB calls one at a time, the p50 round trip of
//! small calls one at a time, and the peak RSS around one 4 MiB message. Ratios against the floor.

use std::time::{Duration, Instant};

use crate::Client;

const ROUNDS: usize = 5;
const WINDOW: usize = 16;
const PIPELINED: usize = 10_000;
const SEQUENTIAL: usize = 3_000;
const BIG: usize = 200 * 1024;
const BIG_CALLS: usize = 300;
const HUGE: usize = 4 * 1024 * 1024;

struct Path {
    name: &'static str,
    cmd: Vec<String>,
    client: Client,
    /// Per round: µs on-CPU per pipelined call, per 200 KB call, per sequential call; p50 µs sequential.
    pipelined_cpu: Vec<f64>,
    big_cpu: Vec<f64>,
    seq_cpu: Vec<f64>,
    seq_p50: Vec<f64>,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

/// `paths`: (name, command) with "direct" first and "floor" second.
pub fn run(paths: Vec<(&'static str, Vec<String>)>) {
    println!("thoth vs the floor: {ROUNDS} alternating rounds of {PIPELINED} small calls pipelined ({WINDOW} in flight), {SEQUENTIAL} one at a time, {BIG_CALLS} x {} KB one at a time; medians of the rounds", BIG / 1024);
    let mut paths: Vec<Path> = paths
        .into_iter()
        .map(|(name, cmd)| {
            let mut client = Client::spawn(&cmd);
            for _ in 0..500 {
                client.call("warm");
            }
            Path {
                name,
                cmd,
                client,
                pipelined_cpu: Vec::new(),
                big_cpu: Vec::new(),
                seq_cpu: Vec::new(),
                seq_p50: Vec::new(),
            }
        })
        .collect();
    let big = "x".repeat(BIG);
    for _ in 0..ROUNDS {
        for p in &mut paths {
            let c = &mut p.client;
            let cpu = c.cpu_ns();
            pipelined(c, PIPELINED);
            p.pipelined_cpu
                .push(c.cpu_ns().saturating_sub(cpu) as f64 / 1e3 / PIPELINED as f64);

            let cpu = c.cpu_ns();
            let mut samples: Vec<Duration> = (0..SEQUENTIAL)
                .map(|_| {
                    let t = Instant::now();
                    c.call("hello");
                    t.elapsed()
                })
                .collect();
            p.seq_cpu
                .push(c.cpu_ns().saturating_sub(cpu) as f64 / 1e3 / SEQUENTIAL as f64);
            samples.sort_unstable();
            p.seq_p50
                .push(samples[samples.len() / 2].as_secs_f64() * 1e6);

            let cpu = c.cpu_ns();
            for _ in 0..BIG_CALLS {
                c.call(&big);
            }
            p.big_cpu
                .push(c.cpu_ns().saturating_sub(cpu) as f64 / 1e3 / BIG_CALLS as f64);
        }
    }
    let direct_p50 = median(&paths[0].seq_p50);
    let floor = (
        median(&paths[1].pipelined_cpu),
        median(&paths[1].big_cpu),
        median(&paths[1].seq_p50) - direct_p50,
    );
    println!();
    println!(
        "{:<14} {:>13} {:>7} {:>13} {:>7} {:>9} {:>9} {:>11} {:>7} {:>10}",
        "path",
        "pipe µs/call",
        "x floor",
        "200KB µs/call",
        "x floor",
        "seq µs",
        "seq p50",
        "added p50",
        "x floor",
        "4MiB RSS"
    );
    for p in &mut paths {
        let (pipe, big, seq, p50) = (
            median(&p.pipelined_cpu),
            median(&p.big_cpu),
            median(&p.seq_cpu),
            median(&p.seq_p50),
        );
        let proxied = p.name != "direct";
        let ratio = |v: f64, f: f64| {
            if proxied {
                format!("{:.2}", v / f)
            } else {
                "-".into()
            }
        };
        let rss = if proxied {
            huge_rss(&p.cmd)
                .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_else(|| "-".into())
        } else {
            "-".into()
        };
        println!(
            "{:<14} {:>13.1} {:>7} {:>13.1} {:>7} {:>9.1} {:>9.1} {:>11.1} {:>7} {:>10}",
            p.name,
            pipe,
            ratio(pipe, floor.0),
            big,
            ratio(big, floor.1),
            seq,
            p50,
            p50 - direct_p50,
            ratio(p50 - direct_p50, floor.2),
            rss
        );
    }
    println!(
        "(µs/call: on-CPU time of all the proxy's threads; the proxy's own CPU is 0 for direct. Goals: thoth \
         observe <= 1.3x floor pipelined, block <= 1.4x, 200 KB <= 1.5x, below python; added p50 <= 1.2x \
         floor's; 4 MiB RSS <= 1.5 x 4 MiB + 12 MiB = 18.0 MiB)"
    );
    for p in paths {
        p.client.close();
    }
}

/// `n` small calls with `WINDOW` in flight.
fn pipelined(c: &mut Client, n: usize) {
    let (mut sent, mut received) = (0, 0);
    while received < n {
        while sent < n && sent - received < WINDOW {
            c.send_call("p");
            sent += 1;
        }
        c.flush();
        c.recv();
        received += 1;
    }
}

/// Peak resident memory (KiB) of a fresh proxy that carried one 4 MiB call and its 4 MiB answer.
fn huge_rss(cmd: &[String]) -> Option<u64> {
    let mut c = Client::spawn(cmd);
    c.call("warm");
    let n = {
        c.send_call(&"x".repeat(HUGE));
        c.flush();
        c.recv()
    };
    assert!(n > HUGE, "short echo");
    let peak = c.status_kib("VmHWM:");
    c.close();
    peak
}
