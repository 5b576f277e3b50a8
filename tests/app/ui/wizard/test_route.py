"""Which page follows which when one part of a saved tunnel is changed."""

from __future__ import annotations

import pytest

from app.ui.wizard.route import FIRST, LAST, Page, Part, following


def walk(part: Part, *, alters: bool, new_jumphost: bool = False) -> list[int]:
    """The pages Next leads through, from the part's own page to the last."""
    pages: list[int] = [FIRST[part]]
    while pages[-1] != LAST:
        pages.append(following(part, Page(pages[-1]), alters=alters, new_jumphost=new_jumphost))
    return pages[:-1]


@pytest.mark.parametrize("part", [Part.KEY, Part.ENDPOINT, Part.TARGET, Part.HOST_KEY])
def test_a_change_to_the_connection_is_tested_before_finish(part: Part) -> None:
    assert walk(part, alters=True) == [FIRST[part], Page.TEST, Page.FINISH]


@pytest.mark.parametrize("part", [Part.KEY, Part.ENDPOINT, Part.TARGET, Part.HOST_KEY])
def test_nothing_changed_goes_straight_to_finish(part: Part) -> None:
    assert walk(part, alters=False) == [FIRST[part], Page.FINISH]


def test_the_name_and_options_are_the_finish_page_alone() -> None:
    assert walk(Part.OPTIONS, alters=False) == [Page.FINISH]
    assert walk(Part.OPTIONS, alters=True) == [Page.FINISH]  # renaming never tests


def test_a_new_jumphost_asks_for_its_host_key_first() -> None:
    assert walk(Part.ENDPOINT, alters=True, new_jumphost=True) == [
        Page.ENDPOINT,
        Page.HOST_KEY,
        Page.TEST,
        Page.FINISH,
    ]


def test_parts_are_the_words_the_detail_pane_sends() -> None:
    assert [part.value for part in Part] == ["key", "endpoint", "target", "hostkey", "options"]
