"""The key file a vendor's command names (``ssh -i``): where it is, and if it is ours (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.paste import PasteResult, is_placeholder

_MAX_KEY_BYTES = 64 * 1024  # far above any private key file; a bigger file is no key


@dataclass(frozen=True)
class VendorKey:
    """The ``-i`` key file of a paste, as found on this computer."""

    given: str  # as the vendor's text spells it
    path: Path  # where that is here
    exists: bool
    chosen: bool  # the key this tunnel uses is a copy of it (or it)


def given_key(paste: PasteResult | None) -> str:
    """The key file the paste names, "" when none (or only a placeholder such as <key>)."""
    if paste is None:
        return ""
    given = str(paste.fields.get("key_path", "")).strip()
    return "" if not given or is_placeholder(given) else given


def locate(given: str, home: Path | None = None) -> Path:
    """``~`` expanded; a relative path is taken from the home folder, where the terminal the
    vendor's command was written for starts."""
    path = Path(given).expanduser()
    return path if path.is_absolute() else (home or Path.home()) / path


def _same_file(first: Path, second: Path) -> bool:
    """The same file, or a verbatim copy of it (the Key page copies keys in byte for byte)."""
    try:
        if first.resolve() == second.resolve():
            return True
        if first.stat().st_size != second.stat().st_size:
            return False
        if first.stat().st_size > _MAX_KEY_BYTES:
            return False
        return first.read_bytes() == second.read_bytes()
    except OSError:
        return False


def look(given: str, chosen_key: str, home: Path | None = None) -> VendorKey:
    """Find the vendor's key file here and compare it with ``chosen_key`` (the private key
    this tunnel uses; "" when none is chosen yet). Reads files: call off the GUI thread."""
    path = locate(given, home)
    exists = path.is_file()
    chosen = exists and bool(chosen_key) and _same_file(path, Path(chosen_key))
    return VendorKey(given, path, exists, chosen)


def endpoint_sentence(vendor: VendorKey) -> str:
    """What the Endpoint page says about the vendor's key file."""
    if vendor.chosen:
        return (
            f"The vendor's command uses the key file {vendor.given}: this tunnel uses that "
            "key (copied in on the Key page)."
        )
    if vendor.exists:
        return (
            f"The vendor's command uses the key file {_where(vendor)}, but this tunnel uses "
            "the key chosen on the Key page. If the vendor already has that file's public "
            "key, go Back: the Key page offers it for import."
        )
    return (
        f"The vendor's command uses the key file {vendor.given}, which is {_absent(vendor)}. "
        "If the vendor gave you that key, go Back and choose it on the Key page; otherwise "
        "the vendor needs the public key of the key chosen there."
    )


def key_page_sentence(vendor: VendorKey) -> str:
    """What the Key page says when it offers the vendor's key file for import."""
    if vendor.exists:
        return (
            f"The vendor's command uses the key file {vendor.given}: it is chosen below; "
            "press Use this key to import it."
        )
    return (
        f"The vendor's command uses the key file {vendor.given}: choose it below to import "
        f"it, under Use an existing private key file (it is {_absent(vendor)})."
    )


def _where(vendor: VendorKey) -> str:
    """The file as the vendor wrote it, and where that is here when it reads differently."""
    shown = str(vendor.path)
    return vendor.given if shown == vendor.given else f"{vendor.given} ({shown})"


def _absent(vendor: VendorKey) -> str:
    shown = str(vendor.path)
    return "not on this computer" if shown == vendor.given else f"not at {shown}"
