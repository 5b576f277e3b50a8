; Tunnelkeeper's Windows setup, for Inno Setup 6.3 or later. build\windows\build.ps1 compiles it
; after PyInstaller has frozen the app into dist\tunnelkeeper\:
;
;   ISCC /DAppVersion=0.1.0 /DFrozenDir=C:\src\tunnelkeeper\dist\tunnelkeeper build\windows\installer.iss
;
; A per-user install: no administrator prompt, files under %LOCALAPPDATA%\Programs\Tunnelkeeper,
; a Start-menu shortcut, and start-at-login through the very Run value the app's own setting
; writes (app/platform/autostart.py: RUN_KEY, RUN_VALUE), so the two never disagree.
;
; The folder holds Tunnelkeeper.exe (the tray app, no console; what the shortcut and the Run
; value start) and tunnelkeeper-cli.exe, its console twin built from the same code, for
; --version, --self-test and the command line (tunnelkeeper-cli.exe status, ... run NAME).
; The install folder is deliberately not added to PATH: the tray app needs no PATH entry, and
; people who script the CLI call it by its full path.

#if VER < EncodeVer(6, 3, 0)
  #error Inno Setup 6.3 or later is needed (ArchitecturesAllowed=x64compatible)
#endif

#define AppName "Tunnelkeeper"
#define AppExeName "Tunnelkeeper.exe"
#define CliExeName "tunnelkeeper-cli.exe"
; Start at login: the same key and value name as app/platform/autostart.py.
#define RunKey "Software\Microsoft\Windows\CurrentVersion\Run"
#define RunValueName "Tunnelkeeper"

; Paths default to the repository layout around this script; build.ps1 passes absolute ones.
#ifndef FrozenDir
  #define FrozenDir AddBackslash(SourcePath) + "..\..\dist\tunnelkeeper"
#endif
#ifndef OutputDir
  #define OutputDir AddBackslash(SourcePath) + "..\..\dist"
#endif
#ifndef IconFile
  ; drawn from resources\icons\tunnelkeeper.svg by build\icons.py while pyinstaller.spec runs
  #define IconFile AddBackslash(SourcePath) + "..\..\.pyinstaller\icons\tunnelkeeper.ico"
#endif

#define AppExe AddBackslash(FrozenDir) + AppExeName
#if !FileExists(AppExe)
  #error The frozen app is missing: run build\windows\build.ps1 (or PyInstaller) first, or pass /DFrozenDir=<folder holding Tunnelkeeper.exe>
#endif
#if !FileExists(AddBackslash(FrozenDir) + CliExeName)
  #error tunnelkeeper-cli.exe is missing from the frozen app: pyinstaller.spec builds both executables on Windows
#endif
; The version resource pyinstaller.spec stamps on the executable (build\windows\version_info.py)
; is the single source of truth: a version passed on the command line must match it, which
; catches a setup compiled around a stale dist\ folder.
#define BuiltVersion GetStringFileInfo(AppExe, "ProductVersion")
#if BuiltVersion == ""
  #error Tunnelkeeper.exe carries no version resource: rebuild it with pyinstaller.spec
#endif
#ifndef AppVersion
  #define AppVersion BuiltVersion
#endif
#if AppVersion != BuiltVersion
  #error /DAppVersion differs from the version built into Tunnelkeeper.exe: rebuild dist\tunnelkeeper
#endif

