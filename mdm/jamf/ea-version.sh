#!/bin/sh
# Jamf Pro Extension Attribute "thoth version": the installed version, empty when thoth is missing.
[ -x /usr/local/bin/thoth ] || { echo "<result></result>"; exit 0; }
exec /usr/local/bin/thoth health --format jamf-ea --field version
