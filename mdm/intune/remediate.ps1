# Intune Remediations, governance pair, remediation script (runs as SYSTEM): put the signed-in user's Claude
# Desktop servers behind thoth (thoth finds the console user itself), then check in so the console shows it
# at once. Safe to repeat. Set $Tenant / $Mode, or leave them empty for the managed settings
# (HKLM\SOFTWARE\Policies\AtenSecurity\Thoth, the ADMX in admx\).
$Tenant = ''
$Mode = ''

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
$flags = @('wrap-config', '--thoth-path', $exe)
if ($Tenant) { $flags += @('--tenant-id', $Tenant) }
if ($Mode) { $flags += @('--enforcement-mode', $Mode) }
& $exe @flags
$rc = $LASTEXITCODE
if ($rc -ne 0) { exit $rc }
& $exe checkin
if ($LASTEXITCODE -ne 0) { Write-Output 'wrapped; the check-in failed (the heartbeat retries while Claude runs)' }
exit 0
