# Intune Win32 app uninstall command (powershell.exe -ExecutionPolicy Bypass -File .\uninstall.ps1, packaged
# in the .intunewin beside the MSI; runs as SYSTEM). First every user's Claude Desktop config is given back
# (thoth.exe wrap-config --unwrap), because Claude cannot start a server whose command is a removed
# thoth.exe; only then is the MSI removed with msiexec /x. The installed ProductCode changes with every
# version, so it is looked up from the UpgradeCode, which never changes. If an unwrap fails nothing is
# removed (exit 1): fix it and run again. Users' thoth folders (audit logs) are kept.
$UpgradeCode = '{604E46F8-9990-4BD1-81ED-A53D29E06D91}'
$TaskPath = '\AtenSecurity\'
$TaskName = 'Thoth check-in'

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
$failed = $false
if (Test-Path -LiteralPath $exe) {
    $hklm = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    $list = $hklm.OpenSubKey('SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList')
    foreach ($sid in @($list.GetSubKeyNames())) {
        $key = $list.OpenSubKey($sid)
        $profileDir = $key.GetValue('ProfileImagePath')
        $key.Close()
        if (-not $profileDir) { continue }
        $config = Join-Path $profileDir 'AppData\Roaming\Claude\claude_desktop_config.json'
        if (-not (Test-Path -LiteralPath $config)) { continue }
        & $exe wrap-config --unwrap $config
        if ($LASTEXITCODE -ne 0) {
            Write-Output "could not unwrap $config"
            $failed = $true
        }
    }
    $list.Close()
    $hklm.Close()
}
if ($failed) {
    Write-Output 'a config could not be given back: thoth stays installed so Claude keeps working'
    exit 1
}
Unregister-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -Confirm:$false -ErrorAction SilentlyContinue
$installer = New-Object -ComObject WindowsInstaller.Installer
$rc = 0
foreach ($code in @($installer.RelatedProducts($UpgradeCode))) {
    $p = Start-Process -FilePath msiexec.exe -ArgumentList "/x $code /qn /norestart" -Wait -PassThru
    Write-Output "msiexec /x $code exited $($p.ExitCode)"
    if (($p.ExitCode -ne 0) -and ($p.ExitCode -ne 3010)) { $rc = $p.ExitCode }
}
exit $rc
