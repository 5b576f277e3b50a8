"""Installing the service: the files and commands each OS needs, shown (--dry-run) or done."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.service_units import (
    LAUNCHD_LABEL,
    SERVICE_USER,
    SYSTEM_CONFIG,
    SYSTEM_HOME,
    SYSTEM_SOCKET,
    TASK_NAME,
    UNIT_NAME,
    Scope,
    ServiceSpec,
    launchd_plist,
    shell_line,
    systemd_unit,
    windows_task,
)
from app.errors import TunnelkeeperError
from app.storage.fileio import atomic_write

ROOT_ENV = "TUNNELKEEPER_SYSTEM_ROOT"  # install under another root (packaging, tests)
COMMAND_TIMEOUT = 120.0


class ServiceStepFailed(TunnelkeeperError):
    """A command or file write of the installation failed; what was done before stays."""


@dataclass(frozen=True)
class WriteFile:
    path: Path
    data: bytes = field(repr=False)
    mode: int = 0o644
    owner: str | None = None  # user[:group]; None: whoever runs the installation
    secret: bool = False  # its content is never shown

    def describe(self) -> str:
        owner = f", owner {self.owner}" if self.owner else ""
        if self.secret:
            return f"write {self.path} (mode {self.mode:04o}{owner}; contents not shown)"
        return f"write {self.path} (mode {self.mode:04o}{owner}):\n{self.data.decode()}"


@dataclass(frozen=True)
class MakeDir:
    path: Path
    mode: int
    owner: str | None = None

    def describe(self) -> str:
        owner = f", owner {self.owner}" if self.owner else ""
        return f"create folder {self.path} (mode {self.mode:04o}{owner})"


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]
    stdin: bytes | None = field(default=None, repr=False)  # a secret: never shown
    may_fail: bool = False  # an uninstall step that finds nothing to undo

    def describe(self) -> str:
        fed = " (a passphrase on its standard input)" if self.stdin is not None else ""
        return f"run {shell_line(self.argv)}{fed}"


@dataclass(frozen=True)
class Call:
    """A step done in this process (adding a tunnel to the service's profiles, say)."""

    what: str
    action: Callable[[], None] = field(repr=False)

    def describe(self) -> str:
        return self.what


Step = WriteFile | MakeDir | Run | Call


SERVICE_MANAGERS = {"systemctl", "loginctl", "launchctl", "schtasks"}


def starts_it(step: Step) -> bool:
    """A step that enables or starts the service (left out by ``--no-start``)."""
    return isinstance(step, Run) and step.argv[0] in SERVICE_MANAGERS


def system_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or "/")


def rooted(path: str) -> Path:
    """``path`` (absolute) under the installation root."""
    return system_root() / path.lstrip("/")


def service_command() -> tuple[str, ...]:
    """How the service starts this very Tunnelkeeper: the frozen app, the installed
    ``tunnelkeeper`` script beside this interpreter, or the interpreter with ``-m app``."""
    if getattr(sys, "frozen", False):
        return (sys.executable,)
    script = Path(sys.executable).parent / "tunnelkeeper"
    if script.is_file() and os.access(script, os.X_OK):
        return (str(script),)
    return (sys.executable, "-m", "app")


def user_exists(name: str) -> bool:
    import pwd  # noqa: PLC0415 - POSIX only

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def invoking_user() -> str | None:
    """Who asked for root (sudo, pkexec) to install: they may control the service."""
    if os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]
    uid = os.environ.get("PKEXEC_UID", "")
    if uid.isdigit():
        import pwd  # noqa: PLC0415 - POSIX only

        with contextlib.suppress(KeyError):
            return pwd.getpwuid(int(uid)).pw_name
    return None


def linux_steps(spec: ServiceSpec, home: Path, user: str) -> list[Step]:
    """Install and start the systemd unit: the service account, its folders, the unit;
    the person who asked for root joins the service's group (they may control it)."""
    unit = systemd_unit(spec).encode()
    if spec.scope is Scope.USER:
        path = home / ".config/systemd/user" / UNIT_NAME
        return [
            MakeDir(path.parent, 0o755),
            WriteFile(path, unit),
            Run(("loginctl", "enable-linger", user)),  # started at boot, without a login
            Run(("systemctl", "--user", "daemon-reload")),
            Run(("systemctl", "--user", "enable", "--now", UNIT_NAME)),
        ]
    steps: list[Step] = []
    if not user_exists(spec.user):
        steps.append(
            Run(
                (
                    "useradd",
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    spec.home,
                    "--shell",
                    "/usr/sbin/nologin",
                    spec.user,
                )
            )
        )
    controller = invoking_user()
    if controller and controller != "root" and spec.user == SERVICE_USER:
        steps.append(Run(("usermod", "--append", "--groups", spec.user, controller)))
    return [
        *steps,
        MakeDir(Path(spec.home), 0o700, f"{spec.user}:{spec.user}"),
        *folder_steps(spec),
        WriteFile(rooted(f"/etc/systemd/system/{UNIT_NAME}"), unit),
        Run(("systemctl", "daemon-reload")),
        Run(("systemctl", "enable", "--now", UNIT_NAME)),
    ]


