"""The diagnostics bundle for the vendor's support: gathered, redacted, written as one zip."""

from __future__ import annotations

import io
import os
import socket
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import __version__
from app.control.logtail import last_lines
from app.core.control import Op
from app.core.diagnose import (
    Member,
    Redactor,
    assemble,
    connection_test_summary,
    file_name,
    member,
    profile_view,
    public_line_fingerprint,
    route_view,
)
from app.core.events import TunnelEvent
from app.core.profile import Profile
from app.core.proxy import parse_proxy
from app.engine.route import hops_of, route_for
from app.errors import TunnelkeeperError, UnknownProfile
from app.platform.keychain import Keychain
from app.services.history import HistoryService, find_history
from app.services.hostkeys import HostKeyService
from app.services.keys import Ask, KeyService, LoadedKey, PassphraseRequest
from app.services.negotiated import run_recorded
from app.services.proxies import ProxyService
from app.services.status import StatusService
from app.services.versions import versions
from app.storage.fileio import atomic_write
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore

LOG_LINES = 400  # of the log's tail
EVENTS = 200  # recent events per tunnel, at most
ALERTS_LIMIT = 1_000_000  # bytes of alerts.toml read at most
ALERTS_FILE = "alerts.toml"
EnvFor = Callable[[Profile], Mapping[str, str] | None]


class DiagnosticsNotSaved(TunnelkeeperError):
    """The bundle could not be written where asked; the sentence says why."""


@dataclass(frozen=True)
class SavedDiagnostics:
    """A bundle written: where, its files, its one-line summary and what was redacted."""

    path: Path
    files: list[str]
    summary: str
    redacted: dict[str, int] = field(default_factory=dict)


@dataclass
class _Gathered:
    members: list[Member] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    said: list[str] = field(default_factory=list)  # a few words per tunnel for the summary


