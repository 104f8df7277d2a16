; Inno Setup script for Deskchat on Windows. build/package.py runs it after PyInstaller:
;   iscc /DAppVersion=0.1.0 /DSourceDir=dist\deskchat /DOutputDir=dist build\windows\deskchat.iss
; Per-user install by default (no administrator rights needed); the user may choose all users.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\deskchat"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef IconFile
  #define IconFile "..\assets\icons\deskchat.ico"
#endif

[Setup]
; Keep AppId for ever: it is how upgrades and the uninstaller find earlier installs.
AppId={{6F0C8F6A-3E0B-4C55-9C7B-2D6A8B1E4D21}
AppName=Deskchat
AppVersion={#AppVersion}
AppVerName=Deskchat {#AppVersion}
AppPublisher=Deskchat maintainers
DefaultDirName={autopf}\Deskchat
DefaultGroupName=Deskchat
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=Deskchat-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\Deskchat.exe
UninstallDisplayName=Deskchat
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Deskchat must not be running while its files are replaced.
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
Name: "russian"; MessagesFile: "compiler:Languages\Russian.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
#ifdef WebView2Bootstrapper
; Microsoft's small Evergreen bootstrapper, run only when the WebView2 runtime is missing
; (Windows 11 and updated Windows 10 already have it).
Source: "{#WebView2Bootstrapper}"; DestDir: "{tmp}"; DestName: "MicrosoftEdgeWebview2Setup.exe"; Flags: deleteafterinstall; Check: not IsWebView2Installed
#endif

[Icons]
Name: "{autoprograms}\Deskchat"; Filename: "{app}\Deskchat.exe"
Name: "{autodesktop}\Deskchat"; Filename: "{app}\Deskchat.exe"; Tasks: desktopicon

[Run]
#ifdef WebView2Bootstrapper
Filename: "{tmp}\MicrosoftEdgeWebview2Setup.exe"; Parameters: "/silent /install"; StatusMsg: "Installing Microsoft Edge WebView2 Runtime..."; Flags: waituntilterminated; Check: not IsWebView2Installed
#endif
Filename: "{app}\Deskchat.exe"; Description: "{cm:LaunchProgram,Deskchat}"; Flags: nowait postinstall skipifsilent

[Code]
// The WebView2 runtime registers its version ("pv") under EdgeUpdate\Clients; Microsoft's
// "Distribute your app and the WebView2 Runtime" guide lists these keys.
const
  WebView2Key = 'Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}';

function HasVersion(RootKey: Integer; SubKey: String): Boolean;
var
  Version: String;
begin
  Result := RegQueryStringValue(RootKey, SubKey, 'pv', Version) and (Version <> '') and (Version <> '0.0.0.0');
end;

function IsWebView2Installed: Boolean;
begin
  Result := HasVersion(HKLM, 'SOFTWARE\WOW6432Node\' + WebView2Key) or
            HasVersion(HKLM, 'SOFTWARE\' + WebView2Key) or
            HasVersion(HKCU, 'Software\' + WebView2Key);
end;
