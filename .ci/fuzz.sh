#!/usr/bin/env bash
# Run every cargo-fuzz target in fuzz/ for a bounded time on the stable toolchain (issue 12 §10).
# cargo-fuzz wants nightly only for its -Z flags; RUSTC_BOOTSTRAP=1 lets stable rustc take them, and
# `--sanitizer none` avoids the sanitizer runtimes that stable does not ship. libFuzzer itself (the C++ part
# of libfuzzer-sys) is built with the system C++ compiler.
# Time: THOTH_FUZZ_TOTAL_SECONDS (default 150) split evenly over the targets, plus one build of the fuzz crate.
# A crash fails the run and leaves its input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/../target/fuzz}"
version=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$version"; then
  cargo install cargo-fuzz --locked --version "$version"
fi
mapfile -t targets < <(cargo fuzz list)
total=${THOTH_FUZZ_TOTAL_SECONDS:-150}
each=$(( total / ${#targets[@]} ))
(( each >= 5 )) || each=5
flags=(--sanitizer none --dev)
cargo fuzz build "${flags[@]}"
for target in "${targets[@]}"; do
  corpus=$(mktemp -d)
  seeds=()
  [ -d "seeds/$target" ] && seeds=("seeds/$target")
  echo "fuzz: $target for ${each}s"
  log=$(mktemp)
  # -rss_limit_mb: the targets hold a few small lines; a leak or a blow-up shows as a failure.
  set +e
  cargo fuzz run "${flags[@]}" "$target" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$each" -dict=dict/jsonrpc.dict -rss_limit_mb=1024 >"$log" 2>&1
  status=$?
  set -e
  grep -E '^(Done |==[0-9]+==|SUMMARY|thread .* panicked|.*Test unit written)' "$log" || true
  [ "$status" -eq 0 ] || tail -n 40 "$log" >&2
  rm -f "$log"
  rm -rf "$corpus"
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $target FAILED (exit $status); the input is in fuzz/artifacts/$target/" >&2
    exit "$status"
  fi
done
echo "fuzz: ${#targets[@]} targets, ${each}s each: no failure"
