"""Reading and writing the profiles file (TOML), atomically and without losing anything."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.profile import Profile, profile_from_dict
from app.core.safeload import Unparsable, loads_toml
from app.errors import (
    ConfigBusy,
    CorruptConfigFile,
    InvalidField,
    ProfileExists,
    UnknownProfile,
)
from app.storage.fileio import atomic_write, move_aside

if TYPE_CHECKING:
    from filelock import FileLock

_HEADER = "# Tunnelkeeper tunnel profiles. Edit with `tunnelkeeper add/remove`.\n"
SCHEMA = 1  # bump when the layout changes; older files are read, newer ones refused
LOCK_TIMEOUT = 10.0


class ProfileStore:
    """The profiles file: ``[tunnels.NAME]`` tables, one per tunnel."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _lock(self) -> FileLock:
        # filelock and tomli_w are for writing: a process that only reads (`run`) never
        # loads them (filelock alone is ~8 MiB of imports)
        from filelock import FileLock  # noqa: PLC0415

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT)

    def _locked(self) -> FileLock:
        from filelock import Timeout  # noqa: PLC0415

        lock = self._lock()
        try:
            lock.acquire()
        except Timeout:
            raise ConfigBusy(str(self.path)) from None
        return lock

    def _read_raw(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            return {}
        except UnicodeDecodeError as exc:
            raise CorruptConfigFile(str(self.path), f"not UTF-8 text: {exc.reason}") from None
        except OSError as exc:
            raise CorruptConfigFile(str(self.path), exc.strerror or str(exc)) from None
        except MemoryError:
            raise CorruptConfigFile(str(self.path), "it is too large to read") from None
        try:
            data = loads_toml(text)
        except Unparsable as exc:  # also nesting too deep for tomllib (a RecursionError)
            raise CorruptConfigFile(str(self.path), str(exc)) from None
        tunnels = data.get("tunnels", {})
        if not isinstance(tunnels, dict) or not all(isinstance(v, dict) for v in tunnels.values()):
            raise CorruptConfigFile(str(self.path), "'tunnels' must hold one table per tunnel")
        schema = data.get("schema", 1)
        if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
            raise CorruptConfigFile(str(self.path), f"schema: {schema!r} is not a version number")
        if schema > SCHEMA:
            raise CorruptConfigFile(
                str(self.path),
                f"it was written by a newer Tunnelkeeper (schema {schema}, this one reads "
                f"up to {SCHEMA}); upgrade Tunnelkeeper",
            )
        return data

    def _line_of(self, name: str, field: str | None = None) -> int | None:
        """The line of ``field`` in the tunnel's table, else of the table's header."""
        try:
            # split on "\n" only, as TOML (and tomllib's line numbers) do
            lines = self.path.read_text(encoding="utf-8-sig").split("\n")
        except (OSError, UnicodeDecodeError):
            return None
        header = re.compile(rf"^\s*\[\s*tunnels\s*\.\s*[\"']?{re.escape(name)}[\"']?\s*\]")
        key = re.compile(rf"^\s*[\"']?{re.escape(field)}[\"']?\s*=") if field else None
        for number, line in enumerate(lines, start=1):
            if header.match(line):
                for offset, later in enumerate(lines[number:], start=number + 1):
                    if later.lstrip().startswith("["):
                        break
                    if key is not None and key.match(later):
                        return offset
                return number
        return None

    def load(self) -> dict[str, Profile]:
        """All profiles; a malformed file or entry raises, naming the line."""
        tunnels: dict[str, Any] = self._read_raw().get("tunnels", {})
        profiles: dict[str, Profile] = {}
        for name, fields in tunnels.items():
            try:
                profiles[name] = profile_from_dict(name, fields)
            except InvalidField as exc:
                line = self._line_of(name, exc.field)
                where = f"line {line}, " if line else ""
                raise CorruptConfigFile(str(self.path), f"{where}tunnel {name!r}: {exc}") from None
        return profiles

    def get(self, name: str) -> Profile:
        profiles = self.load()
        if name not in profiles:
            raise UnknownProfile(name)
        return profiles[name]

    def add(self, profile: Profile, *, replace: bool = False) -> None:
        with self._locked():
            self._add(profile, replace)

    def _add(self, profile: Profile, replace: bool) -> None:
        data = self._read_raw()
        self.load()  # refuse to rewrite a file with a bad entry: it would be lost
        tunnels = data.setdefault("tunnels", {})
        if profile.name in tunnels and not replace:
            raise ProfileExists(profile.name)
        tunnels[profile.name] = {**profile.extra, **profile.to_dict()}
        tunnels[profile.name].pop("name", None)
        self._write(data)

    def update(self, name: str, change: Callable[[Profile], Profile]) -> tuple[Profile, Profile]:
        """Replace tunnel ``name`` by ``change(it)`` in one locked read-and-write, so an edit
        made meanwhile by another process is neither lost nor overwritten; returns (before,
        after). The name stays (ValueError otherwise). Raises UnknownProfile and whatever
        ``change`` raises (then nothing is written)."""
        with self._locked():
            before = self.get(name)
            after = change(before)
            if after.name != name:
                raise ValueError("update keeps the tunnel's name; rename with save()")
            self._add(after, replace=True)
            return before, after

    def remove(self, name: str) -> Profile | None:
        """Remove a tunnel and return it; an entry too broken to load can still be removed
        by its own name (then ``None`` is returned)."""
        with self._locked():
            return self._remove(name)

    def _remove(self, name: str) -> Profile | None:
        data = self._read_raw()
        if name not in data.get("tunnels", {}):
            raise UnknownProfile(name)
        try:
            removed: Profile | None = self.load()[name]
        except CorruptConfigFile:
            remaining = {k: v for k, v in data["tunnels"].items() if k != name}
            # Only the broken entry itself may go; anything else waits until it is fixed.
            ProfileStore._check_entries(remaining, self)
            removed = None
        del data["tunnels"][name]
        self._write(data)
        return removed

    @staticmethod
    def _check_entries(tunnels: dict[str, Any], store: ProfileStore) -> None:
        for entry_name, fields in tunnels.items():
            try:
                profile_from_dict(entry_name, fields)
            except InvalidField:
                store.load()  # raises with the line of the first bad entry

    def move_aside(self) -> Path:
        """Rename a broken file out of the way (only when the user said so); return where."""
        with self._locked():
            return move_aside(self.path)

    def _write(self, data: dict[str, Any]) -> None:
        data = {"schema": SCHEMA, **{k: v for k, v in data.items() if k != "schema"}}
        import tomli_w  # noqa: PLC0415

        body = tomli_w.dumps(data)
        # through a symlink, replace the file it points at rather than the link
        atomic_write(self.path.resolve(), (_HEADER + body).encode("utf-8"), mode=0o600)
