# Intune Win32 app detection rule (custom script): detected only at this version or newer with a governed
# Claude Desktop config. Prints one line and exits 0 when detected; prints nothing otherwise.
& "$env:ProgramFiles\Thoth\thoth.exe" health --format intune-detect --min-version 0.1.0; exit $LASTEXITCODE
