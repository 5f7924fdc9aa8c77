#!/usr/bin/env bash
# Sign thoth release assets for `thoth update` (see installers/README.md, "Releasing"):
#   installers/release.sh keygen --dir ~/thoth-release-key          # once; add release.pub's key line to release-keys.pub
#   installers/release.sh sign --key ~/thoth-release-key/release.key --version 1.4.2 dist/
# Runs the Rust helper installers/release.rs (an example of this crate), so releases and the tests' fixtures
# are signed by the same code. THOTH_RELEASE_KEY_PASSWORD supplies the key's password (else it is asked for).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release --example release -- "$@"
