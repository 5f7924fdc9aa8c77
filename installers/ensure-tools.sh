#!/bin/sh
# Install the packaging tools named as arguments when they are missing (idempotent, quiet): the build scripts
# and .ci/run call this, so a clean Debian machine needs nothing set up by hand.
#   Debian: wixl msibuild msiinfo msiextract (msitools, wixl), bsdtar (libarchive-tools), cpio, shellcheck,
#           osslsigncode, openssl; crates.io: mkbom lsbom (stuckliste-cli), cargo-cyclonedx, rcodesign.
set -eu
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
apt_pkgs=""
crates=""
add_crate() { case " $crates " in *" $1 "*) ;; *) crates="$crates $1" ;; esac; }
for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 && continue
    case "$tool" in
        wixl) apt_pkgs="$apt_pkgs wixl" ;;
        msibuild | msiinfo | msiextract) apt_pkgs="$apt_pkgs msitools" ;;
        bsdtar) apt_pkgs="$apt_pkgs libarchive-tools" ;;
        cpio | shellcheck | osslsigncode | openssl) apt_pkgs="$apt_pkgs $tool" ;;
        mkbom | lsbom) add_crate stuckliste-cli@0.4.3 ;;
        cargo-cyclonedx) add_crate cargo-cyclonedx@0.5.9 ;;
        rcodesign) add_crate apple-codesign@0.29.0 ;;
        *) echo "ensure-tools: do not know how to install $tool" >&2; exit 2 ;;
    esac
done
if [ -n "$apt_pkgs" ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "ensure-tools: apt-get install$apt_pkgs" >&2
    # A fresh machine has no package lists yet.
    $sudo apt-get update -qq >/dev/null
    # shellcheck disable=SC2086 # a list of package names
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $apt_pkgs >/dev/null
fi
for crate in $crates; do
    echo "ensure-tools: cargo install $crate" >&2
    cargo install --locked --quiet "${crate%@*}" --version "${crate#*@}"
done
