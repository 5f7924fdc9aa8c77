#!/bin/sh
# Jamf Pro Extension Attribute "thoth health" (Data Type: String, Input Type: Script): healthy | degraded | unhealthy.
# Prints exactly one <result>...</result> line and exits 0, also when thoth is missing or cannot be trusted
# (not root-owned, or in a folder others can write: an EA runs as root), which leave it empty (stderr says why).
T="${THOTH_BIN:-/usr/local/bin/thoth}"
empty() { echo "$1" >&2; echo "<result></result>"; exit 0; }
[ -x "$T" ] || empty "thoth is not installed at $T"
if [ -n "$(find -L "$T" "$(dirname "$T")" -prune \( ! -user 0 -o -perm -g+w -o -perm -o+w \) 2>/dev/null)" ]; then
    empty "refusing to run $T: it or its folder can be changed by a user other than root"
fi
line=$("$T" health --format jamf-ea --field status 2>/dev/null | tail -n 1)
case "$line" in
    "<result>"*"</result>") echo "$line" ;;
    *) empty "thoth health gave no result" ;;
esac
exit 0
