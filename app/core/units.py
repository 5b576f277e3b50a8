"""Numbers for people: byte counts in B, KiB, MiB or GiB, and lengths of time (pure logic)."""

from __future__ import annotations


def byte_size(count: float) -> str:
    """``count`` bytes as the CLI and the desktop app both show them: ``512 B``,
    ``1.5 KiB``, ``3.2 MiB``, ``1536.0 GiB`` (GiB is the largest unit)."""
    value = float(count)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def duration(seconds: float) -> str:
    """A length of time as people read it: ``38 s``, ``4 min``, ``2 h 5 min``, ``3 days``
    (rounded down; a negative length reads as ``0 s``)."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min"
    hours, rest = divmod(whole, 3600)
    if hours < 48:
        return f"{hours} h {rest // 60} min"
    return f"{hours // 24} days"
