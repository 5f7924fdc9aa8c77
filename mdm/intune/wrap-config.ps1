# Intune platform script (runs as SYSTEM, once): put every stdio MCP server of the signed-in user's Claude
# Desktop config behind thoth. thoth finds the active console session's user itself. Safe to run again: a
# second run with the same values writes nothing. For a recurring run use the remediation pair
# (remediation-detect.ps1 + remediate.ps1). Set $Tenant / $Mode here or leave them empty to use the managed
# settings (HKLM\SOFTWARE\Policies\AtenSecurity\Thoth).
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
exit $LASTEXITCODE
