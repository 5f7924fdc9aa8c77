//! The router on any traffic: lines from the client and the server, in any order, with decisions for any
//! governed call. It never panics, and everything it sends either way is one line of valid JSON.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use thoth::policy::{Decision, Hold, Refusal};
use thoth::proxy::router::{Route, Router};

fuzz_target!(|data: &[u8]| {
    let mut router = Router::new("fuzz", 8);
    let mut governed: Vec<u64> = Vec::new();
    let mut out = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let Some((&op, rest)) = line.split_first() else {
            continue;
        };
        let rest = Bytes::copy_from_slice(rest);
        match op % 5 {
            0 | 1 => router.on_client(rest, &mut out),
            2 | 3 => router.on_server(rest, &mut out),
            _ => {
                if let Some(proxy) = governed.pop() {
                    let decision = match rest.first().map(|b| b % 3) {
                        Some(0) | None => Decision::Allow,
                        Some(1) => Decision::Block(Refusal {
                            reason: "fuzz".into(),
                            violation_id: "v".into(),
                        }),
                        _ => Decision::StepUp(Hold {
                            reason: "fuzz".into(),
                            hold_token: "h".into(),
                            approval_url: None,
                            timeout_seconds: 0,
                        }),
                    };
                    router.on_decision(proxy, decision, &mut out);
                }
            }
        }
        for route in out.drain(..) {
            match route {
                Route::ToServer(frame) | Route::ToClient(frame) => {
                    let bytes = frame.to_vec();
                    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
                    assert!(!body.contains(&b'\n'), "one line");
                    serde_json::from_slice::<serde_json::Value>(body).expect("valid JSON out");
                }
                Route::Govern(call) => governed.push(call.proxy_id),
                Route::Finished(_)
                | Route::Abandoned(_)
                | Route::Refused(..)
                | Route::Own { .. }
                | Route::Lifecycle(_) => {}
            }
        }
    }
});
