#!/bin/sh
# Jamf Pro policy script (recurring check-in, run as root): one GovAPI check-in now. Jamf fills $JSSID as the
# endpoint id when the configuration profile sets THOTH_JAMF_COMPUTER_ID; the policy log shows what happened.
exec /usr/local/bin/thoth checkin
