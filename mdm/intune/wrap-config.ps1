# Intune platform / remediation script (runs as SYSTEM): put every stdio MCP server of the signed-in user's
# Claude Desktop config behind thoth. thoth finds the active console session's user itself. Safe to run again:
# a second run with the same values writes nothing. Set $Tenant / $Mode here or leave them empty to use the
# managed settings (HKLM\SOFTWARE\Policies\AtenSecurity\Thoth).
$Tenant = ""
$Mode = ""
$Thoth = Join-Path $env:ProgramFiles "Thoth\thoth.exe"
$flags = @("wrap-config", "--thoth-path", $Thoth)
if ($Tenant) { $flags += @("--tenant-id", $Tenant) }
if ($Mode) { $flags += @("--enforcement-mode", $Mode) }
& $Thoth @flags
exit $LASTEXITCODE
