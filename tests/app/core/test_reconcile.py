"""What `run --all` does when the profiles file changes."""

from __future__ import annotations

from dataclasses import replace

from app.core.profile import Profile
from app.core.reconcile import plan


def profile(name: str, port: int = 20001, **more: object) -> Profile:
    return Profile(name, "jump.example", "sshtunnel", port, "db", 5432, "/k", **more)  # type: ignore[arg-type]


def test_added_removed_and_unchanged() -> None:
    a, b, c = profile("a", 1), profile("b", 2), profile("c", 3)
    steps = plan({"a": a, "b": b}, {"a": a, "c": c})
    assert steps.stop == ["b"] and steps.start == [c] and not steps.rename and not steps.update
    assert not plan({"a": a}, {"a": a})


def test_a_connection_change_restarts_the_tunnel() -> None:
    a = profile("a")
    moved = replace(a, target_port=3306)
    steps = plan({"a": a}, {"a": moved})
    assert steps.stop == ["a"] and steps.start == [moved]


def test_a_rename_keeps_the_connection() -> None:
    a = profile("a")
    renamed = replace(a, name="warehouse")
    steps = plan({"a": a}, {"warehouse": renamed})
    assert steps.rename == [("a", renamed)] and not steps.stop and not steps.start


def test_other_fields_update_in_place() -> None:
    a = profile("a")
    noted = replace(a, extra={"notes": "the finance warehouse"})
    steps = plan({"a": a}, {"a": noted})
    assert steps.update == [noted] and not steps.stop and not steps.start
