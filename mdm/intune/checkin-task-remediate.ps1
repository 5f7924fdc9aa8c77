# Intune Remediations, check-in pair, remediation script (runs as SYSTEM): create (or fix) the scheduled task
# "\AtenSecurity\Thoth check-in" that runs `thoth.exe checkin` as SYSTEM every hour and at startup; thoth
# checks in for the signed-in user. $IntervalMinutes sets the period.
$IntervalMinutes = 60
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
$action = New-ScheduledTaskAction -Execute $exe -Argument 'checkin'
$triggers = @(
    (New-ScheduledTaskTrigger -Once -At (Get-Date).AddMinutes(5) -RepetitionInterval (New-TimeSpan -Minutes $IntervalMinutes)),
    (New-ScheduledTaskTrigger -AtStartup)
)
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -StartWhenAvailable -MultipleInstances IgnoreNew -ExecutionTimeLimit (New-TimeSpan -Minutes 10)
Register-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -Action $action -Trigger $triggers -Principal $principal -Settings $settings -Force | Out-Null
Write-Output "created $TaskPath$TaskName running $exe checkin every $IntervalMinutes minutes"
exit 0
