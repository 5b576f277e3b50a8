"""The alert rules file (alerts.toml beside the profiles): read, added to, removed from; 0600."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from app.core.alert_rules import AlertRule, rule_from_dict
from app.core.safeload import Unparsable, loads_toml
from app.errors import ConfigBusy, CorruptConfigFile, InvalidField, UnknownAlert
from app.storage.fileio import atomic_write, move_aside

_HEADER = (
    "# Tunnelkeeper alerts. Edit with `tunnelkeeper alerts add/remove`. Webhook addresses\n"
    "# hold their receiver's secret: this file is readable by its owner alone.\n"
)
SERVICE_HEADER = (
    "# The system service's alerts, copied from a user's by `tunnelkeeper service install\n"
    "# --system --alerts` (run it again to replace them). Webhook addresses hold their\n"
    "# receiver's secret: root and the service's group alone read this file.\n"
)
SCHEMA = 1
LOCK_TIMEOUT = 10.0
REMEDY = "fix it, or move it aside and add the alerts again with `tunnelkeeper alerts add`."

Stamp = tuple[int, int, int]  # (inode, modification time in ns, size)


class AlertStore:
    """``[alerts.ID]`` tables, one per rule; IDs are numbers never given twice."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def stamp(self) -> Stamp | None:
        """What changes whenever the file does (None: there is none): a watcher's cheap look."""
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def load(self) -> list[AlertRule]:
        """Every rule, in ID order; none when there is no file. Raises CorruptConfigFile
        (the file left as it is) when it cannot be read or a rule is malformed."""
        return self._rules(self._read())

    def get(self, rule_id: str) -> AlertRule:
        for rule in self.load():
            if rule.id == rule_id:
                return rule
        raise UnknownAlert(rule_id)

    def add(self, make: Callable[[str], AlertRule]) -> AlertRule:
        """Add the rule ``make(ID)`` returns, with the next unused ID; raises what ``make``
        raises (nothing is written then), ConfigBusy and CorruptConfigFile."""
        with self._locked():
            data = self._read()
            rules = self._rules(data)
            taken = [int(rule.id) for rule in rules if rule.id.isdigit()]
            next_id = max([_number(data.get("next_id")), *(n + 1 for n in taken), 1])
            rule = make(str(next_id))
            data.setdefault("alerts", {})[rule.id] = rule.to_dict()
            data["next_id"] = next_id + 1
            self._write(data)
            return rule

    def remove(self, rule_id: str) -> AlertRule:
        """Remove rule ``rule_id`` and return it; raises UnknownAlert."""
        with self._locked():
            data = self._read()
            found = {rule.id: rule for rule in self._rules(data)}
            if rule_id not in found:
                raise UnknownAlert(rule_id)
            del data["alerts"][rule_id]
            self._write(data)
            return found[rule_id]

    def move_aside(self) -> Path:
        with self._locked():
            return move_aside(self.path)

    # --- internals ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # filelock and tomli_w are for writing: a process that only reads the rules
        # (`run`'s alert watcher) never loads them (filelock alone is ~8 MiB of imports)
        from filelock import FileLock, Timeout  # noqa: PLC0415

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT)
        try:
            lock.acquire()
        except Timeout:
            raise ConfigBusy(str(self.path)) from None
        try:
            yield
        finally:
            lock.release()

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            return {}
        except UnicodeDecodeError as exc:
            raise self._corrupt(f"not UTF-8 text: {exc.reason}") from None
        except OSError as exc:
            raise self._corrupt(exc.strerror or str(exc)) from None
        try:
            data = loads_toml(text)
        except Unparsable as exc:
            raise self._corrupt(str(exc)) from None
        alerts = data.get("alerts", {})
        if not isinstance(alerts, dict) or not all(isinstance(v, dict) for v in alerts.values()):
            raise self._corrupt("'alerts' must hold one table per alert")
        schema = data.get("schema", SCHEMA)
        if not isinstance(schema, int) or isinstance(schema, bool) or schema > SCHEMA:
            raise self._corrupt(
                f"schema {schema!r}: it was written by a newer Tunnelkeeper; upgrade Tunnelkeeper"
            )
        return data

    def _rules(self, data: dict[str, Any]) -> list[AlertRule]:
        rules = []
        for rule_id, fields in data.get("alerts", {}).items():
            try:
                rules.append(rule_from_dict(rule_id, fields))
            except InvalidField as exc:
                raise self._corrupt(f"alert {rule_id}: {exc}") from None
        return sorted(rules, key=lambda r: (len(r.id), r.id))

    def _corrupt(self, detail: str) -> CorruptConfigFile:
        return CorruptConfigFile(str(self.path), detail, REMEDY)

    def _write(self, data: dict[str, Any]) -> None:
        ordered = {
            "schema": SCHEMA,
            "next_id": data.get("next_id", 1),
            "alerts": data.get("alerts", {}),
        }
        import tomli_w  # noqa: PLC0415

        body = _HEADER + tomli_w.dumps(ordered)
        atomic_write(self.path.resolve(), body.encode("utf-8"), mode=0o600)


def alerts_document(rules: Sequence[AlertRule], header: str = _HEADER) -> bytes:
    """An alerts file holding ``rules`` (their IDs kept), as ``AlertStore`` reads it."""
    taken = [int(rule.id) for rule in rules if rule.id.isdigit()]
    data = {
        "schema": SCHEMA,
        "next_id": max(taken, default=0) + 1,
        "alerts": {rule.id: rule.to_dict() for rule in rules},
    }
    import tomli_w  # noqa: PLC0415

    return (header + tomli_w.dumps(data)).encode("utf-8")


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1
