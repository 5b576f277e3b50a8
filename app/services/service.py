"""The boot-time service: what to install, tunnels moved into it, and what protects their keys."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.control.errors import HostRefused, HostUnavailable
from app.core import knownhosts, service_bundle
from app.core.control import Op
from app.core.profile import Profile
from app.core.service_bundle import MovedAlerts, MovedTunnel, NoAlertsToCopy
from app.core.service_units import SERVICE_USER, UNIT_NAME, Scope, ServiceSpec, systemd_unit
from app.errors import HostKeyNotPinned, KeyPassphraseNeeded, TunnelkeeperError
from app.platform import service_install as install
from app.platform.credentials import credential_name
from app.platform.service_install import Call, Run, Step, WriteFile
from app.services.keys import KeyService
from app.services.profiles import ProfileService
from app.services.proxies import ProxyService, secret_name
from app.services.status import StatusService
from app.storage import hostkeys as pins
from app.storage.alerts import SERVICE_HEADER, alerts_document
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore

if TYPE_CHECKING:
    from app.services.alerts import AlertService

AskSecret = Callable[[str], str | None]  # prompt -> the passphrase typed, or None


class ServiceManager:
    """Installs the service for this user (``--user``) or the machine (``--system``) and
    moves tunnels into the system service."""

    def __init__(
        self,
        paths: AppPaths,
        keys: KeyService,
        profiles: ProfileService,
        status: StatusService,
        proxies: ProxyService | None = None,
        alerts: AlertService | None = None,
    ) -> None:
        self._paths = paths
        self._keys = keys
        self._profiles = profiles
        self._status = status
        self._proxies = proxies
        self._alerts = alerts

    # --- the unprivileged half ------------------------------------------------------------

    def bundle(self, names: list[str], ask: AskSecret | None) -> list[MovedTunnel]:
        """Tunnels ``names`` as the service will keep them: profile, key bytes, pinned host
        keys, the passphrase of an encrypted key (from the keychain, else ``ask``) and the
        password of the proxy's user (the keychain's, else ``ask``; None when neither has
        one: the service then meets the proxy's 407 and says so)."""
        parsed = pins.read(self._paths.known_hosts_file)
        moved = []
        for profile in self._profiles.select(names):
            pattern = knownhosts.host_pattern(profile.jumphost, profile.ssh_port)
            pinned = knownhosts.pinned_for(parsed, pattern)
            if not pinned:
                raise HostKeyNotPinned(profile.name, pattern)
            key = Path(profile.key_path).read_bytes()
            moved.append(
                MovedTunnel(
                    profile,
                    f"{profile.name}-{Path(profile.key_path).name}",
                    key,
                    tuple((e.key_type, e.key_blob) for e in pinned),
                    self._passphrase_of(profile.key_path, profile.name, ask),
                    self._proxy_password_of(profile, ask),
                )
            )
        return moved

    def _passphrase_of(self, key_path: str, name: str, ask: AskSecret | None) -> str | None:
        try:
            self._keys.open_key(key_path, name)  # unencrypted, or the keychain's works
        except KeyPassphraseNeeded:
            typed = ask(f"Passphrase for the key of {name} (for the service): ") if ask else None
            if typed is None:
                raise
            self._keys.open_key(key_path, name, typed)  # KeyPassphraseWrong if not
            return typed
        return self._keys.stored(key_path)

    def _proxy_password_of(self, profile: Profile, ask: AskSecret | None) -> str | None:
        if self._proxies is None or not self._proxies.wants_password(profile):
            return None
        stored = self._proxies.password(profile)
        if stored is not None or ask is None:
            return stored
        typed = ask(f"Password of the proxy user of {profile.name} (for the service): ")
        return typed or None

    def alerts_bundle(self, ask: AskSecret | None) -> MovedAlerts:
        """This user's alerts as the service will keep them, with the SMTP passwords they
        sign in with (see ``AlertService.for_service``). Raises NoAlertsToCopy."""
        if self._alerts is None:
            raise NoAlertsToCopy()
        return self._alerts.for_service(ask)

    def hand_over(self, names: list[str]) -> list[str]:
        """After a move: stop ``names`` wherever this user runs them and remove them from
        this user's profiles; returns a sentence for each that could not be stopped."""
        problems = []
        for name in names:
            host = self._status.host_of(name)
            if host is not None:
                try:
                    host.request(Op.DISCONNECT, name=name)
                except (HostRefused, HostUnavailable) as exc:
                    problems.append(f"{name}: {exc}")
                finally:
                    host.close()
            self._profiles.remove(name)
        return problems

    def move_to_system(
        self,
        names: list[str],
        ask: AskSecret | None,
        *,
        run_as: str = SERVICE_USER,
        start: bool = True,
        elevation: tuple[str, ...] = ("sudo", "--"),
        on_step: Callable[[Step], None] | None = None,
        run_flags: tuple[str, ...] = (),
        alerts: bool = False,
    ) -> list[str]:
        """Install the system service with tunnels ``names`` moved into it, then stop them
        here and remove them from this user's profiles. Not root: the privileged half runs
        through ``elevation`` (sudo for a terminal, pkexec for the desktop), the tunnels on
        its standard input. ``run_flags`` (``--metrics …``, as ``service install`` and
        ``run`` both take them) go to the service's ``run``. ``alerts``: this user's alerts
        are copied into the service's too (replacing its own), their SMTP passwords as
        encrypted credentials. Returns a sentence for each tunnel that could not be
        stopped."""
        moved = self.bundle(names, ask) if names else []
        copied = self.alerts_bundle(ask) if alerts else None
        if os.name == "posix" and os.geteuid() == 0:
            spec = self.install_spec(Scope.SYSTEM, run_as, run_flags)
            for step in self.install_steps(spec, moved, copied):
                if start or not install.starts_it(step):
                    install.perform(step)
                    if on_step is not None:
                        on_step(step)
        else:
            argv = [*elevation, *install.service_command(), "service", "install", "--system"]
            argv += ["--from-stdin", "--run-as", run_as, *([] if start else ["--no-start"])]
            argv += run_flags
            install.perform(Run(tuple(argv), stdin=service_bundle.encode(moved, copied)))
        return self.hand_over([t.profile.name for t in moved])

    # --- the privileged half --------------------------------------------------------------

    def receive(
        self, spec: ServiceSpec, moved: list[MovedTunnel], alerts: MovedAlerts | None = None
    ) -> list[Step]:
        """The steps that put ``moved`` into the system service's configuration: the key
        its account's alone (0600), a passphrase as an encrypted systemd credential, the
        profile and its pinned host keys readable by the service; ``alerts`` replace its
        alerts.toml (root's, readable by its group: 0640), each SMTP password an encrypted
        credential too."""
        config = Path(spec.config)
        owner = f"{spec.user}:{spec.user}"
        steps: list[Step] = install.folder_steps(spec)
        for tunnel in moved:
            key_path = config / "keys" / tunnel.key_file
            steps.append(WriteFile(key_path, tunnel.key, 0o600, owner, secret=True))
            for cred, secret in _secrets_of(tunnel, key_path):
                target = config / "credentials" / f"{cred}.cred"
                steps.append(
                    Run(
                        ("systemd-creds", "encrypt", f"--name={cred}", "-", str(target)),
                        stdin=secret.encode(),
                    )
                )
            profile = replace(tunnel.profile, key_path=str(key_path))
            steps.append(
                Call(
                    f"add tunnel {profile.name} to {config / 'profiles.toml'} and pin its "
                    f"jumphost's host key in {config / 'known_hosts'}",
                    _adder(config, profile, tunnel.pins, spec.user),
                )
            )
        if alerts is not None:
            document = alerts_document(alerts.rules, SERVICE_HEADER)
            owner = f"root:{spec.user}"
            steps.append(WriteFile(config / "alerts.toml", document, 0o640, owner, secret=True))
            for cred, secret in _alert_secrets(alerts):
                target = config / "credentials" / f"{cred}.cred"
                steps.append(
                    Run(
                        ("systemd-creds", "encrypt", f"--name={cred}", "-", str(target)),
                        stdin=secret.encode(),
                    )
                )
        return steps

    def install_spec(
        self, scope: Scope, run_as: str = SERVICE_USER, run_flags: tuple[str, ...] = ()
    ) -> ServiceSpec:
        """What to install; ``run_flags`` go after the service's ``run --all``."""
        command = install.service_command()
        if scope is Scope.USER:
            return ServiceSpec(Scope.USER, command, run_flags=run_flags)
        return replace(install.system_spec(command, run_as), run_flags=run_flags)

    def install_steps(
        self, spec: ServiceSpec, moved: list[MovedTunnel], alerts: MovedAlerts | None = None
    ) -> list[Step]:
        """Everything ``service install`` does, in order (files, then the manager's commands);
        under another installation root (packaging, tests) nothing is enabled or started."""
        steps = self._all_steps(spec, moved, alerts)
        if install.system_root() != Path("/"):
            return [step for step in steps if not install.starts_it(step)]
        return steps

    def _all_steps(
        self, spec: ServiceSpec, moved: list[MovedTunnel], alerts: MovedAlerts | None
    ) -> list[Step]:
        if sys.platform == "darwin":
            steps = install.macos_steps(spec, Path.home())
        elif os.name == "nt":
            return install.windows_steps(spec, "SYSTEM", Path(self._paths.data_dir))
        else:
            steps = install.linux_steps(spec, Path.home(), _me())
        if not moved and alerts is None:
            return steps
        # the tunnels go in before the unit that loads their credentials is written
        spec = replace(spec, credentials=_credentials(spec, moved, alerts))
        unit = next(i for i, step in enumerate(steps) if _is_unit(step))
        return [
            *steps[:unit],
            *self.receive(spec, moved, alerts),
            *(_unit_with(step, spec) for step in steps[unit:]),
        ]

    def warnings(self, spec: ServiceSpec) -> list[str]:
        """What would stop the installed service from starting, said before installing."""
        program = Path(spec.command[0])
        found = []
        if spec.scope is Scope.SYSTEM and any(
            program.is_relative_to(p) for p in (Path("/home"), Path("/root"), Path("/run/user"))
        ):
            found.append(
                f"the system service cannot run {program}: it lies in a home folder, which "
                "the service may not enter (ProtectHome). Install Tunnelkeeper for the whole "
                "machine first (the .deb, or pipx as root with PIPX_HOME=/opt/pipx "
                "PIPX_BIN_DIR=/usr/local/bin)."
            )
        return found

    def protection(
        self, spec: ServiceSpec, moved: list[MovedTunnel], alerts: MovedAlerts | None = None
    ) -> str:
        """What protects the keys, in plain words (``service install`` says it)."""
        if spec.scope is Scope.USER:
            return (
                "The service runs as you and uses your tunnels and keys where they are (each "
                "key readable by you alone, mode 0600). A service has no unlocked keychain, so "
                "a key with a passphrase cannot be opened by it: use a key without one, or "
                "install the system service, which keeps passphrases as encrypted credentials."
            )
        said = (
            f"The service runs as the account {spec.user!r}. Its keys are in "
            f"{spec.config}/keys, readable by that account alone (mode 0600, folder 0700)."
        )
        if any(t.passphrase is not None or t.proxy_password is not None for t in moved):
            said += (
                " Passphrases and proxy passwords are systemd credentials encrypted with "
                f"this machine's key (systemd-creds, in {spec.config}/credentials, root "
                "only); systemd decrypts them into the service's private memory at start. No "
                "passphrase or password is written in plain text anywhere."
            )
        if alerts is not None:
            said += " " + _alerts_said(spec, alerts)
        return said


