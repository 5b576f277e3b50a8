"""What Cancel asks about the key files this setup wrote: new keys, and copies of yours (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.ssh.keys import KeyFiles

_STAYS = "Your own key file stays where it is either way: "


@dataclass(frozen=True)
class DiscardQuestion:
    """The words of the "delete or keep?" question Cancel asks."""

    title: str
    text: str
    details: str
    delete: str  # the Delete button's label, with its mnemonic
    keep: str


def discard_question(written: list[KeyFiles], copies: dict[str, str]) -> DiscardQuestion:
    """Ask about ``written`` (every key file pair this run wrote into the keys folder);
    ``copies`` maps the private path of each one that is a copy to the file it was copied
    from, which is never deleted and is named as staying where it is."""
    made = [files.private for files in written if str(files.private) not in copies]
    copied = [files.private for files in written if str(files.private) in copies]
    if not copied:
        one = len(made) == 1
        return DiscardQuestion(
            "Keep the new key?" if one else "Keep the new keys?",
            (
                "This setup created a key that no tunnel uses yet. Delete it, or keep it?"
                if one
                else "This setup created keys that no tunnel uses yet. Delete them, or keep them?"
            ),
            f"{_names(made)}\n\nKeep {'it' if one else 'them'} if you already pasted "
            f"{'its' if one else 'their'} public key at the vendor and want to use "
            f"{'it' if one else 'them'} later.",
            "&Delete key" if one else "&Delete keys",
            "&Keep key" if one else "&Keep keys",
        )
    lines = [f"{path}\n(a copy of {copies[str(path)]})" for path in copied]
    lines += [f"{path}\n(a new key)" for path in made]
    if not made:
        one = len(copied) == 1
        return DiscardQuestion(
            "Keep the copy of your key?" if one else "Keep the copies of your keys?",
            (
                "This setup made a copy of your key, which no tunnel uses yet. Delete the "
                "copy, or keep it?"
                if one
                else "This setup made copies of your keys, which no tunnel uses yet. Delete "
                "the copies, or keep them?"
            ),
            "\n\n".join(
                [*lines, _STAYS + "only the copy in Tunnelkeeper's keys folder is deleted."]
            ),
            "&Delete copy" if one else "&Delete copies",
            "&Keep copy" if one else "&Keep copies",
        )
    return DiscardQuestion(
        "Keep the keys?",
        "This setup created a new key and made a copy of your key; no tunnel uses them yet. "
        "Delete them, or keep them?",
        "\n\n".join([*lines, _STAYS + "only files in Tunnelkeeper's keys folder are deleted."]),
        "&Delete them",
        "&Keep them",
    )


def _names(paths: list[Path]) -> str:
    return ", ".join(str(path) for path in paths)
