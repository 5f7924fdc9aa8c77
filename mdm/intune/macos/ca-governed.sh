#!/bin/sh
# Intune custom attribute for macOS (Devices > macOS > Custom attributes, data type String): true when no Claude Desktop stdio server runs outside thoth, else false.
# Intune reads the bare value from stdout (no <result> tags): one line, exit 0; empty when thoth is missing or
# cannot be trusted (not root-owned, or in a folder others can write: the script runs as root).
T="${THOTH_BIN:-/usr/local/bin/thoth}"
empty() { echo "$1" >&2; echo ""; exit 0; }
[ -x "$T" ] || empty "thoth is not installed at $T"
if [ -n "$(find -L "$T" "$(dirname "$T")" -prune \( ! -user 0 -o -perm -g+w -o -perm -o+w \) 2>/dev/null)" ]; then
    empty "refusing to run $T: it or its folder can be changed by a user other than root"
fi
line=$("$T" health --format jamf-ea --field governed 2>/dev/null | tail -n 1)
case "$line" in
    "<result>"*"</result>") line=${line#<result>}; echo "${line%</result>}" ;;
    *) empty "thoth health gave no result" ;;
esac
exit 0
