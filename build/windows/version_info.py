"""The Windows version resource (Properties > Details) as PyInstaller's VSVersionInfo text."""

from __future__ import annotations

import re
from pathlib import Path

PRODUCT = "Tunnelkeeper"
COPYRIGHT = "Copyright © Tunnelkeeper contributors. MIT License."
# US English, Unicode (code page 1200): the language the strings below are in
LANGUAGE, CODEPAGE = 0x0409, 1200
_MAX_PART = 0xFFFF  # each of the four numbers is a 16-bit word


def numeric_version(version: str) -> tuple[int, int, int, int]:
    """The four 16-bit numbers Windows shows for a version: its leading release numbers,
    padded with zeros ("0.2.0rc1" -> (0, 2, 0, 0)). Raises ValueError when ``version`` does
    not start with a number, has more than four, or one exceeds 65535."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    if match is None:
        raise ValueError(f"version {version!r} does not start with a number")
    parts = [int(part) for part in match.group().split(".")]
    if len(parts) > 4:
        raise ValueError(f"version {version!r} has more than four numbers")
    if any(part > _MAX_PART for part in parts):
        raise ValueError(f"version {version!r} has a number above {_MAX_PART}")
    major, minor, micro, build = (*parts, 0, 0, 0)[:4]
    return major, minor, micro, build


def version_text(
    version: str,
    original_filename: str = f"{PRODUCT}.exe",
    description: str = PRODUCT,
) -> str:
    """The resource as the text ``pyi-grab_version`` writes and PyInstaller's ``version=``
    option reads (Python expressions; strings are written as literals)."""
    numbers = numeric_version(version)
    strings = {
        "CompanyName": PRODUCT,
        "FileDescription": description,
        "FileVersion": version,
        "InternalName": PRODUCT,
        "LegalCopyright": COPYRIGHT,
        "OriginalFilename": original_filename,
        "ProductName": PRODUCT,
        "ProductVersion": version,
    }
    table = ",\n".join(
        f"          StringStruct({name!r}, {value!r})" for name, value in strings.items()
    )
    return f"""# UTF-8
# Written by build/windows/version_info.py for Tunnelkeeper {version}
VSVersionInfo(
  ffi=FixedFileInfo(
    filevers={numbers},
    prodvers={numbers},
    mask=0x3f,
    flags=0x0,
    OS=0x40004,
    fileType=0x1,
    subtype=0x0,
    date=(0, 0)
  ),
  kids=[
    StringFileInfo(
      [
        StringTable(
          '{LANGUAGE:04X}{CODEPAGE:04X}',
          [
{table}
          ])
      ]),
    VarFileInfo([VarStruct('Translation', [{LANGUAGE}, {CODEPAGE}])])
  ]
)
"""


def write_version_file(
    version: str,
    path: Path,
    original_filename: str = f"{PRODUCT}.exe",
    description: str = PRODUCT,
) -> str:
    """Write the resource text for ``version`` to ``path`` (parent folders created) and
    return the path as a string, ready for EXE(version=...). Raises ValueError as
    numeric_version does."""
    text = version_text(version, original_filename, description)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return str(target)
