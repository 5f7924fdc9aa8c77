#!/bin/sh
# Jamf Pro policy script (run as root): uninstall thoth. First every user's Claude Desktop config is given
# back (`thoth wrap-config --unwrap`), because Claude cannot start a server whose command is a removed thoth;
# then the binary (and the thoth.previous an update kept) goes and the package receipt is forgotten. Users'
# ~/.thoth folders (audit logs, state) are kept. If any unwrap fails, nothing is removed (exit 1): fix it and
# run the policy again.
#   $4  folder holding the users' homes (optional; default: every local user's home, from dscl)
#   $5  thoth binary (optional; default /usr/local/bin/thoth)
T="${5:-/usr/local/bin/thoth}"
log() { echo "thoth uninstall: $*"; }
CONFIG="Library/Application Support/Claude/claude_desktop_config.json"

homes() {
    if [ -n "${4:-}" ]; then
        for h in "$4"/*; do [ -d "$h" ] && echo "$h"; done
    elif command -v dscl >/dev/null 2>&1; then
        dscl . -list /Users NFSHomeDirectory | awk '{ $1 = ""; sub(/^ /, ""); print }'
    else
        for h in /Users/*; do [ -d "$h" ] && echo "$h"; done
    fi
}

if [ -x "$T" ]; then
    if [ -n "$(find -L "$T" "$(dirname "$T")" -prune \( ! -user 0 -o -perm -g+w -o -perm -o+w \) 2>/dev/null)" ]; then
        log "refusing to run $T as root: it or its folder can be changed by a user other than root"
        exit 1
    fi
    failed=0
    list=$(homes "$@")
    # One home per line; names may hold spaces.
    old_ifs=$IFS
    IFS='
'
    for home in $list; do
        cfg="$home/$CONFIG"
        [ -f "$cfg" ] || continue
        if "$T" wrap-config "$cfg" --unwrap; then
            log "unwrapped $cfg"
        else
            log "could not unwrap $cfg"
            failed=1
        fi
    done
    IFS=$old_ifs
    if [ "$failed" -ne 0 ]; then
        log "a config could not be given back: thoth stays installed so Claude keeps working"
        exit 1
    fi
else
    log "no thoth at $T: no configs to unwrap"
fi

rm -f "$T" "$(dirname "$T")/thoth.previous" "$(dirname "$T")/thothctl"
log "removed $T"
if command -v pkgutil >/dev/null 2>&1; then
    pkgutil --forget com.atensecurity.thoth >/dev/null 2>&1 && log "forgot the package receipt com.atensecurity.thoth"
fi
exit 0
