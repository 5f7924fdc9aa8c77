#!/bin/sh
# Jamf Pro Extension Attribute "thoth governed": true when no Claude Desktop stdio server runs outside thoth.
[ -x /usr/local/bin/thoth ] || { echo "<result></result>"; exit 0; }
exec /usr/local/bin/thoth health --format jamf-ea --field governed
