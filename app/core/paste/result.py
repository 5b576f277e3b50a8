"""The shared pieces of the paste reader: the result, what one piece found, and errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.errors import InvalidField, PasteError

REQUIRED = ("jumphost", "ssh_port", "user", "remote_port", "target_host", "target_port", "key_path")
_LABELS = {
    "jumphost": "the jumphost",
    "ssh_port": "the SSH port",
    "user": "the user",
    "remote_bind": "the remote bind address",
    "remote_port": "the remote port",
    "target_host": "the target host",
    "target_port": "the target port",
    "key_path": "the key",
    "keepalive_interval": "ServerAliveInterval",
    "keepalive_count_max": "ServerAliveCountMax",
    "proxy": "the proxy",
    "jump": "the jump hosts",
    "endpoint": "the endpoint",
}


@dataclass(frozen=True)
class PasteResult:
    """What a paste said: fields found, placeholders still to fill, and what was set aside."""

    fields: dict[str, object]
    placeholders: dict[str, str]
    ignored: tuple[str, ...]
    source: str
    # Why a required field has neither value nor placeholder, where the text says
    # ("the vendor's command has no user@ before tunnel.example"); a sentence per field.
    gaps: dict[str, str] = field(default_factory=dict)

    def missing(self, required: tuple[str, ...] = REQUIRED) -> tuple[str, ...]:
        """Required fields the paste did not give a value for (placeholders count as missing)."""
        return tuple(name for name in required if name not in self.fields)


@dataclass
class Found:
    """What one recognised piece of the paste (a command, a block, a line) gave."""

    source: str
    fields: dict[str, object] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    gaps: dict[str, str] = field(default_factory=dict)
    forward: str | None = None

    def put(self, name: str, value: object, source: str = "") -> None:
        """Keep the first value, as ssh does; note a later, different one."""
        if name not in self.fields:
            self.fields[name] = value
            self.placeholders.pop(name, None)
        elif self.fields[name] != value:
            self.ignored.append(
                f"{_LABELS[name]} {_show(value)} from the {source or self.source} is ignored: "
                f"{_show(self.fields[name])} was given first."
            )

    def hole(self, name: str, token: str) -> None:
        """Remember a placeholder where a value should be, unless a value is already known."""
        if name not in self.fields:
            self.placeholders.setdefault(name, token)

    def note(self, sentence: str) -> None:
        self.ignored.append(sentence)

    def gap(self, name: str, sentence: str) -> None:
        """Say why ``name`` has no value here, unless it has a value or a placeholder."""
        if name not in self.fields and name not in self.placeholders:
            self.gaps.setdefault(name, sentence)


def short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(value: object) -> str:
    return '""' if value == "" else str(value)


def bad(context: str, exc: InvalidField, token: str) -> PasteError:
    label = _LABELS.get(exc.field, exc.field.replace("_", " "))
    joiner = " " if exc.message[:1] in "'\"0123456789" else ": "
    message = f"`{short(context)}`: {label}{joiner}{exc.message}"
    return PasteError(message + _non_ascii_hint(token), token)


def _non_ascii_hint(token: str) -> str:
    """Point at a look-alike letter or digit (Cyrillic i, fullwidth 5) pasted from a web page."""
    odd = next((char for char in token if not char.isascii()), None)
    if odd is None:
        return ""
    return f" It contains {odd!r} (U+{ord(odd):04X}), which is not plain ASCII; type it again."
