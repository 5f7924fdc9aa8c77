#!/bin/sh
# Jamf Pro policy script, run as root after the thoth package in the same policy (trigger Enrollment Complete
# and Recurring Check-in, frequency Ongoing): put every stdio MCP server of the console user's Claude Desktop
# config behind thoth, then check in. Safe to repeat: a second run with the same values writes nothing.
# Jamf fills $1 (mount point), $2 (computer name) and $3 (user, login and Self Service policies only).
#   $4  tenant id (--tenant-id; empty: THOTH_TENANT_ID from the managed settings)
#   $5  apex domain (THOTH_APEX_DOMAIN in each wrapped server's env; empty: the managed setting)
#   $6  enforcement mode: observe | block | step_up | progressive (empty: the managed setting)
#   $7  environment: dev | staging | prod (THOTH_ENV in each wrapped server's env; empty: the managed setting)
#   $8  fleet id (THOTH_FLEET_ID in each wrapped server's env; empty: the managed setting)
#   $9  agent id prefix (--agent-id-prefix; empty: the agent ids are the server names)
#   $10 check in after wrapping: yes (default) | no (read as ${10})
#   $11 extra flags for wrap-config, split at spaces, e.g. --only github --exclude scratch (read as ${11})
# Managed values (the configuration profile) win over $5, $7 and $8. Nothing is done, and the log says so,
# when nobody is at the console (_mbsetupuser, root, loginwindow, a uid below 501).
# Exit: wrap-config's (0 done; 1 explained in the policy log). A failed check-in is logged, not fatal.
T="${THOTH_BIN:-/usr/local/bin/thoth}"
tenant="$4"
apex="$5"
mode="$6"
environment="$7"
fleet="$8"
prefix="$9"
checkin="${10}"
extra="${11}"
log() { echo "thoth policy: $*"; }
[ -x "$T" ] || { log "thoth is not installed at $T: add the thoth package to this policy"; exit 1; }
if [ -n "$(find -L "$T" "$(dirname "$T")" -prune \( ! -user 0 -o -perm -g+w -o -perm -o+w \) 2>/dev/null)" ]; then
    log "refusing to run $T as root: it or its folder can be changed by a user other than root (reinstall the package)"
    exit 1
fi

user="${3:-}"
if [ -z "$user" ] && [ "$(uname -s)" = Darwin ]; then
    user=$(stat -f %Su /dev/console 2>/dev/null || true)
    [ -n "$user" ] || user=loginwindow
fi
if [ -n "$user" ]; then
    case "$user" in
        root | _mbsetupuser | loginwindow)
            log "no user at the console ($user): nothing to do; the next check-in retries"
            exit 0
            ;;
    esac
    uid=$(id -u "$user" 2>/dev/null || echo 0)
    if [ "$uid" -lt 501 ]; then
        log "$user has uid $uid (below 501, a system account): nothing to do"
        exit 0
    fi
fi
# (Without a user, off macOS, thoth finds the console user itself.)

set -f # the extra flags are split into words, never globbed
# shellcheck disable=SC2086 # $extra is a list of flags on purpose
"$T" wrap-config ${user:+--for-user "$user"} ${tenant:+--tenant-id "$tenant"} ${mode:+--enforcement-mode "$mode"} \
    ${apex:+--env "THOTH_APEX_DOMAIN=$apex"} ${environment:+--env "THOTH_ENV=$environment"} \
    ${fleet:+--env "THOTH_FLEET_ID=$fleet"} ${prefix:+--agent-id-prefix "$prefix"} --thoth-path "$T" $extra
rc=$?
set +f
[ "$rc" -eq 0 ] || { log "wrap-config failed (exit $rc)"; exit "$rc"; }
case "${checkin:-yes}" in
    no | NO | No | false) ;;
    *) "$T" checkin || log "check-in failed (see above); the heartbeat retries while Claude runs" ;;
esac
exit 0
