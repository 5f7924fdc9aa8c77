#!/bin/sh
# Jamf Pro policy script (trigger Recurring Check-in, frequency Ongoing, run as root): one GovAPI check-in now,
# for the console user's ~/.thoth/state. The endpoint id is $JSSID when the configuration profile sets
# THOTH_JAMF_COMPUTER_ID; the policy log shows what happened. No parameters.
T="${THOTH_BIN:-/usr/local/bin/thoth}"
[ -x "$T" ] || { echo "thoth policy: thoth is not installed at $T"; exit 1; }
if [ -n "$(find -L "$T" "$(dirname "$T")" -prune \( ! -user 0 -o -perm -g+w -o -perm -o+w \) 2>/dev/null)" ]; then
    echo "thoth policy: refusing to run $T as root: it or its folder can be changed by a user other than root"
    exit 1
fi
exec "$T" checkin
