#!/usr/bin/env bash
# Type-check (clippy, -D warnings) the crate for the Windows and macOS targets on Linux, so cfg(windows) and
# cfg(target_os = "macos") code is compiled by CI. Uses Debian's rustc-web toolchain, whose rust-web-src ships
# std's source, with -Zbuild-std; no linking, no C compiled (fakecc/fakear). Installs the Debian packages itself
# if missing. Own target dir (target/xcheck) so it never invalidates the host build.
#   XCHECK_TARGETS="x86_64-pc-windows-msvc" bash .ci/xcheck.sh   # a subset
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TARGETS=${XCHECK_TARGETS:-"x86_64-pc-windows-msvc aarch64-apple-darwin x86_64-apple-darwin"}

if ! [ -x /usr/bin/cargo ] || ! [ -x /usr/bin/rustc ] || ! [ -x /usr/bin/cargo-clippy ] \
  || ! [ -d /usr/lib/rustlib/src/rust/library ]; then
  echo "xcheck: installing Debian rustc-web toolchain (rustc-web cargo-web rust-web-src rust-web-clippy)"
  log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      rustc-web cargo-web rust-web-src rust-web-clippy; } >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    echo "xcheck: apt-get install failed" >&2
    exit 1
  fi
  rm -f "$log"
fi

cd "$ROOT"
export PATH=/usr/bin:$PATH            # Debian's cargo/rustc/clippy ahead of rustup's proxies
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
unset RUSTUP_TOOLCHAIN RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER
export CARGO_TARGET_DIR=${XCHECK_TARGET_DIR:-$ROOT/target/xcheck}
locked=()
[ -f Cargo.lock ] && locked=(--locked)
echo "xcheck: $(/usr/bin/rustc --version)"
for t in $TARGETS; do
  v=${t//-/_}
  export "CC_$v=$HERE/fakecc" "AR_$v=$HERE/fakear"
  echo "== xcheck $t"
  cargo clippy "${locked[@]}" -Zbuild-std --target "$t" --all-targets -- -D warnings
done
