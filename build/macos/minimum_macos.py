"""Fail when a binary in an app bundle needs a newer macOS than its LSMinimumSystemVersion."""

from __future__ import annotations

import argparse
import fnmatch
import os
import plistlib
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

Version = tuple[int, int, int]

CPU_TYPES = {"arm64": 0x0100000C, "x86_64": 0x01000007}
_FAT_MAGIC = 0xCAFEBABE
_FAT_MAGIC_64 = 0xCAFEBABF
_MH_MAGIC_64 = 0xFEEDFACF
# Java class files share the fat magic; the word after it (their version) is at least 45.
_MAX_FAT_SLICES = 30
_LC_VERSION_MIN_MACOSX = 0x24
_LC_BUILD_VERSION = 0x32
_PLATFORM_MACOS = 1
_MACH_HEADER_64 = 32  # bytes


def decode_version(packed: int) -> Version:
    """A Mach-O version word (xxxx.yy.zz in nibbles) as (major, minor, patch)."""
    return packed >> 16, (packed >> 8) & 0xFF, packed & 0xFF


def parse_version(text: str) -> Version:
    """A version such as "14", "14.2" or "14.2.1" as (major, minor, patch); ValueError for
    anything else."""
    parts = text.strip().split(".")
    if not 1 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
        raise ValueError(f"not a macOS version: {text!r}")
    major, minor, patch = (*map(int, parts), 0, 0)[:3]
    return major, minor, patch


def show(version: Version) -> str:
    major, minor, patch = version
    return f"{major}.{minor}.{patch}" if patch else f"{major}.{minor}"


def is_macho(head: bytes) -> bool:
    """Whether a file starting with ``head`` (at least 8 bytes) is a 64-bit or fat Mach-O."""
    if len(head) < 8:
        return False
    magic, count = struct.unpack_from(">II", head)
    if magic in (_FAT_MAGIC, _FAT_MAGIC_64):
        return bool(count <= _MAX_FAT_SLICES)
    return bool(struct.unpack_from("<I", head)[0] == _MH_MAGIC_64)


def slices(data: bytes) -> dict[int, bytes]:
    """Each architecture's image in a Mach-O file, by CPU type. ValueError (or struct.error)
    for a file that is not a well-formed 64-bit or fat Mach-O."""
    if not is_macho(data):
        raise ValueError("not a 64-bit or fat Mach-O file")
    magic, count = struct.unpack_from(">II", data)
    if magic == _FAT_MAGIC:
        layout, size = ">IIIII", 20
    elif magic == _FAT_MAGIC_64:
        layout, size = ">IIQQII", 32
    else:
        return {struct.unpack_from("<I", data, 4)[0]: data}
    images = {}
    for index in range(count):
        cpu, _subtype, offset, length, *_ = struct.unpack_from(layout, data, 8 + index * size)
        if offset + length > len(data):
            raise ValueError("a fat slice runs past the end of the file")
        images[cpu] = data[offset : offset + length]
    return images


def minimum_macos(image: bytes) -> Version | None:
    """The macOS a thin 64-bit Mach-O image says it needs (LC_BUILD_VERSION's minos, or the
    older LC_VERSION_MIN_MACOSX), None when it says nothing. ValueError (or struct.error)
    for malformed load commands."""
    if struct.unpack_from("<I", image)[0] != _MH_MAGIC_64:
        raise ValueError("not a thin 64-bit Mach-O image")
    (count,) = struct.unpack_from("<I", image, 16)
    offset = _MACH_HEADER_64
    for _ in range(count):
        command, size = struct.unpack_from("<II", image, offset)
        if command == _LC_BUILD_VERSION:
            platform, minos = struct.unpack_from("<II", image, offset + 8)
            if platform == _PLATFORM_MACOS:
                return decode_version(minos)
        elif command == _LC_VERSION_MIN_MACOSX:
            return decode_version(struct.unpack_from("<I", image, offset + 8)[0])
        if size < 8:
            raise ValueError("malformed load command")
        offset += size
    return None


def bundle_binaries(bundle: Path) -> Iterator[Path]:
    """Every Mach-O file in the bundle, once: symbolic links (PyInstaller links Resources/
    to Frameworks/) are neither followed nor listed."""
    for folder, _dirs, files in os.walk(bundle):
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_symlink():
                continue
            with path.open("rb") as stream:
                if is_macho(stream.read(8)):
                    yield path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="minimum_macos.py",
        description="Check that no binary in an .app needs a newer macOS than its "
        "Info.plist's LSMinimumSystemVersion, and that each has the architecture's code.",
    )
    parser.add_argument("app", type=Path, help="the .app bundle")
    parser.add_argument("--arch", choices=sorted(CPU_TYPES), default="arm64")
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="PATTERN",
        help="file-name pattern whose minimum is not checked (it must still hold the "
        "architecture's code); repeatable",
    )
    args = parser.parse_args(argv)
    info = plistlib.loads((args.app / "Contents" / "Info.plist").read_bytes())
    try:
        promised = parse_version(str(info.get("LSMinimumSystemVersion", "")))
    except ValueError as exc:
        print(f"minimum_macos.py: LSMinimumSystemVersion: {exc}", file=sys.stderr)
        return 1
    cpu = CPU_TYPES[args.arch]
    problems: list[str] = []
    binaries = 0
    newest: tuple[Version, Path] | None = None
    for path in bundle_binaries(args.app):
        binaries += 1
        shown = path.relative_to(args.app)
        try:
            image = slices(path.read_bytes()).get(cpu)
            needed = None if image is None else minimum_macos(image)
        except (ValueError, struct.error) as exc:
            problems.append(f"{shown}: cannot read it ({exc})")
            continue
        if image is None:
            problems.append(f"{shown}: has no {args.arch} code")
            continue
        if needed is None or any(fnmatch.fnmatch(path.name, p) for p in args.ignore):
            continue
        if needed > promised:
            problems.append(
                f"{shown}: needs macOS {show(needed)}, newer than LSMinimumSystemVersion "
                f"{show(promised)}: raise it in build/macos/Info.plist"
            )
        if newest is None or needed > newest[0]:
            newest = (needed, shown)
    if binaries == 0:
        problems.append("no Mach-O binaries in the bundle")
    elif newest is not None:
        print(
            f"LSMinimumSystemVersion is {show(promised)}; the bundled binaries checked need "
            f"macOS {show(newest[0])} ({newest[1]})"
        )
    for problem in problems:
        print(f"minimum_macos.py: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