[Setup]
; Never change AppId: it is how a new version finds (and upgrades) the installed one.
AppId={{986BB9CD-0D0B-497F-A225-AC3F2977C2C0}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Tunnelkeeper
AppCopyright=Copyright (C) Tunnelkeeper contributors. MIT License.
VersionInfoVersion={#GetVersionNumbersString(AppExe)}
VersionInfoProductTextVersion={#AppVersion}
; Per user, without elevation: the app, its keys and its Run value all belong to one user.
PrivilegesRequired=lowest
DefaultDirName={localappdata}\Programs\{#AppName}
DisableProgramGroupPage=yes
; the frozen Python and Qt are x64; Arm64 Windows 11 runs them under emulation
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; Qt 6 supports Windows 10 1809 and later
MinVersion=10.0.17763
OutputDir={#OutputDir}
OutputBaseFilename={#AppName}-Setup-{#AppVersion}
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExeName}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
SetupLogging=yes
; An upgrade closes a running Tunnelkeeper through the Restart Manager (its hidden tray
; window answers the end-session request like at sign-out, and the app quits cleanly).
; The app does not register for restarts, so [Run] offers to start the new version instead.
CloseApplications=yes
CloseApplicationsFilter=*.exe,*.dll,*.pyd
RestartApplications=no
#ifdef SignToolName
; build.ps1 defines the sign tool (ISCC /S) when a certificate is configured; this signs the
; setup and the uninstaller it writes.
SignTool={#SignToolName}
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
; Checked by default: keeping the tunnel up across restarts is what the app is for. The
; app's own start-at-login setting reads and writes the same value afterwards.
Name: "startatlogin"; Description: "Start {#AppName} when I sign in to Windows"; GroupDescription: "Start-up:"

[InstallDelete]
; An upgrade replaces the bundled runtime whole, so files a newer Python or Qt no longer
; ships do not linger next to the new ones.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#FrozenDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExeName}"; Comment: "Keeps the reverse SSH tunnel to your data vendor open"

[Registry]
; What WindowsRunKey.enable() writes, with the --autostart flag (start quietly in the tray).
Root: HKCU; Subkey: "{#RunKey}"; ValueType: string; ValueName: "{#RunValueName}"; ValueData: """{app}\{#AppExeName}"" --autostart"; Flags: uninsdeletevalue; Tasks: startatlogin

[Run]
Filename: "{app}\{#AppExeName}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: postinstall nowait skipifsilent

; Uninstalling keeps the user's profiles, keys and logs (in %LOCALAPPDATA%\tunnelkeeper, not
; in {app}): they are the user's, and a reinstall picks them up again.

[Code]
// The uninstaller has no CloseApplications of its own, so it asks the Restart Manager
// directly. Pointer arguments are passed as Cardinal: Setup and the uninstaller are 32-bit
// (this script does not set SetupArchitecture).
const
  RmSuccess = 0;

function RmStartSession(var Session: Cardinal; Flags: Cardinal; SessionKey: String): Integer;
  external 'RmStartSession@rstrtmgr.dll stdcall delayload uninstallonly';
function RmRegisterResources(Session: Cardinal; FileCount: Cardinal; FileNames: TArrayOfString;
  ProcessCount: Cardinal; Processes: Cardinal; ServiceCount: Cardinal; Services: Cardinal): Integer;
  external 'RmRegisterResources@rstrtmgr.dll stdcall delayload uninstallonly';
function RmShutdown(Session: Cardinal; Flags: Cardinal; StatusCallback: Cardinal): Integer;
  external 'RmShutdown@rstrtmgr.dll stdcall delayload uninstallonly';
function RmEndSession(Session: Cardinal): Integer;
  external 'RmEndSession@rstrtmgr.dll stdcall delayload uninstallonly';

// Asks every running copy of the installed executables to quit, the way Windows does at
// sign-out (no forced termination: a tunnel gets to close cleanly). True when none is left.
function CloseRunningCopies: Boolean;
var
  Session: Cardinal;
  Code: Integer;
  SessionKey: String;
  Files: TArrayOfString;
begin
  Result := False;
  try
    // room for the session key Windows writes back (CCH_RM_SESSION_KEY + 1 characters)
    SessionKey := StringOfChar(#0, 64);
    Code := RmStartSession(Session, 0, SessionKey);
    if Code <> RmSuccess then begin
      Log(Format('Restart Manager: no session (error %d)', [Code]));
      Exit;
    end;
    try
      SetArrayLength(Files, 2);
      Files[0] := ExpandConstant('{app}\{#AppExeName}');
      Files[1] := ExpandConstant('{app}\{#CliExeName}');
      Code := RmRegisterResources(Session, GetArrayLength(Files), Files, 0, 0, 0, 0);
      if Code = RmSuccess then
        Code := RmShutdown(Session, 0, 0);
      Log(Format('Restart Manager: closing running copies returned %d', [Code]));
      Result := Code = RmSuccess;
    finally
      RmEndSession(Session);
    end;
  except
    Log('Restart Manager unavailable: ' + GetExceptionMessage);
  end;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  // usUninstall: the user has confirmed, and no file has been removed yet
  if CurUninstallStep = usUninstall then begin
    if not CloseRunningCopies then
      SuppressibleMsgBox('{#AppName} is still running. Quit it from its tray icon (Quit), then click OK to finish uninstalling.',
        mbInformation, MB_OK, IDOK);
    // The app's own start-at-login setting may have written the value after setup (and
    // without the task), so it goes whether or not the uninstall log knows about it.
    if RegDeleteValue(HKEY_CURRENT_USER, '{#RunKey}', '{#RunValueName}') then
      Log('Removed the start-at-login value');
  end;
end;