class DiagnosticsService:
    """Makes the diagnostics bundle (``save``): per tunnel its profile (the key by name and
    fingerprint), route, pinned host keys, live status, history with outages, the
    connection test's results and the algorithms it negotiated; the versions, the log's
    tail and the alert rules. Everything passes a :class:`app.core.diagnose.Redactor` that
    knows the tunnels' passphrases and passwords."""

    def __init__(
        self,
        paths: AppPaths,
        keys: KeyService,
        proxies: ProxyService,
        hostkeys: HostKeyService,
        history: HistoryService,
        status: StatusService,
        keychain: Callable[[], Keychain],
    ) -> None:
        self._paths = paths
        self._keychain = keychain
        self._keys = keys
        self._proxies = proxies
        self._hostkeys = hostkeys
        self._history = history
        self._status = status

    def default_path(self, folder: Path | None = None, now: datetime | None = None) -> Path:
        """``folder`` (the working folder by default) / tunnelkeeper-diagnostics-HOST-TIME.zip."""
        when = now or datetime.now(UTC)
        return (folder or Path.cwd()) / file_name(socket.gethostname(), when)

    def save(
        self,
        name: str | None = None,
        output: Path | None = None,
        *,
        run_test: bool = True,
        ask: Ask | None = None,
        events: Iterable[TunnelEvent] = (),
        live: Mapping[str, Mapping[str, Any]] | None = None,
        extra_versions: Mapping[str, str] | None = None,
        env_for: EnvFor | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> SavedDiagnostics:
        """Gather tunnel ``name``'s diagnostics (every tunnel's when None) and write them to
        ``output`` (a zip file, or a folder for the default name; default: the working
        folder). ``run_test`` runs the connection test (it dials the jumphost), asking
        ``ask`` for a passphrase the keychain lacks. ``events`` are a front end's recent
        events, ``live`` its tunnels' status (else the hosts are asked), ``env_for`` a
        tunnel's proxy variables (else this process's); ``progress`` hears what is being
        done ("running the connection test of db"). Blocks (the test: up to a minute a
        tunnel). Raises UnknownProfile and DiagnosticsNotSaved."""
        started = datetime.now(UTC)
        target = self._target(output, started)  # before the slow part: a typo fails fast
        profiles = self._profiles(name)
        gathered = _Gathered()
        recent = list(events)
        for profile in profiles:
            if run_test and progress is not None:
                progress(f"running the connection test of {profile.name}")
            self._tunnel(profile, gathered, run_test, ask, recent, live, env_for)
        gathered.members.append(member("versions.json", versions(extra_versions)))
        gathered.secrets |= self._alert_secrets()
        gathered.members.append(self._log_tail(name))
        alerts = self._alerts()
        if alerts is not None:
            gathered.members.append(alerts)
        homes = {str(Path.home()), str(Path.home().resolve())}
        redactor = Redactor(homes, gathered.secrets)
        heading = [
            "Tunnelkeeper diagnostics",
            f"Made {started:%Y-%m-%d %H:%M:%S} UTC by Tunnelkeeper {__version__} on "
            f"{socket.gethostname()}, for "
            + (f"tunnel {name}." if name else f"every tunnel ({len(profiles)})."),
            "The connection test " + ("ran." if run_test else "was not run (--no-test)."),
        ]
        files, redacted = assemble(gathered.members, redactor, heading)
        _write_zip(target, files, started)
        said = "; ".join(gathered.said) or "no tunnels"
        taken = sum(redacted.values())
        summary = f"{said}; {len(files)} files, " + (
            f"{taken} secret(s) and path(s) taken out." if taken else "nothing to take out."
        )
        return SavedDiagnostics(target, [n for n, _ in files], summary, dict(redacted))

    # --- where, and which tunnels ---------------------------------------------------------

    def _target(self, output: Path | None, now: datetime) -> Path:
        if output is None:
            return self.default_path(now=now)
        output = output.expanduser()
        if output.is_dir():
            return self.default_path(output, now)
        folder = output.parent
        if not folder.is_dir():
            why = "is not a folder" if folder.exists() else "does not exist"
            raise DiagnosticsNotSaved(f"cannot save the diagnostics as {output}: {folder} {why}.")
        if not os.access(folder, os.W_OK):
            raise DiagnosticsNotSaved(
                f"cannot save the diagnostics as {output}: this account may not write in "
                f"{folder}; choose another place."
            )
        if output.exists() and not output.is_file():
            raise DiagnosticsNotSaved(f"cannot save the diagnostics as {output}: not a file.")
        return output

    def _profiles(self, name: str | None) -> list[Profile]:
        profiles = ProfileStore(self._paths.profiles_file).load()
        if name is None:
            return list(profiles.values())
        if name not in profiles:
            raise UnknownProfile(name)
        return [profiles[name]]

    # --- one tunnel -----------------------------------------------------------------------

    def _tunnel(
        self,
        profile: Profile,
        gathered: _Gathered,
        run_test: bool,
        ask: Ask | None,
        events: list[TunnelEvent],
        live: Mapping[str, Mapping[str, Any]] | None,
        env_for: EnvFor | None,
    ) -> None:
        name = profile.name
        folder = f"tunnels/{name}"
        gathered.secrets |= self._secrets_of(profile)
        env = env_for(profile) if env_for is not None else None
        test: dict[str, Any] = {"run": False, "why": "--no-test: the jumphost was not dialled"}
        fingerprint: str | None = None
        if run_test:
            test, fingerprint = run_recorded(
                profile,
                self._paths.known_hosts_file,
                self._loader(ask, gathered.secrets),
                self._status.connected_pid,
                list(ProfileStore(self._paths.profiles_file).load().values()),
                self._proxies.password(profile),
                env,
            )
        route = self._route(profile, env)
        view = profile_view(profile)
        view["key"] = self._key(profile, fingerprint)
        view["route"] = route
        view["pinned_host_keys"] = self._pinned(profile)
        status = self._live(name, live)
        gathered.members += [
            member("profile.json", view, folder),
            member("connection-test.json", test, folder),
            member("status.json", status, folder),
            member("history.json", self._history_of(name, status), folder),
        ]
        mine = [e.to_json() for e in events if e.tunnel == name][-EVENTS:]
        if mine:
            gathered.members.append(member("events.jsonl", "\n".join(mine) + "\n", folder))
        gathered.said.append(f"{name}: {connection_test_summary(test)}, route {route['kind']}")

    def _secrets_of(self, profile: Profile) -> set[str]:
        """What must not leave: the key's stored passphrase, the proxy user's password (and
        the ``user:password`` a Basic sign-in encodes)."""
        found = set()
        passphrase = self._keys.stored(profile.key_path)
        if passphrase:
            found.add(passphrase)
        password = self._proxies.password(profile)
        if password:
            found.add(password)
            try:
                user = parse_proxy(profile.proxy).user
            except TunnelkeeperError:
                user = None
            if user:
                found.add(f"{user}:{password}")
        return found

    def _loader(self, ask: Ask | None, secrets: set[str]) -> Callable[[Profile], LoadedKey]:
        """The connection test's key loader: a passphrase ``ask`` gives joins ``secrets``."""

        def asking(request: PassphraseRequest) -> str | None:
            typed = ask(request) if ask is not None else None
            if typed:
                secrets.add(typed)
            return typed

        return lambda profile: self._keys.load_for(profile, asking if ask else None)

    def _key(self, profile: Profile, fingerprint: str | None) -> dict[str, Any]:
        key: dict[str, Any] = {}
        line = self._keys.public_line_without_asking(profile)
        found = public_line_fingerprint(line) if line else None
        if found is not None:
            key["type"], key["fingerprint"] = found
        if fingerprint is not None:
            key["fingerprint"] = fingerprint
        if "fingerprint" not in key:
            key["fingerprint"] = "not known: the key needs its passphrase and has no .pub file"
        return key

    def _route(self, profile: Profile, env: Mapping[str, str] | None) -> dict[str, Any]:
        try:
            hops = [hop.text for hop in hops_of(profile)]
            route = route_for(profile, env)
        except TunnelkeeperError as exc:
            return {"kind": "unusable", "why": str(exc)}
        proxy = None if route.proxy is None else route.proxy.label
        return route_view(proxy, route.why, hops)

    def _pinned(self, profile: Profile) -> dict[str, Any]:
        try:
            pinned: dict[str, Any] = {profile.endpoint: self._hostkeys.pinned(profile)}
            for hop in hops_of(profile):
                pinned[hop.label] = self._hostkeys.pinned_at(hop.host, hop.port)
        except TunnelkeeperError as exc:
            return {"error": str(exc)}
        return pinned

    def _live(self, name: str, live: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
        """The tunnel's status where it runs: as the front end sees it (``live``), else as
        the hosts on this machine (the app, `run`, the service) say over their sockets."""
        if live is not None:
            seen = [dict(live[name])] if name in live else []
            return {"from": "the desktop app", "tunnels": seen}
        try:
            running = self._status.running([name])
        except TunnelkeeperError as exc:
            return {"error": str(exc)}
        return {
            "from": "the hosts running tunnels on this machine",
            "tunnels": running.tunnels,
            "problems": running.problems,
        }

    def _history_of(self, name: str, status: Mapping[str, Any]) -> dict[str, Any]:
        in_service = any(t.get("host") == "service" for t in status.get("tunnels", []))
        try:
            data, where = find_history(self._history, name, in_service)
        except TunnelkeeperError as exc:
            return {"error": str(exc)}
        data.pop("throughput", None)
        data["from"] = where or "this account's history"
        return data

    # --- the whole machine ----------------------------------------------------------------

    def _log_tail(self, name: str | None) -> Member:
        about = f"the log's last {LOG_LINES} lines" + (f" about {name}" if name else "")
        lines: list[str] = []
        host = self._status.host_of(name, stopped=True) if name else None
        if host is not None:
            try:
                if host.address.system:  # the service's log is its own
                    about += ", from the system service"
                    lines = list(host.request(Op.LOGS, name=name, lines=LOG_LINES))
            except TunnelkeeperError as exc:
                lines = [f"(the system service's log could not be read: {exc})"]
            finally:
                host.close()
        if not lines:
            lines = last_lines(self._paths.log_file, name or "", LOG_LINES)
        lines = lines or [f"(no lines in {self._paths.log_file})"]
        return Member("log-tail.txt", about, "\n".join(lines) + "\n")

    def _alerts(self) -> Member | None:
        """The alert rules, if this installation has any (settings named like secrets are
        replaced, webhook URLs lose their path and query in the redaction)."""
        file = self._paths.config_dir / ALERTS_FILE
        try:
            with file.open("rb") as handle:
                raw = handle.read(ALERTS_LIMIT + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            content: Any = {"error": f"cannot read {file}: {exc.strerror or exc}"}
        else:
            try:
                content = tomllib.loads(raw[:ALERTS_LIMIT].decode("utf-8", "replace"))
            except tomllib.TOMLDecodeError as exc:
                content = {"error": f"{file} is not valid TOML: {exc}"}
        return member("alerts.json", content)

    def _alert_secrets(self) -> set[str]:
        """The alert rules' SMTP passwords (kept in the keychain), to take out wherever
        they show; none when this build has no alerts or the keychain cannot answer."""
        try:  # alerts are new: a build without them still makes a bundle
            from app.storage.alerts import AlertStore  # noqa: PLC0415
        except ImportError:
            return set()
        try:
            rules = AlertStore(self._paths.config_dir / ALERTS_FILE).load()
        except TunnelkeeperError:
            return set()
        found: set[str] = set()
        for rule in rules:
            name = getattr(rule, "secret_name", None)
            try:
                password = self._keychain().get(name) if name else None
            except TunnelkeeperError:
                password = None
            if password:
                user = getattr(rule, "user", None)
                found |= {password, f"{user}:{password}"} if user else {password}
        return found


def _write_zip(target: Path, files: list[tuple[str, bytes]], when: datetime) -> None:
    """Write the zip in one go: a temporary file beside ``target`` (0600), then renamed."""
    buffer = io.BytesIO()
    stamp = when.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            archive.writestr(info, data)
    try:
        atomic_write(target, buffer.getvalue(), 0o600)
    except OSError as exc:
        raise DiagnosticsNotSaved(
            f"cannot save the diagnostics as {target}: {exc.strerror or exc}."
        ) from None
