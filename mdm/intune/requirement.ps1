# Intune Win32 app requirement script (output data type String, operator Equals, value: claude; runs as
# SYSTEM): install thoth only where the signed-in user has a Claude Desktop config folder. The user's profile
# comes from the ProfileList key of their SID.
# The SID of the user signed in at the console: the Win32_ComputerSystem user translated to a SID, else the
# owner of an explorer.exe (Entra ID accounts do not always translate).
function Get-ConsoleUserSid {
    $name = (Get-CimInstance -ClassName Win32_ComputerSystem).UserName
    if ($name) {
        try {
            return ([System.Security.Principal.NTAccount]$name).Translate([System.Security.Principal.SecurityIdentifier]).Value
        } catch {
            Write-Verbose "cannot translate $name to a SID"
        }
    }
    foreach ($process in @(Get-CimInstance -ClassName Win32_Process -Filter "Name='explorer.exe'")) {
        $owner = Invoke-CimMethod -InputObject $process -MethodName GetOwnerSid
        if ($owner.Sid) { return $owner.Sid }
    }
    return $null
}

# A user's profile folder from HKLM\...\ProfileList\<SID> (ProfileImagePath), read in the 64-bit view. Under
# SYSTEM the environment only knows SYSTEM's own profile.
function Get-ProfilePath([string]$Sid) {
    $path = $null
    $hklm = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    $key = $hklm.OpenSubKey("SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\$Sid")
    if ($key) {
        $path = $key.GetValue('ProfileImagePath')
        $key.Close()
    }
    $hklm.Close()
    return $path
}

$sid = Get-ConsoleUserSid
if (-not $sid) { exit 0 }
$profileDir = Get-ProfilePath $sid
if (-not $profileDir) { exit 0 }
if (Test-Path -LiteralPath (Join-Path $profileDir 'AppData\Roaming\Claude')) { Write-Output 'claude' }
exit 0
