#!/bin/sh
# Build the per-machine x64 Windows installer DIR/thoth-windows-x86_64.msi on Linux: wixl (msitools) compiles
# wix/thoth.wxs, then msibuild adds the Environment table (system PATH) that wixl cannot write. Optionally
# signs it with Authenticode (osslsigncode).
#
#   installers/build-msi.sh --binary FILE --version X.Y.Z --out DIR
#        [--sign-cert PEM --sign-key PEM | --sign-pkcs12 FILE [--sign-pass-file FILE]] [--timestamp-url URL]
set -eu
usage() {
    echo "usage: $0 --binary FILE --version X.Y.Z --out DIR [--sign-cert PEM --sign-key PEM | --sign-pkcs12 FILE [--sign-pass-file FILE]] [--timestamp-url URL]" >&2
    exit 2
}
binary="" version="" out="" cert="" key="" p12="" pass="" tsa=""
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case "$1" in
        --binary) binary=$2 ;;
        --version) version=$2 ;;
        --out) out=$2 ;;
        --sign-cert) cert=$2 ;;
        --sign-key) key=$2 ;;
        --sign-pkcs12) p12=$2 ;;
        --sign-pass-file) pass=$2 ;;
        --timestamp-url) tsa=$2 ;;
        *) usage ;;
    esac
    shift 2
done
if [ -z "$binary" ] || [ -z "$version" ] || [ -z "$out" ]; then usage; fi
[ -f "$binary" ] || { echo "build-msi: --binary $binary is not a file" >&2; exit 2; }
echo "$version" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' || { echo "build-msi: --version must be X.Y.Z, not $version" >&2; exit 2; }
if [ -n "$cert$key" ] && { [ -z "$cert" ] || [ -z "$key" ]; }; then
    echo "build-msi: --sign-cert and --sign-key go together" >&2
    exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
sh "$here/ensure-tools.sh" wixl msibuild
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$binary" "$stage/thoth.exe"
msi="$stage/thoth-windows-x86_64.msi"
# wixl looks for File/@Source in the current folder.
(cd "$stage" && wixl -a x64 -D Version="$version" -o "$msi" "$here/../wix/thoth.wxs")

# Environment: "=-*PATH" appends (the "[~];" prefix keeps the current PATH) to the system (*) PATH at install
# and removes the entry at uninstall (-). Sequence numbers are the standard ones.
q() { printf '%s' "$1" | sed 's/"/`/g'; }
msibuild "$msi" \
    -q "$(q 'CREATE TABLE "Environment" ("Environment" CHAR(72) NOT NULL, "Name" CHAR(64) NOT NULL LOCALIZABLE, "Value" CHAR(255) LOCALIZABLE, "Component_" CHAR(72) NOT NULL PRIMARY KEY "Environment")')" \
    -q "$(q "INSERT INTO \"Environment\" (\"Environment\", \"Name\", \"Value\", \"Component_\") VALUES ('ThothPath', '=-*PATH', '[~];[INSTALLDIR]', 'ThothMachine')")" \
    -q "$(q "INSERT INTO \"InstallExecuteSequence\" (\"Action\", \"Sequence\") VALUES ('RemoveEnvironmentStrings', 3300)")" \
    -q "$(q "INSERT INTO \"InstallExecuteSequence\" (\"Action\", \"Sequence\") VALUES ('WriteEnvironmentStrings', 5200)")"

if [ -n "$cert$p12" ]; then
    sh "$here/ensure-tools.sh" osslsigncode
    set -- -n "Thoth $version" -i https://atensecurity.com -h sha256
    if [ -n "$p12" ]; then
        set -- "$@" -pkcs12 "$p12"
        [ -z "$pass" ] || set -- "$@" -readpass "$pass"
    else
        set -- "$@" -certs "$cert" -key "$key"
    fi
    [ -z "$tsa" ] || set -- "$@" -ts "$tsa"
    osslsigncode sign "$@" -in "$msi" -out "$msi.signed" >/dev/null
    mv "$msi.signed" "$msi"
fi
mv "$msi" "$out/thoth-windows-x86_64.msi"
echo "build-msi: wrote $out/thoth-windows-x86_64.msi ($(wc -c <"$out/thoth-windows-x86_64.msi" | tr -d ' ') bytes, version $version)"
