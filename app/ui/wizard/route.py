"""The wizard's pages, and which follows which when only one part of a tunnel changes (no Qt)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Page(IntEnum):
    WELCOME = 0
    KEY = 1
    ENDPOINT = 2
    TARGET = 3
    HOST_KEY = 4
    TEST = 5
    FINISH = 6


class Part(StrEnum):
    """One part of a saved tunnel, changed on its own page (the detail pane's Change…)."""

    KEY = "key"
    ENDPOINT = "endpoint"  # jumphost, SSH port, user, allocated port, bind address
    TARGET = "target"
    HOST_KEY = "hostkey"  # the jumphost's trusted host key
    OPTIONS = "options"  # the name, connect now, start at login: the Finish page


FIRST: dict[Part, Page] = {
    Part.KEY: Page.KEY,
    Part.ENDPOINT: Page.ENDPOINT,
    Part.TARGET: Page.TARGET,
    Part.HOST_KEY: Page.HOST_KEY,
    Part.OPTIONS: Page.FINISH,
}
NAMED: dict[Part, str] = {
    Part.KEY: "key",
    Part.ENDPOINT: "jumphost",
    Part.TARGET: "target",
    Part.HOST_KEY: "jumphost's key",
    Part.OPTIONS: "name and options",
}
LAST = -1  # QWizard's "no page follows": the page shows Finish


def following(part: Part, page: Page, *, alters: bool, new_jumphost: bool) -> int:
    """The page after ``page`` when only ``part`` changes: the part's own page first; the
    host key page when the jumphost (or its SSH port) moved, as a new jumphost's key must
    be trusted; the test when the change ``alters`` the connection; then Finish."""
    if page is Page.FINISH:
        return LAST
    first = FIRST[part]
    if page is first and part is Part.ENDPOINT and new_jumphost:
        return Page.HOST_KEY
    if page in (first, Page.HOST_KEY) and alters:
        return Page.TEST
    return Page.FINISH
