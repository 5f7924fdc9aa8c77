# One GovAPI check-in now, saved to the signed-in user's thoth state (a platform script runs once; the
# recurring check-in is the scheduled task that checkin-task-remediate.ps1 creates). Heartbeats also run
# while Claude Desktop runs governed servers.

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
& $exe checkin
exit $LASTEXITCODE
