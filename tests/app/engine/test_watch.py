"""The words for a lost link: never "was lost ()" (issue 16, item 7)."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any, cast

import pytest

from app.core.supervise import KeyExchangeDeadline, Liveness
from app.engine.watch import Kick, LinkWatch, loss_detail
from app.errors import ConnectionLost


class Blank(Exception):
    def __str__(self) -> str:
        return "  "


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (None, "the server closed the connection"),
        (EOFError(), "the server closed the connection"),
        (OSError(), "the server closed the connection"),
        (ConnectionResetError(), "the connection was reset"),
        (Blank(), "Blank"),
        (OSError("Socket is closed"), "Socket is closed"),
    ],
)
def test_a_loss_always_has_words(error: BaseException | None, words: str) -> None:
    assert loss_detail(error, False) == words
    assert loss_detail(error, True).startswith(words)


def _ended(error: BaseException | None) -> str:
    session = SimpleNamespace(
        endpoint=SimpleNamespace(label="jump.example.com:22"),
        active=False,
        error=error,
        exchanging_keys=False,
    )
    watch = LinkWatch(
        cast(Any, session),
        Liveness(interval=15, count_max=3),
        60.0,
        threading.Event(),
        Kick(),
        lambda _cancel: None,
    )
    why, _ = watch._link_ended(KeyExchangeDeadline(60.0), 0.0)
    assert why is not None
    return why


def test_the_lost_sentence_has_no_empty_parentheses() -> None:
    for error in (None, EOFError(), Blank(), OSError("")):
        why = _ended(error)
        assert "()" not in why and "( )" not in why
        assert why.startswith("the connection to jump.example.com:22 was lost (")
    assert _ended(ConnectionResetError()) == (
        "the connection to jump.example.com:22 was lost (the connection was reset)"
    )


@pytest.mark.parametrize("detail", ["", "  ", "during authentication: ", ":"])
def test_connection_lost_with_nothing_to_say_ends_cleanly(detail: str) -> None:
    text = str(ConnectionLost("jump.example.com:22", detail))
    assert not text.endswith((":", ": ", "()")) and "()" not in text
    assert text.startswith("the connection to jump.example.com:22 was lost")
    assert str(ConnectionLost("h:22", "reset")) == "the connection to h:22 was lost: reset"
