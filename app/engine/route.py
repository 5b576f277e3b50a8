"""The route a tunnel's connections take to its jumphost (or its first jump host): direct,
or through a proxy; and the jump hosts after it."""

from __future__ import annotations

import os
from collections.abc import Mapping

from app.core.jump import Hop, parse_jump
from app.core.profile import Profile
from app.core.proxy import Route, choose_route, parse_proxy


def hops_of(profile: Profile) -> tuple[Hop, ...]:
    """The profile's jump hosts, the first dialled first (empty: none)."""
    jump = getattr(profile, "jump", None)
    return parse_jump(jump) if jump else ()


def first_dialled(profile: Profile) -> tuple[str, int]:
    """The host and port a connection dials first: the first jump host, else the jumphost.
    Raises InvalidField for jump hosts it cannot use."""
    hops = hops_of(profile)
    return (hops[0].host, hops[0].port) if hops else (profile.jumphost, profile.ssh_port)


def route_for(profile: Profile, env: Mapping[str, str] | None = None) -> Route:
    """The profile's proxy setting applied to the host dialled first (``first_dialled``),
    ``system`` reading ``env`` (by default this process's environment).
    Raises InvalidField for a proxy (or jump hosts) it cannot use."""
    setting = parse_proxy(getattr(profile, "proxy", "system"))
    environment = os.environ if env is None else env
    return choose_route(setting, environment, *first_dialled(profile))
