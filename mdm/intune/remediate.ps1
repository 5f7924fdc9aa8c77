# Intune Remediations, remediation script: govern the user's Claude
# Desktop config, then check in so the console shows it at once.
& "$env:ProgramFiles\Thoth\thoth.exe" wrap-config; if ($LASTEXITCODE -eq 0) { & "$env:ProgramFiles\Thoth\thoth.exe" checkin }; exit $LASTEXITCODE
