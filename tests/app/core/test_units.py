"""Byte counts for people, as the CLI's status and the status window both show them."""

from __future__ import annotations

import pytest

from app.core.units import byte_size, duration


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 1024**2, "5.0 MiB"),
        (3 * 1024**3, "3.0 GiB"),
        (2 * 1024**4, "2048.0 GiB"),
    ],
)
def test_byte_size(count: int, text: str) -> None:
    assert byte_size(count) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "0 s"), (0, "0 s"), (38.9, "38 s"), (60, "1 min"), (3599, "59 min"),
     (3600, "1 h 0 min"), (7500, "2 h 5 min"), (48 * 3600, "2 days")],
)  # fmt: skip
def test_lengths_of_time_read_as_people_say_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text
