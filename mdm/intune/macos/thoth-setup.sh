#!/bin/sh
# Intune shell script for macOS (Devices > macOS > Shell scripts; Run script as signed-in user: No, so it runs
# as root; frequency: every 1 day; retries: 3), deployed with the thoth package (Apps > macOS > line-of-business
# app). Puts every stdio MCP server of the console user's Claude Desktop config behind thoth, then checks in.
# Safe to repeat. Intune passes no parameters: set the values below, or leave them empty to use the managed
# settings (a configuration profile for the com.atensecurity.thoth domain, mdm/jamf/*.mobileconfig).
TENANT=""   # --tenant-id
MODE=""     # --enforcement-mode: observe | block | step_up | progressive
CHECKIN=yes # check in after wrapping: yes | no
T="${THOTH_BIN:-/usr/local/bin/thoth}"
log() { echo "thoth setup: $*"; }
[ -x "$T" ] || { log "thoth is not installed at $T"; exit 1; }
if [ -n "$(find -L "$T" "$(dirname "$T")" -prune \( ! -user 0 -o -perm -g+w -o -perm -o+w \) 2>/dev/null)" ]; then
    log "refusing to run $T as root: it or its folder can be changed by a user other than root"
    exit 1
fi
user=""
if [ "$(uname -s)" = Darwin ]; then
    user=$(stat -f %Su /dev/console 2>/dev/null || true)
    case "$user" in
        "" | root | _mbsetupuser | loginwindow)
            log "no user at the console (${user:-none}): nothing to do; the next run retries"
            exit 0
            ;;
    esac
    uid=$(id -u "$user" 2>/dev/null || echo 0)
    if [ "$uid" -lt 501 ]; then
        log "$user has uid $uid (below 501, a system account): nothing to do"
        exit 0
    fi
fi
"$T" wrap-config ${user:+--for-user "$user"} ${TENANT:+--tenant-id "$TENANT"} ${MODE:+--enforcement-mode "$MODE"} --thoth-path "$T" || exit $?
if [ "$CHECKIN" = yes ]; then
    "$T" checkin || log "check-in failed (see above); the heartbeat retries while Claude runs"
fi
exit 0
