# Intune Remediations, check-in pair, detection script (runs as SYSTEM): exit 0 when the scheduled task
# "\AtenSecurity\Thoth check-in" exists and runs the installed thoth.exe; else exit 1 (checkin-task-remediate.ps1
# then creates it). Not installed: exit 0.
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
if (-not (Test-Path -LiteralPath $exe)) {
    Write-Output "ok: thoth is not installed at $exe"
    exit 0
}
$task = Get-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -ErrorAction SilentlyContinue
if (-not $task) {
    Write-Output "no scheduled task $TaskPath$TaskName"
    exit 1
}
$action = @($task.Actions)[0]
if ($action.Execute -ne $exe) {
    Write-Output "the task runs $($action.Execute), not $exe"
    exit 1
}
Write-Output "ok: $TaskPath$TaskName runs $exe"
exit 0
