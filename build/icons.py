"""The installers' app icon (.ico, .icns and PNGs), drawn with Qt from resources/icons."""

from __future__ import annotations

import argparse
import functools
import struct
import sys
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QCoreApplication, QIODevice, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter
from PySide6.QtSvg import QSvgRenderer

SOURCE = Path(__file__).resolve().parent.parent / "resources" / "icons" / "tunnelkeeper.svg"

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# The ICNS element types that hold a PNG, with their edge in pixels: the set Apple's iconutil
# writes as PNG (and Pillow, which PyInstaller converts icons with). iconutil stores 16 and
# 32 px at 1x as ARGB (ic04, ic05) instead; without them macOS scales the @2x elements.
ICNS_TYPES = (
    (b"ic11", 32),  # 16 pt @2x
    (b"ic12", 64),  # 32 pt @2x
    (b"ic07", 128),
    (b"ic13", 256),  # 128 pt @2x
    (b"ic08", 256),
    (b"ic14", 512),  # 256 pt @2x
    (b"ic09", 512),
    (b"ic10", 1024),  # 512 pt @2x
)
ICNS_SIZES = tuple(sorted({size for _, size in ICNS_TYPES}))
# Apple's icon grid: on a 1024 px canvas the artwork fills the middle 824 px, so an icon
# drawn edge to edge looks oversized next to every other one in Finder and Launchpad.
MAC_ARTWORK = 824 / 1024

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ICO_LARGEST = 256
ICNS_LARGEST = 1024


# --- containers (pure) -------------------------------------------------------------------


def png_dimensions(png: bytes) -> tuple[int, int]:
    """Width and height (pixels) from a PNG's IHDR chunk; ValueError if it is not a PNG."""
    if len(png) < 24 or not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _square_pngs(pngs: Mapping[int, bytes], largest: int) -> list[tuple[int, bytes]]:
    if not pngs:
        raise ValueError("no images given")
    images = sorted(pngs.items())
    for size, png in images:
        if not 1 <= size <= largest:
            raise ValueError(f"{size} px is outside 1 to {largest} px")
        width, height = png_dimensions(png)
        if (width, height) != (size, size):
            raise ValueError(f"the {size} px image is {width}x{height} px")
    return images


def ico_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """A Windows .ico with one PNG-compressed image per edge (pixels, 1 to 256), smallest
    first. Raises ValueError for no images, an edge out of range, or data that is not a
    square PNG of its edge."""
    images = _square_pngs(pngs, ICO_LARGEST)
    header = struct.pack("<HHH", 0, 1, len(images))  # reserved, type 1 (icon), count
    offset = len(header) + 16 * len(images)
    directory = []
    for size, png in images:
        edge = size % 256  # a directory entry stores 256 as 0
        # width, height, palette colours, reserved, colour planes, bits per pixel, length,
        # offset: what Windows expects of a 32-bit RGBA PNG entry
        directory.append(struct.pack("<BBBBHHII", edge, edge, 0, 0, 1, 32, len(png), offset))
        offset += len(png)
    return b"".join([header, *directory, *(png for _, png in images)])


def icns_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """A macOS .icns: a table of contents, then one element per PNG type in ICNS_TYPES
    whose edge (pixels, up to 1024) is given; other edges are left out. Raises ValueError
    as ico_bytes does, and when no given edge has an element type."""
    images = dict(_square_pngs(pngs, ICNS_LARGEST))
    elements = [(kind, images[size]) for kind, size in ICNS_TYPES if size in images]
    if not elements:
        raise ValueError(f"no image of an ICNS edge ({', '.join(map(str, ICNS_SIZES))} px)")
    toc = [b"TOC ", struct.pack(">I", 8 + 8 * len(elements))]
    toc += [kind + struct.pack(">I", 8 + len(png)) for kind, png in elements]
    body = b"".join(toc) + b"".join(
        kind + struct.pack(">I", 8 + len(png)) + png for kind, png in elements
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


# --- drawing (Qt) ------------------------------------------------------------------------


@functools.cache
def gui_application() -> QCoreApplication:
    """The process's QGuiApplication, started on the offscreen platform when there is none
    (build machines often have no display); kept alive for the life of the process."""
    existing = QCoreApplication.instance()
    if existing is None:
        return QGuiApplication(["tunnelkeeper-icons", "-platform", "offscreen"])
    if not isinstance(existing, QGuiApplication):
        raise RuntimeError("a QCoreApplication is running: drawing icons needs a GUI one")
    return existing


def render_png(renderer: QSvgRenderer, size: int, artwork: float = 1.0) -> bytes:
    """The SVG drawn centred on a transparent ``size`` x ``size`` pixel canvas, its larger
    side ``artwork`` times the edge; PNG bytes, 8-bit RGBA."""
    gui_application()
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    edge = size * artwork
    margin = (size - edge) / 2
    renderer.render(painter, QRectF(margin, margin, edge, edge))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(b"png"))
    # straight (not premultiplied) alpha is what PNG stores
    if not writer.write(image.convertToFormat(QImage.Format.Format_ARGB32)):
        raise RuntimeError(f"Qt could not encode the {size} px icon: {writer.errorString()}")
    buffer.close()
    return bytes(data.data())


def write_icons(out_dir: Path, source: Path = SOURCE) -> None:
    """Write ``tunnelkeeper.ico``, ``Tunnelkeeper.icns`` and ``png/tunnelkeeper-<edge>.png``
    into ``out_dir`` (created when missing). Raises ValueError when ``source`` is not an
    SVG that Qt can draw."""
    gui_application()
    renderer = QSvgRenderer(str(source))
    if not renderer.isValid():
        raise ValueError(f"{source}: not an SVG image Qt can draw")
    renderer.setAspectRatioMode(Qt.AspectRatioMode.KeepAspectRatio)
    edge_to_edge = {size: render_png(renderer, size) for size in {*ICO_SIZES, *PNG_SIZES}}
    on_mac_grid = {size: render_png(renderer, size, MAC_ARTWORK) for size in ICNS_SIZES}

    out = Path(out_dir)
    (out / "png").mkdir(parents=True, exist_ok=True)
    (out / "tunnelkeeper.ico").write_bytes(ico_bytes({s: edge_to_edge[s] for s in ICO_SIZES}))
    (out / "Tunnelkeeper.icns").write_bytes(icns_bytes(on_mac_grid))
    for size in PNG_SIZES:
        (out / "png" / f"tunnelkeeper-{size}.png").write_bytes(edge_to_edge[size])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="icons.py",
        description="Draw the app icon for the installers: .ico, .icns and PNGs.",
    )
    parser.add_argument("out_dir", type=Path, help="folder to write into (created if missing)")
    parser.add_argument("--source", type=Path, default=SOURCE, help="the SVG to draw")
    args = parser.parse_args(argv)
    write_icons(args.out_dir, args.source)
    print(f"icons written to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