def _adder(
    config: Path, profile: Profile, keys: tuple[tuple[str, bytes], ...], group: str
) -> Callable[[], None]:
    """Add ``profile`` to the service's profiles and pin ``keys`` for its jumphost; both
    files readable by the service's group (0640), written by root alone."""

    def add() -> None:
        profiles = config / "profiles.toml"
        ProfileStore(profiles).add(profile, replace=True)
        pattern = knownhosts.host_pattern(profile.jumphost, profile.ssh_port)
        pins.pin_all(config / "known_hosts", pattern, list(keys))
        for path in (profiles, config / "known_hosts"):
            os.chmod(path, 0o640)
            _group(path, group)

    return add


def _group(path: Path, group: str) -> None:
    import grp  # noqa: PLC0415 - POSIX only

    try:
        os.chown(path, -1, grp.getgrnam(group).gr_gid)
    except (KeyError, OSError) as exc:
        raise TunnelkeeperError(f"cannot give {path} to the group {group}: {exc}") from None


def _credentials(
    spec: ServiceSpec, moved: list[MovedTunnel], alerts: MovedAlerts | None = None
) -> tuple[tuple[str, str], ...]:
    found = dict(spec.credentials)
    names = [cred for cred, _ in _alert_secrets(alerts)] if alerts is not None else []
    for tunnel in moved:
        key_path = Path(spec.config) / "keys" / tunnel.key_file
        names += [cred for cred, _ in _secrets_of(tunnel, key_path)]
    for cred in names:
        found[cred] = str(Path(spec.config) / "credentials" / f"{cred}.cred")
    return tuple(sorted(found.items()))


