#!/bin/sh
# Jamf Pro Extension Attribute "thoth last check-in" (Data Type: Date): YYYY-MM-DD hh:mm:ss UTC, empty if never.
[ -x /usr/local/bin/thoth ] || { echo "<result></result>"; exit 0; }
exec /usr/local/bin/thoth health --format jamf-ea --field last_checkin
