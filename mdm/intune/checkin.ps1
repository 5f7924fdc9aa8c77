# Intune scheduled check-in (a platform script or a scheduled task):
# one GovAPI check-in now; heartbeats also run while Claude Desktop runs governed servers.
& "$env:ProgramFiles\Thoth\thoth.exe" checkin; exit $LASTEXITCODE
