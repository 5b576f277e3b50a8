"""What the Endpoint page says about a paste: what it found, and what it leaves to fill (no Qt)."""

from __future__ import annotations

from app.core.paste import PasteResult
from app.core.profile import FIELDS

LABELS = {
    "jumphost": "jumphost",
    "ssh_port": "SSH port",
    "user": "user",
    "remote_port": "allocated port",
    "remote_bind": "bind address",
    "target_host": "target host",
    "target_port": "target port",
    "jump": "jump hosts",
}
# The fields as a sentence names them ("the user name is missing").
NAMED = {
    "jumphost": "the jumphost",
    "ssh_port": "the SSH port",
    "user": "the user name",
    "remote_port": "the allocated port",
    "remote_bind": "the bind address",
    "target_host": "the target host",
    "target_port": "the target port",
    "jump": "the jump hosts",
}
_PHRASES = {
    "keepalive_interval": "keepalive every {} s",
    "keepalive_count_max": "{} missed keepalive(s) allowed",
}
ASK = "ask the vendor or type it"


def shown(name: str, value: object) -> str:
    """How a parsed or stored value reads in its field (None, as no jump host: empty)."""
    if value is None and name != "remote_bind":
        return ""
    if name == "remote_bind":
        return "" if value is None else ("*" if value == "" else str(value))
    return str(value)


def _phrase(name: str, value: object) -> str:
    """One found field, as the note under the paste box lists it."""
    if name in _PHRASES:
        return _PHRASES[name].format(value)
    return f"{LABELS.get(name, name)} {shown(name, value)}"


def summary(result: PasteResult) -> tuple[str, bool]:
    """The note under the paste box, and whether the paste leaves anything to fill in."""
    # The key is chosen on the Key page, whatever the vendor's command calls it.
    found = ", ".join(_phrase(k, v) for k, v in result.fields.items() if k != "key_path")
    todo: list[str] = []
    for name in FIELDS:
        if name == "key_path" or name in result.fields:
            continue
        if name in result.placeholders:
            todo.append(f"{LABELS.get(name, name)} ({result.placeholders[name]})")
        elif name in result.gaps:
            todo.append(f"{LABELS.get(name, name)} ({result.gaps[name]})")
    text = f"Found in the {result.source}: {found or 'nothing usable'}."
    if todo:
        text += f"\nStill to fill in: {', '.join(todo)}."
    return text, bool(todo)


def missing(result: PasteResult, names: tuple[str, ...]) -> dict[str, str]:
    """For each of ``names`` the paste gives no value for, a sentence for the note under its
    field saying exactly what is missing and why."""
    out: dict[str, str] = {}
    for name in names:
        if name in result.fields:
            continue
        what = NAMED.get(name, name)
        if name in result.placeholders:
            out[name] = (
                f"{what} is still a placeholder in the vendor's text "
                f"({result.placeholders[name]}): type the value the vendor gave you."
            )
        elif name in result.gaps:
            out[name] = f"{what} is missing: {result.gaps[name]} — {ASK}."
        else:
            out[name] = f"{what} is missing: the vendor's text does not give it — {ASK}."
    return out
