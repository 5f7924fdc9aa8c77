#!/bin/sh
# Finish a release folder: a CycloneDX SBOM of the binary's dependencies (cargo-cyclonedx, every target the
# assets are built for, build-time dependencies left out), then checksums.sha256 over every asset in it
# (sha256sum format, sorted by name). Run it last, after `installers/release.sh sign` and the package builds,
# so the checksums cover the .minisig files, the .pkg, the .msi and the SBOM too.
#
#   installers/release-assets.sh --dir DIR [--no-sbom]
set -eu
usage() { echo "usage: $0 --dir DIR [--no-sbom]" >&2; exit 2; }
dir="" sbom=yes
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
        --no-sbom) sbom=no; shift ;;
        *) usage ;;
    esac
done
[ -n "$dir" ] || usage
[ -d "$dir" ] || { echo "release-assets: --dir $dir is not a folder" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
dir=$(cd "$dir" && pwd)

if [ "$sbom" = yes ]; then
    sh "$here/ensure-tools.sh" cargo-cyclonedx
    export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
    (cd "$here/.." && cargo cyclonedx --quiet --format json --spec-version 1.5 \
        --target all --no-build-deps --override-filename thoth-sbom.cdx)
    # Written beside Cargo.toml under the name given.
    made=$(find "$here/.." -maxdepth 1 -name '*thoth-sbom.cdx.json' | head -n 1)
    [ -n "$made" ] || { echo "release-assets: cargo cyclonedx wrote no SBOM" >&2; exit 1; }
    mv "$made" "$dir/thoth-sbom.cdx.json"
    echo "release-assets: wrote $dir/thoth-sbom.cdx.json"
fi

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
(cd "$dir" && find . -maxdepth 1 -type f ! -name checksums.sha256 | sed 's|^\./||' | LC_ALL=C sort |
    while IFS= read -r name; do sha256sum -- "$name"; done) >"$tmp"
chmod 0644 "$tmp"
mv "$tmp" "$dir/checksums.sha256"
trap - EXIT
echo "release-assets: wrote $dir/checksums.sha256 ($(wc -l <"$dir/checksums.sha256" | tr -d ' ') assets)"