def _alert_secrets(alerts: MovedAlerts) -> list[tuple[str, str]]:
    """The alerts' SMTP passwords by credential name (as the service's CredentialsKeychain
    looks up ``smtp:USER@HOST:PORT``)."""
    return [(credential_name(name), password) for name, password in alerts.passwords]


def _alerts_said(spec: ServiceSpec, alerts: MovedAlerts) -> str:
    """What ``--alerts`` does, in plain words: where the rules go, where their passwords."""
    count = len(alerts.rules)
    said = (
        f"Your {count} {'alerts replace' if count != 1 else 'alert replaces'} the service's in "
        f"{spec.config}/alerts.toml, readable by root and the group {spec.user!r} alone (mode "
        "0640: a webhook's address holds its receiver's secret)."
    )
    if alerts.passwords:
        said += (
            " Their SMTP passwords are systemd credentials encrypted with this machine's key "
            f"(in {spec.config}/credentials, root only), never plain text in a file."
        )
    for rule in alerts.without_password():
        said += (
            f" Alert {rule.id} signs in as {rule.user} at {rule.smtp}, but your keychain holds "
            "no password for it and none was typed: it cannot sign in from the service (run "
            "this again in a terminal to type it)."
        )
    return said


def _secrets_of(tunnel: MovedTunnel, key_path: Path) -> list[tuple[str, str]]:
    """The credentials ``tunnel`` brings, by name (as the service's CredentialsKeychain
    looks them up): its key's passphrase and its proxy user's password."""
    found = []
    if tunnel.passphrase is not None:
        found.append((credential_name(str(key_path)), tunnel.passphrase))
    name = secret_name(tunnel.profile)
    if tunnel.proxy_password is not None and name is not None:
        found.append((credential_name(name), tunnel.proxy_password))
    return found


def _is_unit(step: Step) -> bool:
    return isinstance(step, WriteFile) and step.path.name == UNIT_NAME


def _unit_with(step: Step, spec: ServiceSpec) -> Step:
    """The unit file step again, now loading the moved tunnels' credentials too."""
    if isinstance(step, WriteFile) and _is_unit(step):
        return replace(step, data=systemd_unit(spec).encode())
    return step


def _me() -> str:
    import getpass  # noqa: PLC0415 - only the installer needs it

    return getpass.getuser()
