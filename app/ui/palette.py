"""Status colours taken from the palette in use, light or dark, with text contrast of 4.5:1."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtGui import QColor, QPalette

from app.core.events import State, TunnelStatus

MIN_CONTRAST = 4.5  # WCAG AA for normal text
_CROSSOVER = 0.0525**0.5 - 0.05  # luminance where white and black contrast equally (4.58:1)
_STEPS = 24  # darkening (or lightening) steps tried before falling back to black (white)


class Tone(StrEnum):
    """What a colour says about a tunnel."""

    UP = "up"  # connected, the target answers
    REFUSING = "refusing"  # up, but the target refuses connections
    TRYING = "trying"  # connecting or retrying
    NEEDS_YOU = "needs_you"  # an error only the user can fix
    OFF = "off"  # not running
    STANDBY = "standby"  # ready while another machine holds the port: calm, not a warning


# Hues for a light background, and for a dark one (lighter tints of the same hues).
_LIGHT = {
    Tone.UP: "#137333",
    Tone.REFUSING: "#a04e00",
    Tone.TRYING: "#a04e00",
    Tone.NEEDS_YOU: "#c5221f",
    Tone.OFF: "#5f6368",
    Tone.STANDBY: "#3b6a9e",  # a slate blue: apart from the grey of off, nothing alarming
}
_DARK = {
    Tone.UP: "#81c995",
    Tone.REFUSING: "#fdd663",
    Tone.TRYING: "#fdd663",
    Tone.NEEDS_YOU: "#f28b82",
    Tone.OFF: "#bdc1c6",
    Tone.STANDBY: "#9cc1ea",
}


def tone_of(status: TunnelStatus) -> Tone:
    if status.state is State.CONNECTED:
        return Tone.REFUSING if status.warning else Tone.UP
    if status.state is State.ERROR:
        return Tone.NEEDS_YOU
    if status.state is State.STOPPED:
        return Tone.OFF
    if status.state is State.STANDBY:  # fenced: this machine's target does not answer
        return Tone.REFUSING if status.standby == "fenced" else Tone.STANDBY
    return Tone.TRYING


def luminance(colour: QColor) -> float:
    """WCAG relative luminance (0 black … 1 white)."""

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(c) for c in (colour.redF(), colour.greenF(), colour.blueF()))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours (1 … 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def is_dark(background: QColor) -> bool:
    """Light text reads better on it than dark text (the crossover of the two contrasts)."""
    return luminance(background) < _CROSSOVER


def readable(colour: QColor, background: QColor, minimum: float = MIN_CONTRAST) -> QColor:
    """``colour`` darkened (on a light background) or lightened (on a dark one) until its
    contrast with ``background`` is at least ``minimum``."""
    dark = is_dark(background)
    found = QColor(colour)
    for _ in range(_STEPS):
        if contrast(found, background) >= minimum:
            return found
        found = found.lighter(112) if dark else found.darker(112)
    return QColor("white") if dark else QColor("black")


def tone_colour(tone: Tone, palette: QPalette) -> QColor:
    """The text colour for ``tone`` on ``palette``'s base (table cells) and window
    (labels) backgrounds: at least 4.5:1 against both."""
    base = palette.color(QPalette.ColorRole.Base)
    window = palette.color(QPalette.ColorRole.Window)
    hues = _DARK if is_dark(base) else _LIGHT
    colour = readable(QColor(hues[tone]), base)
    return readable(colour, window)


def status_colour(status: TunnelStatus, palette: QPalette) -> QColor:
    return tone_colour(tone_of(status), palette)
