# Intune Remediations, detection script: exit 1 with one line saying
# what needs fixing (Intune keeps the last line, at most 2,048 characters), exit 0 when nothing does.
& "$env:ProgramFiles\Thoth\thoth.exe" health --format intune-remediation-detect; exit $LASTEXITCODE
