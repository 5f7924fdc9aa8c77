#!/bin/sh
# Regenerate the MDM settings files from schemas/managed-settings.schema.json: the Jamf profile and manifest
# (mdm/jamf/com.atensecurity.thoth.*) and the Intune ADMX/ADML (mdm/intune/admx/). `--check` changes nothing
# and exits 1 when a committed file is out of date (the tests run that).
set -eu
cd "$(dirname "$0")/.."
exec cargo run --quiet --locked --example gen-mdm -- "$@"
