"""build/icons.py: the .ico, .icns and PNGs the installers use, read back byte by byte."""

from __future__ import annotations

import re
import struct
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from tests.build.conftest import load_script
from tests.support.cli import ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ICO_SIZES = [16, 24, 32, 48, 64, 128, 256]
PNG_SIZES = [16, 24, 32, 48, 64, 128, 256, 512]
# Apple's PNG element types and the pixel edge each must hold (the ICNS format, not our code)
ICNS_EDGES = {
    b"ic07": 128,
    b"ic08": 256,
    b"ic09": 512,
    b"ic10": 1024,
    b"ic11": 32,
    b"ic12": 64,
    b"ic13": 256,
    b"ic14": 512,
}
SVG = ROOT / "resources" / "icons" / "tunnelkeeper.svg"


@pytest.fixture(scope="module")
def icons() -> ModuleType:
    return load_script("build/icons.py")


@pytest.fixture(scope="module")
def drawn(icons: ModuleType, qapp: QApplication, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What write_icons writes into a folder that does not exist yet. (pytest-qt's qapp first:
    the session's one application must be a QApplication for the widget tests.)"""
    out = tmp_path_factory.mktemp("icons") / "generated"
    icons.write_icons(out)
    return out


# --- readers, written from the formats' descriptions rather than from the module ---------


def ico_entries(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(width, height, offset, image) per directory entry; checks the header and bounds."""
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1)
    entries = []
    for index in range(count):
        width, height, colours, zero, planes, bits, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * index
        )
        assert (colours, zero, planes, bits) == (0, 0, 1, 32)
        assert offset + length <= len(data)
        entries.append((width or 256, height or 256, offset, data[offset : offset + length]))
    return entries


def icns_elements(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) per element; checks the header's length and that elements tile the file."""
    assert data[:4] == b"icns"
    assert struct.unpack_from(">I", data, 4)[0] == len(data)
    elements, offset = [], 8
    while offset < len(data):
        kind = data[offset : offset + 4]
        (length,) = struct.unpack_from(">I", data, offset + 4)
        assert length >= 8
        elements.append((kind, data[offset + 8 : offset + length]))
        offset += length
    assert offset == len(data)
    return elements


def toc_of(elements: list[tuple[bytes, bytes]]) -> list[tuple[bytes, int]]:
    kind, payload = elements[0]
    assert kind == b"TOC "
    return [
        (payload[i : i + 4], struct.unpack_from(">I", payload, i + 4)[0])
        for i in range(0, len(payload), 8)
    ]


def png_image(data: bytes) -> QImage:
    assert data.startswith(PNG_SIGNATURE)
    bit_depth, colour_type = data[24], data[25]
    assert (bit_depth, colour_type) == (8, 6), "8-bit RGBA"
    image = QImage.fromData(data, "PNG")
    assert not image.isNull()
    return image


def opaque_columns(image: QImage) -> tuple[int, int]:
    """First and last column holding a visible pixel."""
    columns = [
        x
        for x in range(image.width())
        if any(image.pixelColor(x, y).alpha() > 0 for y in range(image.height()))
    ]
    return columns[0], columns[-1]


def fake_png(edge: int, payload: bytes = b"") -> bytes:
    """Enough of a PNG for the containers: signature and IHDR (the writers do not decode)."""
    ihdr = struct.pack(">II", edge, edge) + bytes([8, 6, 0, 0, 0])
    return PNG_SIGNATURE + struct.pack(">I", 13) + b"IHDR" + ihdr + bytes(4) + payload


# --- what write_icons writes --------------------------------------------------------------


def test_writes_the_ico_the_icns_and_one_png_per_size(drawn: Path) -> None:
    written = {path.relative_to(drawn).as_posix() for path in drawn.rglob("*") if path.is_file()}
    expected = {"tunnelkeeper.ico", "Tunnelkeeper.icns"}
    expected |= {f"png/tunnelkeeper-{size}.png" for size in PNG_SIZES}
    assert written == expected
    for size in PNG_SIZES:
        image = png_image((drawn / "png" / f"tunnelkeeper-{size}.png").read_bytes())
        assert (image.width(), image.height()) == (size, size)


def test_ico_holds_one_rgba_png_per_size_back_to_back(drawn: Path) -> None:
    data = (drawn / "tunnelkeeper.ico").read_bytes()
    entries = ico_entries(data)
    assert [(width, height) for width, height, _, _ in entries] == [(s, s) for s in ICO_SIZES]
    offset = 6 + 16 * len(entries)
    for width, _, start, png in entries:
        assert start == offset  # images follow the directory without gaps or overlap
        offset += len(png)
        image = png_image(png)
        assert (image.width(), image.height()) == (width, width)
        assert image.hasAlphaChannel()
    assert offset == len(data)


def test_icns_table_of_contents_lists_the_png_elements_that_follow(drawn: Path) -> None:
    elements = icns_elements((drawn / "Tunnelkeeper.icns").read_bytes())
    toc = toc_of(elements)
    assert toc == [(kind, len(payload) + 8) for kind, payload in elements[1:]]
    assert {kind for kind, _ in elements[1:]} == set(ICNS_EDGES)
    for kind, payload in elements[1:]:
        image = png_image(payload)
        assert (image.width(), image.height()) == (ICNS_EDGES[kind], ICNS_EDGES[kind])


def test_the_icon_is_the_svg_drawn(drawn: Path) -> None:
    fill = re.search(r'fill="(#[0-9A-Fa-f]{6})"', SVG.read_text())
    assert fill is not None
    image = png_image(ico_entries((drawn / "tunnelkeeper.ico").read_bytes())[-1][3])
    assert image.pixelColor(0, 0).alpha() == 0  # transparent around the arch
    assert image.pixelColor(128, 230).alpha() == 0  # and through the tunnel's mouth
    # inside the left pillar (SVG x 13, y 50 of 64): the fill colour, opaque
    inside = image.pixelColor(52, 200)
    assert inside.alpha() == 255
    assert inside.name() == QColor(fill.group(1)).name()


def test_mac_icon_keeps_apples_margin_and_windows_icon_does_not(drawn: Path) -> None:
    mac = dict(icns_elements((drawn / "Tunnelkeeper.icns").read_bytes()))
    mac_left, mac_right = opaque_columns(png_image(mac[b"ic07"]))
    ico = (drawn / "tunnelkeeper.ico").read_bytes()
    windows = {width: png for width, _, _, png in ico_entries(ico)}
    ico_left, ico_right = opaque_columns(png_image(windows[128]))
    margin = 128 * 100 / 1024  # Apple's grid: 100 px of a 1024 px canvas on each side
    assert mac_left >= margin and mac_right <= 128 - margin
    assert ico_left < margin and ico_right > 128 - margin


def test_a_file_that_is_not_an_svg_is_refused(
    icons: ModuleType, qapp: QApplication, tmp_path: Path
) -> None:
    bogus = tmp_path / "icon.svg"
    bogus.write_text("not an image")
    with pytest.raises(ValueError, match="not an SVG"):
        icons.write_icons(tmp_path / "out", bogus)
    assert not (tmp_path / "out").exists()


def test_runs_from_the_command_line(
    icons: ModuleType, qapp: QApplication, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert icons.main([str(tmp_path / "cli")]) == 0
    assert (tmp_path / "cli" / "tunnelkeeper.ico").is_file()
    assert str(tmp_path / "cli") in capsys.readouterr().out


# --- the containers, pure -----------------------------------------------------------------

edges_and_payloads = st.dictionaries(
    st.integers(min_value=1, max_value=256), st.binary(max_size=64), min_size=1, max_size=8
)


@given(edges_and_payloads)
def test_ico_directory_points_at_each_image_smallest_first(
    icons: ModuleType, payloads: dict[int, bytes]
) -> None:
    pngs = {edge: fake_png(edge, payload) for edge, payload in payloads.items()}
    entries = ico_entries(icons.ico_bytes(pngs))
    assert [(width, image) for width, _, _, image in entries] == sorted(pngs.items())


def test_ico_stores_256_as_zero(icons: ModuleType) -> None:
    data = icons.ico_bytes({256: fake_png(256), 16: fake_png(16)})
    assert data[6:8] == bytes([16, 16]) and data[22:24] == bytes([0, 0])


@given(
    st.dictionaries(
        st.sampled_from([16, 24, 32, 48, 64, 128, 256, 512, 1024]),
        st.binary(max_size=64),
        min_size=1,
    )
)
def test_icns_has_an_element_for_each_given_edge_and_a_matching_toc(
    icons: ModuleType, payloads: dict[int, bytes]
) -> None:
    pngs = {edge: fake_png(edge, payload) for edge, payload in payloads.items()}
    wanted = {kind: edge for kind, edge in ICNS_EDGES.items() if edge in pngs}
    if not wanted:
        with pytest.raises(ValueError, match="no image of an ICNS edge"):
            icons.icns_bytes(pngs)
        return
    elements = icns_elements(icons.icns_bytes(pngs))
    assert toc_of(elements) == [(kind, len(payload) + 8) for kind, payload in elements[1:]]
    assert {kind: payload for kind, payload in elements[1:]} == {
        kind: pngs[edge] for kind, edge in wanted.items()
    }


@pytest.mark.parametrize(
    ("pngs", "message"),
    [
        ({}, "no images"),
        ({0: b""}, "outside 1 to 256"),
        ({257: b""}, "outside 1 to 256"),
        ({32: b"GIF89a" + bytes(30)}, "not a PNG"),
        ({32: PNG_SIGNATURE}, "not a PNG"),
        ({32: fake_png(16)}, "the 32 px image is 16x16 px"),
    ],
)
def test_ico_refuses_what_windows_could_not_show(
    icons: ModuleType, pngs: dict[int, bytes], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        icons.ico_bytes(pngs)


def test_icns_takes_edges_up_to_1024_only(icons: ModuleType) -> None:
    assert icons.icns_bytes({1024: fake_png(1024)})[8:12] == b"TOC "
    with pytest.raises(ValueError, match="outside 1 to 1024"):
        icons.icns_bytes({2048: fake_png(2048)})
