# Intune Remediations, governance pair, detection script (runs as SYSTEM; thoth reports on the signed-in
# user): exit 1 with one last line saying what needs fixing (Intune keeps it, at most 2,048 characters), so
# remediate.ps1 runs; exit 0 with "ok: ..." when nothing does. Not installed: exit 0 (nothing to remediate;
# the Win32 app installs it).

# Where the MSI put thoth.exe: InstallDir from the 64-bit registry view, else ProgramW6432\Thoth. Intune runs
# scripts in a 32-bit PowerShell by default, where the ProgramFiles variable and the registry's default view
# point at the 32-bit locations.
function Get-ThothExe {
    $dir = $null
    $hklm = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    $key = $hklm.OpenSubKey('SOFTWARE\AtenSecurity\Thoth\Installer')
    if ($key) {
        $dir = $key.GetValue('InstallDir')
        $key.Close()
    }
    $hklm.Close()
    if (-not $dir) { $dir = Join-Path $env:ProgramW6432 'Thoth' }
    return (Join-Path $dir 'thoth.exe')
}

$exe = Get-ThothExe
if (-not (Test-Path -LiteralPath $exe)) {
    Write-Output "ok: thoth is not installed at $exe"
    exit 0
}
& $exe health --format intune-remediation-detect
exit $LASTEXITCODE
