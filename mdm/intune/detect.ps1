# Intune Win32 app detection rule (Use a custom detection script; Run script as 32-bit process on 64-bit
# clients: No or Yes, both work). Decides on the installed version only: detected (one line on stdout,
# exit 0) when thoth.exe reports $PackagedVersion or newer, else nothing on stdout and exit 1. What thoth
# does for users (wrapping, reporting) belongs to the remediation pair, never to detection: right after
# the install, and during Autopilot's ESP, nothing is set up yet, and Intune would call the install failed.
$PackagedVersion = '0.1.0' # set to the version of the MSI this Win32 app installs

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
if (-not (Test-Path -LiteralPath $exe)) { exit 1 }
$line = & $exe --version 2>$null | Select-Object -First 1
if ($LASTEXITCODE -ne 0) { exit 1 }
if ("$line" -notmatch '(\d+)\.(\d+)\.(\d+)') { exit 1 }
$installed = [version]('{0}.{1}.{2}' -f $Matches[1], $Matches[2], $Matches[3])
if ($installed -ge [version]$PackagedVersion) {
    Write-Output "thoth $installed"
    exit 0
}
exit 1
