<#
.SYNOPSIS
    Builds dist\Tunnelkeeper-Setup-<version>.exe: the frozen app in a per-user Inno Setup installer.

.DESCRIPTION
    From a checkout, in Windows PowerShell 5.1 or PowerShell 7:

        powershell -ExecutionPolicy Bypass -File build\windows\build.ps1

    1. makes (or reuses) the venv and installs the app with its "dist" extra (PyInstaller);
    2. freezes it with pyinstaller.spec into dist\tunnelkeeper\ (Tunnelkeeper.exe, the tray app,
       and tunnelkeeper-cli.exe, its console twin);
    3. smoke-tests the frozen CLI: --version must name this version, --self-test must pass;
    4. signs both executables when a certificate is configured (see below);
    5. compiles build\windows\installer.iss with Inno Setup 6.3+ (ISCC.exe on PATH or in the
       usual install folders); when signing, ISCC signs the setup and its uninstaller.

    Code signing is optional; without it the build says so and goes on. Configure one of:
      TUNNELKEEPER_SIGN_THUMBPRINT  SHA-1 thumbprint of a code-signing certificate already in
                                    the CurrentUser\My store (a hardware token, for example)
      TUNNELKEEPER_SIGN_PFX         path to a .pfx file, with TUNNELKEEPER_SIGN_PASSWORD; it is
                                    imported into CurrentUser\My for the build, taken out after
      TUNNELKEEPER_SIGN_TIMESTAMP_URL  RFC 3161 timestamp server (default: DigiCert's)

.PARAMETER Python
    The interpreter that creates the venv: 64-bit CPython 3.11 or later.

.PARAMETER Venv
    The venv to build in (relative to the repository root unless absolute).
#>
[CmdletBinding()]
param(
    [string]$Python = 'python',
    [string]$Venv = '.venv'
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$Root = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path
$Dist = Join-Path $Root 'dist'
$Frozen = Join-Path $Dist 'tunnelkeeper'
# pyinstaller.spec draws the icons there (build\icons.py); the setup uses the same .ico
$Icon = Join-Path $Root '.pyinstaller\icons\tunnelkeeper.ico'
$TimestampUrl = if ($env:TUNNELKEEPER_SIGN_TIMESTAMP_URL) { $env:TUNNELKEEPER_SIGN_TIMESTAMP_URL } else { 'http://timestamp.digicert.com' }

function Invoke-Native {
    # Runs a program and stops the build if it fails: $ErrorActionPreference does not cover
    # exit codes of native programs. The message names the program only, never its
    # arguments, so nothing secret reaches the log.
    param(
        [Parameter(Mandatory = $true)][string]$FilePath,
        [string[]]$ArgumentList = @()
    )
    # Windows PowerShell 5.1 turns anything a program writes to stderr (pip's notices,
    # PyInstaller's log) into errors when output is redirected; the exit code decides here.
    $ErrorActionPreference = 'Continue'
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) {
        throw "$(Split-Path -Leaf $FilePath) failed (exit code $LASTEXITCODE)"
    }
}

function Get-AppVersion {
    $init = Get-Content -Raw -Path (Join-Path $Root 'app\__init__.py')
    $match = [regex]::Match($init, '(?m)^__version__ = "([^"]+)"')
    if (-not $match.Success) { throw 'app\__init__.py has no __version__ line' }
    return $match.Groups[1].Value
}

function Find-SignTool {
    $onPath = Get-Command 'signtool.exe' -ErrorAction SilentlyContinue
    if ($onPath) { return $onPath.Source }
    # The Windows SDK does not put signtool on PATH; take the newest x64 one it installed.
    $kits = Join-Path ${env:ProgramFiles(x86)} 'Windows Kits\10\bin'
    $newest = Get-ChildItem -Path $kits -Filter 'signtool.exe' -Recurse -ErrorAction SilentlyContinue |
        Where-Object { $_.Directory.Name -eq 'x64' } |
        Sort-Object -Descending -Property @{ Expression = {
            $sdk = $null
            if ([version]::TryParse($_.Directory.Parent.Name, [ref]$sdk)) { $sdk } else { [version]'0.0' }
        } } |
        Select-Object -First 1
    if (-not $newest) { throw 'signtool.exe not found: install the Windows SDK signing tools' }
    return $newest.FullName
}

function Find-Iscc {
    $onPath = Get-Command 'ISCC.exe' -ErrorAction SilentlyContinue
    if ($onPath) { return $onPath.Source }
    $bases = @(${env:ProgramFiles(x86)}, $env:ProgramFiles, (Join-Path $env:LOCALAPPDATA 'Programs'))
    $found = foreach ($base in $bases) {
        if ($base -and (Test-Path $base)) {
            Get-ChildItem -Path $base -Directory -Filter 'Inno Setup *' -ErrorAction SilentlyContinue |
                ForEach-Object { Join-Path $_.FullName 'ISCC.exe' } |
                Where-Object { Test-Path $_ }
        }
    }
    $newest = $found | Sort-Object -Descending | Select-Object -First 1
    if (-not $newest) {
        throw 'ISCC.exe not found: install Inno Setup 6.3 or later (https://jrsoftware.org/isdl.php, or "choco install innosetup") or put ISCC.exe on PATH'
    }
    return $newest
}

function Import-SigningPfx {
    # Imports the .pfx into CurrentUser\My and returns the certificate, so that signtool and
    # ISCC sign by thumbprint and the password never appears on a command line (ISCC prints
    # its sign commands into the build log).
    param([Parameter(Mandatory = $true)][string]$Path)
    if (-not (Test-Path $Path)) { throw "TUNNELKEEPER_SIGN_PFX names a file that does not exist: $Path" }
    $password = New-Object System.Security.SecureString
    if ($env:TUNNELKEEPER_SIGN_PASSWORD) {
        $password = ConvertTo-SecureString -String $env:TUNNELKEEPER_SIGN_PASSWORD -AsPlainText -Force
    }
    $flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]'UserKeySet, PersistKeySet'
    $certificate = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList @((Resolve-Path $Path).Path, $password, $flags)
    $store = New-Object System.Security.Cryptography.X509Certificates.X509Store -ArgumentList @('My', 'CurrentUser')
    $store.Open('ReadWrite')
    try { $store.Add($certificate) } finally { $store.Close() }
    return $certificate
}

