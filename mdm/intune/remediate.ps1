# Intune Remediations, remediation script (run with the logged-on credentials): govern the user's Claude
# Desktop config, then check in so the console shows it at once.
& "$env:ProgramFiles\thoth\thoth.exe" wrap-config; if ($LASTEXITCODE -eq 0) { & "$env:ProgramFiles\thoth\thoth.exe" checkin }; exit $LASTEXITCODE
