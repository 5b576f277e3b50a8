"""Linux packages of the frozen app: a .deb installing to /opt/tunnelkeeper, and a .tar.gz."""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "tunnelkeeper"
INSTALL_DIR = "/opt/tunnelkeeper"
EXECUTABLE = "tunnelkeeper"
MAINTAINER = "Tunnelkeeper <maintainers@tunnelkeeper.invalid>"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

# The desktop libraries the spec leaves to the system (see SYSTEM_LIBS in pyinstaller.spec),
# by soname, and the Debian package that ships each. glib moved to a t64 name in Debian 13 /
# Ubuntu 24.04, hence the alternative.
DEBIAN_PACKAGES: dict[str, str] = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libbrotlicommon.so.1": "libbrotli1",
    "libbrotlidec.so.1": "libbrotli1",
    "libbz2.so.1.0": "libbz2-1.0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0t64 | libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0t64 | libglib2.0-0",
    "liblzma.so.5": "liblzma5",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
}
# Part of libc6 itself (its version floor is worked out from the symbols the bundle uses).
LIBC_SONAMES = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "libpthread.so.0",
        "libresolv.so.2",
        "librt.so.1",
        "libutil.so.1",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
    }
)


class PackagingError(Exception):
    """Something about the frozen folder stops us from packaging it; says what."""


# --- pure --------------------------------------------------------------------------------


def depends(external: Iterable[str], glibc: str | None) -> list[str]:
    """The ``Depends:`` entries for the sonames the bundle loads from the system.

    Raises PackagingError naming any library we do not know the package of, so a new
    dependency fails the build instead of an install.
    """
    unknown = sorted(
        name for name in set(external) if name not in DEBIAN_PACKAGES and name not in LIBC_SONAMES
    )
    if unknown:
        raise PackagingError(
            "the frozen app loads libraries build/linux/package.py has no Debian package for: "
            + ", ".join(unknown)
            + " (add them to DEBIAN_PACKAGES, or bundle them)"
        )
    entries = sorted({DEBIAN_PACKAGES[name] for name in external if name in DEBIAN_PACKAGES})
    libc = f"libc6 (>= {glibc})" if glibc else "libc6"
    return [libc, *entries]


def control_text(version: str, arch: str, depends_on: list[str], installed_kib: int) -> str:
    """The ``DEBIAN/control`` file."""
    return (
        f"Package: {PACKAGE}\n"
        f"Version: {version}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {', '.join(depends_on)}\n"
        "Section: net\n"
        "Priority: optional\n"
        "Description: keeps a reverse SSH tunnel to a data vendor's jumphost open\n"
        " Tunnelkeeper dials out from this machine to a data-integration vendor's SSH\n"
        " jumphost and keeps a reverse port forward to a private database open, so the\n"
        " vendor's pipelines reach it through a strict firewall. A tray app with a setup\n"
        " wizard for desktops, and the `tunnelkeeper` command for servers.\n"
    )


def desktop_entry() -> str:
    """The applications-menu entry (``/usr/share/applications``)."""
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Tunnelkeeper\n"
        "GenericName=Reverse SSH tunnel\n"
        "Comment=Keeps the reverse SSH tunnel to your data vendor open\n"
        f"Exec={INSTALL_DIR}/{EXECUTABLE}\n"
        "Icon=tunnelkeeper\n"
        "Terminal=false\n"
        "Categories=Network;\n"
        "Keywords=ssh;tunnel;database;vendor;\n"
        "StartupNotify=false\n"
    )


# Refresh the menu and icon caches where the desktop has them; a server has neither.
MAINTAINER_SCRIPT = """#!/bin/sh
set -e
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q /usr/share/applications || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
fi
exit 0
"""


def glibc_floor_of(blobs: Iterable[bytes]) -> str | None:
    """The newest ``GLIBC_x.y`` symbol version any of the ELF files asks for."""
    versions = {
        tuple(int(part) for part in match.split(b"."))
        for blob in blobs
        for match in re.findall(rb"GLIBC_(\d+\.\d+(?:\.\d+)?)\x00", blob)
    }
    return ".".join(str(part) for part in max(versions)) if versions else None


def deb_arch(machine: str) -> str:
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf"}.get(machine, machine)


# --- the frozen folder -------------------------------------------------------------------


