# Intune Win32 app requirement script (output type: String, operator: Equals, value: claude): install thoth
# only where Claude Desktop keeps its config for the signed-in user.
if (Test-Path "$env:APPDATA\Claude") { Write-Output "claude" }
