"""The service's files as text: a systemd unit, a launchd plist, a Windows task (pure)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePath

UNIT_NAME = "tunnelkeeper.service"
LAUNCHD_LABEL = "app.tunnelkeeper.agent"
TASK_NAME = "Tunnelkeeper"
SERVICE_USER = "tunnelkeeper"  # the system service's own account; its group controls it
WATCHDOG_SEC = 60
SYSTEM_HOME = "/var/lib/tunnelkeeper"  # the system service's state: logs, run state (Linux)
SYSTEM_CONFIG = "/etc/tunnelkeeper"  # its profiles, known_hosts, keys, credentials
SYSTEM_SOCKET = "/run/tunnelkeeper/control.sock"


class Scope(StrEnum):
    USER = "user"  # the installing user's own tunnels, started at boot (lingering)
    SYSTEM = "system"  # a dedicated account's tunnels, for the whole machine


@dataclass(frozen=True)
class ServiceSpec:
    """What the service runs: ``command`` is the argv of ``tunnelkeeper`` itself;
    ``credentials`` are (name, encrypted file) pairs for LoadCredentialEncrypted=;
    ``run_flags`` go after ``run --all`` (``--metrics HOST:PORT``)."""

    scope: Scope
    command: tuple[str, ...]
    home: str = SYSTEM_HOME
    config: str = SYSTEM_CONFIG
    socket: str = SYSTEM_SOCKET
    user: str = SERVICE_USER
    credentials: tuple[tuple[str, str], ...] = field(default=())
    run_flags: tuple[str, ...] = field(default=())

    @property
    def argv(self) -> tuple[str, ...]:
        return (*self.command, "run", "--all", *self.run_flags)


def _quote(arg: str) -> str:
    """One ExecStart= word, quoted the way systemd reads it."""
    if arg and all(c.isalnum() or c in "/._-=:+@," for c in arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(spec: ServiceSpec) -> str:
    """The unit file (system or user); ``Type=notify`` with a watchdog."""
    exec_start = " ".join(_quote(a) for a in spec.argv)
    lines = [
        "[Unit]",
        "Description=Tunnelkeeper reverse SSH tunnels",
        "Documentation=man:ssh(1)",
        "Wants=network-online.target",
        "After=network-online.target",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStart={exec_start}",
        "Restart=always",
        "RestartSec=5",
        f"WatchdogSec={WATCHDOG_SEC}",
        "TimeoutStopSec=15",
        f"Environment=TUNNELKEEPER_SERVICE={spec.scope.value}",
        "UMask=0077",
        "NoNewPrivileges=yes",
        "LimitNOFILE=65536",
    ]
    if spec.scope is Scope.SYSTEM:
        lines += [
            f"User={spec.user}",
            f"Group={spec.user}",
            f"Environment=TUNNELKEEPER_HOME={spec.home}",
            f"Environment=TUNNELKEEPER_CONFIG_DIR={spec.config}",
            f"Environment=TUNNELKEEPER_SYSTEM_SOCKET={spec.socket}",
            "StateDirectory=tunnelkeeper",
            "StateDirectoryMode=0700",
            "RuntimeDirectory=tunnelkeeper",
            "RuntimeDirectoryMode=0750",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "PrivateDevices=yes",
            "ProtectKernelTunables=yes",
            "ProtectKernelModules=yes",
            "ProtectKernelLogs=yes",
            "ProtectControlGroups=yes",
            "ProtectClock=yes",
            "ProtectHostname=yes",
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
            "RestrictNamespaces=yes",
            "RestrictRealtime=yes",
            "RestrictSUIDSGID=yes",
            "LockPersonality=yes",
            "SystemCallArchitectures=native",
            "CapabilityBoundingSet=",
            f"ReadWritePaths={spec.home}",
        ]
        lines += [f"LoadCredentialEncrypted={name}:{path}" for name, path in spec.credentials]
    wanted = "multi-user.target" if spec.scope is Scope.SYSTEM else "default.target"
    lines += ["", "[Install]", f"WantedBy={wanted}", ""]
    return "\n".join(lines)


def escape(text: str) -> str:
    """``text`` as XML character data: what xml.sax.saxutils.escape does, without the
    urllib.request, http.client and ssl that importing it loads (into every `run`)."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def launchd_plist(spec: ServiceSpec) -> str:
    """A LaunchDaemon (system) or LaunchAgent (user) that starts at load and is kept alive."""
    args = "\n".join(f"    <string>{escape(a)}</string>" for a in spec.argv)
    env = f"    <key>TUNNELKEEPER_SERVICE</key><string>{spec.scope.value}</string>"
    if spec.scope is Scope.SYSTEM:
        env += f"\n    <key>TUNNELKEEPER_HOME</key><string>{escape(spec.home)}</string>"
        env += f"\n    <key>TUNNELKEEPER_CONFIG_DIR</key><string>{escape(spec.config)}</string>"
    user = f"  <key>UserName</key><string>{escape(spec.user)}</string>\n"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
        '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
        '<plist version="1.0">\n<dict>\n'
        f"  <key>Label</key><string>{LAUNCHD_LABEL}</string>\n"
        f"  <key>ProgramArguments</key>\n  <array>\n{args}\n  </array>\n"
        f"  <key>EnvironmentVariables</key>\n  <dict>\n{env}\n  </dict>\n"
        + (user if spec.scope is Scope.SYSTEM else "")
        + "  <key>RunAtLoad</key><true/>\n"
        "  <key>KeepAlive</key><true/>\n"
        "  <key>ThrottleInterval</key><integer>5</integer>\n"
        "  <key>Umask</key><integer>63</integer>\n"
        "</dict>\n</plist>\n"
    )


def windows_task(spec: ServiceSpec, account: str) -> str:
    """A Scheduled Task that starts at boot whether anyone is logged on or not (as seed 003
    sets one up by hand), restarted when it ends, as ``account`` (SYSTEM, or a user)."""
    program, *arguments = spec.argv
    return (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        '<Task version="1.4" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\n'
        "  <Triggers><BootTrigger><Enabled>true</Enabled></BootTrigger></Triggers>\n"
        '  <Principals><Principal id="Author">\n'
        f"    <UserId>{escape(account)}</UserId>\n"
        "    <LogonType>ServiceAccount</LogonType>\n"
        "    <RunLevel>LeastPrivilege</RunLevel>\n"
        "  </Principal></Principals>\n"
        "  <Settings>\n"
        "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n"
        "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n"
        "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n"
        "    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>\n"
        "    <RestartOnFailure><Interval>PT1M</Interval><Count>999</Count></RestartOnFailure>\n"
        "  </Settings>\n"
        '  <Actions Context="Author"><Exec>\n'
        f"    <Command>{escape(program)}</Command>\n"
        f"    <Arguments>{escape(_windows_args(arguments))}</Arguments>\n"
        "  </Exec></Actions>\n"
        "</Task>\n"
    )


def _windows_args(arguments: list[str]) -> str:
    return " ".join(f'"{a}"' if " " in a else a for a in arguments)


def shell_line(argv: list[str] | tuple[str, ...]) -> str:
    """A command as a person would type it (for --dry-run)."""
    return " ".join(shlex.quote(a) for a in argv)


def unit_path(scope: Scope, home: PurePath) -> PurePath:
    """Where the unit goes: /etc/systemd/system, or the user's ~/.config/systemd/user."""
    if scope is Scope.SYSTEM:
        return PurePath("/etc/systemd/system") / UNIT_NAME
    return home / ".config/systemd/user" / UNIT_NAME
