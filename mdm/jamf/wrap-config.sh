#!/bin/sh
# Jamf Pro policy script: put every stdio MCP server of the console user's Claude Desktop config behind thoth.
# Safe to run at every check-in: a second run with the same values writes nothing (see README, wrap-config).
#   $3  the user Jamf names (login / Self Service policies); empty: thoth finds the console user itself
#   $4  tenant id (optional: else THOTH_TENANT_ID from the managed settings)
#   $5  enforcement mode: observe | step_up | progressive | block (optional: else the managed setting)
#   $6  thoth binary (optional: /usr/local/bin/thoth)
# Exit: thoth's (0 done, 1 explained on stderr, which Jamf keeps in the policy log).
THOTH="${6:-/usr/local/bin/thoth}"
exec "$THOTH" wrap-config ${3:+--for-user "$3"} ${4:+--tenant-id "$4"} ${5:+--enforcement-mode "$5"} --thoth-path "$THOTH"
