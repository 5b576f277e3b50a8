"""Status colours from the palette: at least 4.5:1 against light and dark backgrounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.core.events import State, TunnelStatus
from app.ui.palette import MIN_CONTRAST, Tone, contrast, readable, tone_colour, tone_of

ROLES = (QPalette.ColorRole.Base, QPalette.ColorRole.Window)


def palette_of(base: str, window: str) -> QPalette:
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Base, QColor(base))
    palette.setColor(QPalette.ColorRole.Window, QColor(window))
    return palette


PALETTES = {
    "light": palette_of("#ffffff", "#efefef"),
    "dark": palette_of("#1e1e1e", "#2d2d2d"),
    "mid grey": palette_of("#777777", "#808080"),
}


@pytest.mark.parametrize("name", list(PALETTES))
@pytest.mark.parametrize("tone", list(Tone))
def test_every_tone_reads_at_4_5_to_1_on_both_backgrounds(name: str, tone: Tone) -> None:
    palette = PALETTES[name]
    colour = tone_colour(tone, palette)
    for role in ROLES:
        assert contrast(colour, palette.color(role)) >= MIN_CONTRAST, (name, tone, role)


def test_the_application_palette_passes_too(qapp: QApplication) -> None:
    palette = qapp.palette()
    for tone in Tone:
        assert contrast(tone_colour(tone, palette), palette.color(ROLES[0])) >= MIN_CONTRAST


def test_dark_backgrounds_get_light_colours_and_hues_stay_apart() -> None:
    light = {t: tone_colour(t, PALETTES["light"]) for t in Tone}
    dark = {t: tone_colour(t, PALETTES["dark"]) for t in Tone}
    assert all(dark[t].lightnessF() > light[t].lightnessF() for t in Tone)
    assert len({light[t].name() for t in (Tone.UP, Tone.TRYING, Tone.NEEDS_YOU, Tone.OFF)}) == 4


RGB = st.integers(min_value=0, max_value=255)


@given(fg=st.tuples(RGB, RGB, RGB), bg=st.tuples(RGB, RGB, RGB))
def test_readable_always_reaches_the_minimum(
    fg: tuple[int, int, int], bg: tuple[int, int, int]
) -> None:
    background = QColor(*bg)
    assert contrast(readable(QColor(*fg), background), background) >= MIN_CONTRAST


def test_a_target_that_refuses_is_not_the_colour_of_up() -> None:
    up = TunnelStatus("db", State.CONNECTED, "")
    assert tone_of(up) is Tone.UP
    assert tone_of(TunnelStatus("db", State.CONNECTED, "", warning="refused")) is Tone.REFUSING
    assert tone_of(TunnelStatus("db", State.RETRYING, "")) is Tone.TRYING
    assert tone_of(TunnelStatus("db", State.ERROR, "")) is Tone.NEEDS_YOU
    assert tone_of(TunnelStatus("db", State.STOPPED, "")) is Tone.OFF
