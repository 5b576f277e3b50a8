"""paramiko imported without what the app never uses: invoke and importlib.metadata."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

# paramiko imports invoke (for `Match exec` in ssh_config files, which the app never reads)
# and importlib.metadata (for its own version string) as it loads. Together they cost
# ~8.5 MiB of resident memory (a process that imports paramiko: 41.0 MiB, 32.5 without
# them) and ~50 ms of its start (invoke brings asyncio, unittest.mock and a YAML parser;
# importlib.metadata, email, zipfile and csv). The frozen app leaves invoke
# out of its bundle (pyinstaller.spec); here paramiko is shown it as missing, which it
# handles (SSHConfig's `Match exec` would then raise), and is given its version from
# its own METADATA file, read as importlib.metadata would.
_METADATA = "importlib.metadata"


def import_paramiko() -> None:
    """Import paramiko, once, without invoke or importlib.metadata (neither stays hidden
    afterwards: a later ``import invoke`` works)."""
    if "paramiko" in sys.modules:
        return
    hidden = [name for name in ("invoke", _METADATA) if name not in sys.modules]
    if "invoke" in hidden:
        sys.modules["invoke"] = None  # type: ignore[assignment]  # an ImportError to paramiko
    if _METADATA in hidden:
        sys.modules[_METADATA] = _VersionOnly(_METADATA)
    try:
        import paramiko  # noqa: F401, PLC0415
    finally:
        for name in hidden:
            if sys.modules.get(name) is None or isinstance(sys.modules[name], _VersionOnly):
                sys.modules.pop(name, None)


class _VersionOnly(types.ModuleType):
    """Stands in for importlib.metadata while paramiko loads: ``version`` reads a
    package's METADATA beside it; anything else (or a package not found that way) is
    the real module's answer."""

    def version(self, name: str) -> str:
        found = _installed_version(name)
        return found if found is not None else str(_real().version(name))

    def __getattr__(self, name: str) -> Any:
        return getattr(_real(), name)


def _real() -> types.ModuleType:
    if isinstance(sys.modules.get(_METADATA), _VersionOnly):
        del sys.modules[_METADATA]
    import importlib.metadata  # noqa: PLC0415

    return importlib.metadata


def _installed_version(name: str) -> str | None:
    """``Version:`` of package ``name`` (being imported: in ``sys.modules`` with its
    ``__file__``) from the one ``NAME-*.dist-info/METADATA`` beside it; None when there is
    no single one."""
    origin = getattr(sys.modules.get(name), "__file__", None)
    if not origin:
        return None
    folder = Path(origin).parent.parent
    try:
        found = [
            entry.path
            for entry in os.scandir(folder)
            if entry.name.startswith(f"{name}-") and entry.name.endswith(".dist-info")
        ]
        if len(found) != 1:
            return None
        with open(os.path.join(found[0], "METADATA"), encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("Version:"):
                    return line.partition(":")[2].strip() or None
                if not line.strip():
                    return None  # the headers ended without one
    except (OSError, UnicodeDecodeError):
        return None
    return None
