#!/bin/sh
# Jamf Pro policy script (run as root): govern the console user's Claude Desktop config, then report at once.
/usr/local/bin/thoth wrap-config && exec /usr/local/bin/thoth checkin
