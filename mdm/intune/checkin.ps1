# Intune scheduled check-in (a platform script, run with the logged-on credentials, or a scheduled task):
# one GovAPI check-in now; heartbeats also run while Claude Desktop runs governed servers.
& "$env:ProgramFiles\thoth\thoth.exe" checkin; exit $LASTEXITCODE
