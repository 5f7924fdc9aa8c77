#!/bin/sh
# Jamf Pro Extension Attribute "thoth health": healthy | degraded | unhealthy (empty when thoth is missing).
[ -x /usr/local/bin/thoth ] || { echo "<result></result>"; exit 0; }
exec /usr/local/bin/thoth health --format jamf-ea --field status