function Remove-SigningCertificate {
    param([Parameter(Mandatory = $true)]$Certificate)
    $store = New-Object System.Security.Cryptography.X509Certificates.X509Store -ArgumentList @('My', 'CurrentUser')
    $store.Open('ReadWrite')
    try { $store.Remove($Certificate) } finally { $store.Close() }
}

function Invoke-Sign {
    param([Parameter(Mandatory = $true)][string[]]$Files)
    Invoke-Native $script:SignTool (@('sign', '/sha1', $script:Thumbprint, '/fd', 'sha256', '/tr', $TimestampUrl, '/td', 'sha256', '/d', 'Tunnelkeeper') + $Files)
    Invoke-Native $script:SignTool (@('verify', '/pa') + $Files)
}

$Version = Get-AppVersion
Write-Host "Building the Tunnelkeeper $Version setup"
# as copied from the certificate dialog: spaces (and the odd invisible mark) removed
$script:Thumbprint = $env:TUNNELKEEPER_SIGN_THUMBPRINT -replace '[^0-9A-Fa-f]', ''
$script:SignTool = $null
$importedCertificate = $null

Push-Location $Root
try {
    # --- the build venv -------------------------------------------------------------------
    $venvDir = [System.IO.Path]::Combine($Root, $Venv)
    $venvPython = Join-Path $venvDir 'Scripts\python.exe'
    if (-not (Test-Path $venvPython)) {
        Invoke-Native $Python @('-m', 'venv', $venvDir)
    }
    # The setup declares x64; a 32-bit interpreter would freeze a 32-bit app.
    Invoke-Native $venvPython @('-c', "import struct, sys; sys.exit(struct.calcsize('P') != 8)")
    Invoke-Native $venvPython @('-m', 'pip', 'install', '--quiet', '--upgrade', 'pip')
    # editable, like the Makefile's dev install, so a developer's venv keeps following the checkout
    Invoke-Native $venvPython @('-m', 'pip', 'install', '--quiet', '--editable', '.[dist]')

    # --- freeze -----------------------------------------------------------------------------
    # PyInstaller's work files stay in .pyinstaller\ (build\ holds these scripts).
    Invoke-Native $venvPython @('-m', 'PyInstaller', '--noconfirm', '--clean', '--workpath', '.pyinstaller\work', '--distpath', 'dist', 'pyinstaller.spec')
    $app = Join-Path $Frozen 'Tunnelkeeper.exe'
    $cli = Join-Path $Frozen 'tunnelkeeper-cli.exe'
    foreach ($exe in @($app, $cli, $Icon)) {
        if (-not (Test-Path $exe)) { throw "PyInstaller did not produce $exe" }
    }

    # --- smoke test: the console twin runs the same code as the tray app -----------------
    $reported = (& $cli --version | Out-String).Trim()
    if ($LASTEXITCODE -ne 0) { throw "tunnelkeeper-cli.exe --version failed (exit code $LASTEXITCODE)" }
    if ($reported -ne "tunnelkeeper $Version") {
        throw "tunnelkeeper-cli.exe --version says '$reported', expected 'tunnelkeeper $Version'"
    }
    $savedPlatform = $env:QT_QPA_PLATFORM
    $env:QT_QPA_PLATFORM = 'offscreen'  # no window may open on a build machine
    try {
        Invoke-Native $cli @('--self-test')
    } finally {
        $env:QT_QPA_PLATFORM = $savedPlatform
    }

    # --- sign the executables -------------------------------------------------------------
    if (-not $script:Thumbprint -and $env:TUNNELKEEPER_SIGN_PFX) {
        $importedCertificate = Import-SigningPfx -Path $env:TUNNELKEEPER_SIGN_PFX
        $script:Thumbprint = $importedCertificate.Thumbprint
    }
    if ($script:Thumbprint) {
        $script:SignTool = Find-SignTool
        Invoke-Sign -Files @($app, $cli)
    } else {
        Write-Host 'unsigned: set TUNNELKEEPER_SIGN_PFX and TUNNELKEEPER_SIGN_PASSWORD (or TUNNELKEEPER_SIGN_THUMBPRINT) to sign the executables and the setup'
    }

    # --- the setup --------------------------------------------------------------------------
    $iscc = Find-Iscc
    $isccArgs = @("/DAppVersion=$Version", "/DFrozenDir=$Frozen", "/DOutputDir=$Dist", "/DIconFile=$Icon")
    if ($script:Thumbprint) {
        # $q and $f are ISCC's own placeholders (a quote, the file to sign), hence the
        # single-quoted template.
        $signCommand = '$q{0}$q sign /sha1 {1} /fd sha256 /tr {2} /td sha256 /d Tunnelkeeper $f' -f $script:SignTool, $script:Thumbprint, $TimestampUrl
        $isccArgs += @('/DSignToolName=tunnelkeeper', "/Stunnelkeeper=$signCommand")
    }
    $isccArgs += (Join-Path $PSScriptRoot 'installer.iss')
    Invoke-Native $iscc $isccArgs

    $setup = Join-Path $Dist "Tunnelkeeper-Setup-$Version.exe"
    if (-not (Test-Path $setup)) { throw "ISCC did not produce $setup" }
    if ($script:Thumbprint) {
        Invoke-Native $script:SignTool @('verify', '/pa', $setup)
    }
    Write-Host "Built $setup"
} finally {
    if ($importedCertificate) { Remove-SigningCertificate -Certificate $importedCertificate }
    Pop-Location
}
