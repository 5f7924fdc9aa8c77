#!/bin/sh
# Build the macOS flat product archive DIR/thoth-macos-universal.pkg on Linux, without Docker or macOS tools:
# the payload and scripts are gzip'd odc cpio archives (GNU cpio), the Bom comes from mkbom (crates.io
# stuckliste-cli) and bsdtar (libarchive) writes the xar container with its SHA-1 TOC and file checksums.
# Templates and the postinstall are in pkg/.
#
#   installers/build-pkg.sh --binary FILE --version X.Y.Z --out DIR
#                           [--sign-p12 FILE --sign-p12-password-file FILE]   (Developer ID Installer, rcodesign)
set -eu
usage() { echo "usage: $0 --binary FILE --version X.Y.Z --out DIR [--sign-p12 FILE --sign-p12-password-file FILE]" >&2; exit 2; }
binary="" version="" out="" p12="" p12_pass=""
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case "$1" in
        --binary) binary=$2 ;;
        --version) version=$2 ;;
        --out) out=$2 ;;
        --sign-p12) p12=$2 ;;
        --sign-p12-password-file) p12_pass=$2 ;;
        *) usage ;;
    esac
    shift 2
done
if [ -z "$binary" ] || [ -z "$version" ] || [ -z "$out" ]; then usage; fi
[ -f "$binary" ] || { echo "build-pkg: --binary $binary is not a file" >&2; exit 2; }
echo "$version" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' || { echo "build-pkg: --version must be X.Y.Z, not $version" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
pkgsrc="$here/../pkg"
MIN_MACOS=11.0 # the first macOS for arm64, so the first a universal binary needs
sh "$here/ensure-tools.sh" cpio bsdtar mkbom
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"

umask 022
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/root/usr/local/bin" "$stage/scripts" "$stage/flat/thoth.pkg"
chmod 0755 "$stage/root" "$stage/scripts"
cp "$binary" "$stage/root/usr/local/bin/thoth"
chmod 0755 "$stage/root/usr/local/bin/thoth"
cp "$pkgsrc/scripts/postinstall" "$stage/scripts/postinstall"
chmod 0755 "$stage/scripts/postinstall"

# Relative paths, owner 0:0, sorted; gzip -n so the same input gives the same bytes.
cpio_gz() { (cd "$1" && find . | LC_ALL=C sort | cpio -o --format odc --owner 0:0 --quiet | gzip -9n); }
cpio_gz "$stage/root" >"$stage/flat/thoth.pkg/Payload"
cpio_gz "$stage/scripts" >"$stage/flat/thoth.pkg/Scripts"
mkbom -u 0 -g 0 "$stage/root" "$stage/flat/thoth.pkg/Bom"

files=$(cd "$stage/root" && find . | wc -l | tr -d ' ')
kbytes=$(du -sk "$stage/root" | cut -f1)
sed -e "s/@VERSION@/$version/g" -e "s/@FILES@/$files/g" -e "s/@KBYTES@/$kbytes/g" \
    "$pkgsrc/PackageInfo.xml.in" >"$stage/flat/thoth.pkg/PackageInfo"
sed -e "s/@VERSION@/$version/g" -e "s/@MIN_MACOS@/$MIN_MACOS/g" \
    "$pkgsrc/Distribution.xml.in" >"$stage/flat/Distribution"

pkg="$out/thoth-macos-universal.pkg"
rm -f "$pkg"
(cd "$stage/flat" && bsdtar --format xar --options xar:compression=none,xar:toc-checksum=sha1 \
    --uid 0 --gid 0 --uname root --gname wheel -cf "$pkg" Distribution thoth.pkg)

if [ -n "$p12" ]; then
    [ -n "$p12_pass" ] || { echo "build-pkg: --sign-p12 needs --sign-p12-password-file" >&2; exit 2; }
    sh "$here/ensure-tools.sh" rcodesign
    rcodesign sign --p12-file "$p12" --p12-password-file "$p12_pass" "$pkg" "$pkg.signed"
    mv "$pkg.signed" "$pkg"
fi
echo "build-pkg: wrote $pkg ($(wc -c <"$pkg" | tr -d ' ') bytes, version $version)"