def folder_steps(spec: ServiceSpec) -> list[Step]:
    """The service's configuration: readable by its account, keys its alone, credentials
    root's alone (systemd decrypts them for the service)."""
    config = Path(spec.config)
    return [
        MakeDir(config, 0o750, f"root:{spec.user}"),
        MakeDir(config / "keys", 0o700, f"{spec.user}:{spec.user}"),
        MakeDir(config / "credentials", 0o700, "root:root"),
    ]


def linux_removal(scope: Scope) -> list[Step]:
    if scope is Scope.USER:
        unit = Path.home() / ".config/systemd/user" / UNIT_NAME
        return [
            Run(("systemctl", "--user", "disable", "--now", UNIT_NAME), may_fail=True),
            Run(("rm", "-f", str(unit))),
            Run(("systemctl", "--user", "daemon-reload"), may_fail=True),
        ]
    return [
        Run(("systemctl", "disable", "--now", UNIT_NAME), may_fail=True),
        Run(("rm", "-f", str(rooted(f"/etc/systemd/system/{UNIT_NAME}")))),
        Run(("systemctl", "daemon-reload"), may_fail=True),
    ]


def macos_steps(spec: ServiceSpec, home: Path) -> list[Step]:
    plist = launchd_plist(spec).encode()
    if spec.scope is Scope.USER:
        path = home / "Library/LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
        return [
            WriteFile(path, plist),
            Run(("launchctl", "bootstrap", f"gui/{os.getuid()}", str(path))),
        ]
    path = Path("/Library/LaunchDaemons") / f"{LAUNCHD_LABEL}.plist"
    return [
        *folder_steps(spec),
        WriteFile(path, plist),
        Run(("launchctl", "bootstrap", "system", str(path))),
    ]


def windows_steps(spec: ServiceSpec, account: str, folder: Path) -> list[Step]:
    task = folder / "tunnelkeeper-task.xml"
    return [
        WriteFile(task, windows_task(spec, account).encode("utf-16")),
        Run(("schtasks", "/Create", "/TN", TASK_NAME, "/XML", str(task), "/F")),
        Run(("schtasks", "/Run", "/TN", TASK_NAME)),
    ]


def system_spec(command: tuple[str, ...], user: str = SERVICE_USER) -> ServiceSpec:
    return ServiceSpec(
        Scope.SYSTEM,
        command,
        home=str(rooted(SYSTEM_HOME)),
        config=str(rooted(SYSTEM_CONFIG)),
        socket=str(rooted(SYSTEM_SOCKET)),
        user=user,
        credentials=tuple(existing_credentials(rooted(SYSTEM_CONFIG) / "credentials")),
    )


def existing_credentials(folder: Path) -> list[tuple[str, str]]:
    """The credentials already encrypted for the service (kept across re-installs)."""
    with contextlib.suppress(OSError):
        return [(p.stem, str(p)) for p in sorted(folder.glob("*.cred"))]
    return []


def perform(step: Step) -> None:
    """Do one step; raises ServiceStepFailed with what went wrong."""
    try:
        if isinstance(step, MakeDir):
            step.path.mkdir(parents=True, exist_ok=True, mode=step.mode)
            _own(step.path, step.owner, step.mode)
        elif isinstance(step, WriteFile):
            atomic_write(step.path, step.data, step.mode)
            _own(step.path, step.owner, step.mode)
        elif isinstance(step, Call):
            step.action()
        else:
            _run(step)
    except OSError as exc:
        raise ServiceStepFailed(
            f"{step.describe().splitlines()[0]}: {exc.strerror or exc}"
        ) from None


def _own(path: Path, owner: str | None, mode: int) -> None:
    os.chmod(path, mode)
    if owner is None or os.name != "posix":
        return
    import grp  # noqa: PLC0415 - POSIX only
    import pwd  # noqa: PLC0415

    user, _, group = owner.partition(":")
    uid = pwd.getpwnam(user).pw_uid
    gid = grp.getgrnam(group).gr_gid if group else -1
    os.chown(path, uid, gid)


def _run(step: Run) -> None:
    if shutil.which(step.argv[0]) is None:
        if step.may_fail:
            return
        raise ServiceStepFailed(f"{step.argv[0]} is not installed: {step.describe()}")
    try:
        done = subprocess.run(
            step.argv,
            input=step.stdin,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServiceStepFailed(f"{step.describe()} did not finish in time") from None
    if done.returncode != 0 and not step.may_fail:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ServiceStepFailed(
            f"{step.describe()} failed: {said[-1] if said else done.returncode}"
        )