def app_version() -> str:
    text = (ROOT / "app" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if match is None:
        raise PackagingError("app/__init__.py has no __version__")
    return match.group(1)


def elf_files(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def external_libraries(folder: Path) -> dict[str, set[str]]:
    """Sonames the bundle's ELF files need that are not in the bundle, with their users."""
    bundled = {path.name for path in folder.rglob("*")}
    needed: dict[str, set[str]] = {}
    for path in elf_files(folder):
        dynamic = subprocess.run(
            ["readelf", "--dynamic", "--wide", str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for name in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic):
            if name not in bundled:
                needed.setdefault(name, set()).add(path.name)
    return needed


def folder_kib(folder: Path) -> int:
    total = sum(p.lstat().st_size for p in folder.rglob("*") if not p.is_dir())
    return max(1, (total + 1023) // 1024)


def _icons(into: Path) -> None:
    """The app icon for the menu: the SVG, and PNGs for desktops that want bitmaps."""
    hicolor = into / "usr" / "share" / "icons" / "hicolor"
    scalable = hicolor / "scalable" / "apps"
    scalable.mkdir(parents=True)
    shutil.copy2(ROOT / "resources" / "icons" / "tunnelkeeper.svg", scalable / "tunnelkeeper.svg")
    with tempfile.TemporaryDirectory() as tmp:
        # its own process: drawing needs a Qt application, packaging should not hold one
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        subprocess.run(
            [sys.executable, str(ROOT / "build" / "icons.py"), tmp],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for size in ICON_SIZES:
            target = hicolor / f"{size}x{size}" / "apps"
            target.mkdir(parents=True)
            drawn = Path(tmp) / "png" / f"tunnelkeeper-{size}.png"
            shutil.copy2(drawn, target / "tunnelkeeper.png")


def build_deb(folder: Path, out_dir: Path, version: str, arch: str) -> Path:
    """``<out_dir>/tunnelkeeper_<version>_<arch>.deb`` from the frozen folder."""
    external = external_libraries(folder)
    glibc = glibc_floor_of(path.read_bytes() for path in elf_files(folder))
    depends_on = depends(external, glibc)
    with tempfile.TemporaryDirectory(prefix="tunnelkeeper-deb-") as tmp:
        stage = Path(tmp) / "root"
        shutil.copytree(folder, stage / INSTALL_DIR.lstrip("/"), symlinks=True)
        (stage / "usr" / "bin").mkdir(parents=True)
        (stage / "usr" / "bin" / EXECUTABLE).symlink_to(f"{INSTALL_DIR}/{EXECUTABLE}")
        applications = stage / "usr" / "share" / "applications"
        applications.mkdir(parents=True)
        (applications / "tunnelkeeper.desktop").write_text(desktop_entry(), encoding="utf-8")
        _icons(stage)
        control_dir = stage / "DEBIAN"
        control_dir.mkdir()
        (control_dir / "control").write_text(
            control_text(version, arch, depends_on, folder_kib(stage)), encoding="utf-8"
        )
        for script in ("postinst", "postrm"):
            (control_dir / script).write_text(MAINTAINER_SCRIPT, encoding="utf-8")
            (control_dir / script).chmod(0o755)
        for path in [stage, *stage.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        out_dir.mkdir(parents=True, exist_ok=True)
        deb = out_dir / f"{PACKAGE}_{version}_{arch}.deb"
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(deb)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return deb


def build_tarball(folder: Path, out_dir: Path, version: str, machine: str) -> Path:
    """``<out_dir>/tunnelkeeper-<version>-linux-<machine>.tar.gz``: the folder, owned by
    root, symlinks kept."""

    def as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    out_dir.mkdir(parents=True, exist_ok=True)
    tarball = out_dir / f"{PACKAGE}-{version}-linux-{machine}.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(folder, arcname=PACKAGE, filter=as_root)
    return tarball


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path, help="the frozen folder (dist/tunnelkeeper)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    if not (args.folder / EXECUTABLE).is_file():
        print(f"package.py: no {EXECUTABLE} in {args.folder}; freeze first", file=sys.stderr)
        return 2
    machine = platform.machine()
    version = app_version()
    try:
        deb = build_deb(args.folder, args.out, version, deb_arch(machine))
    except PackagingError as exc:
        print(f"package.py: {exc}", file=sys.stderr)
        return 1
    tarball = build_tarball(args.folder, args.out, version, machine)
    for path in (deb, tarball):
        print(f"{path}  {path.stat().st_size / 1e6:.1f} MB")
    print(f"{args.folder}  {folder_kib(args.folder) / 1024:.1f} MiB unpacked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
