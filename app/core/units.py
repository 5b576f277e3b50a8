"""Numbers for people: byte counts in B, KiB, MiB or GiB (pure logic)."""

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
