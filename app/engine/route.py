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


def route_for(profile: Profile, env: Mapping[str, str] | None = None) -> Route:
    """The profile's proxy setting applied to the host dialled first (its first jump host,
    else its jumphost), ``system`` reading ``env`` (by default this process's environment).
    Raises InvalidField for a proxy (or jump hosts) it cannot use."""
    setting = parse_proxy(getattr(profile, "proxy", "system"))
    environment = os.environ if env is None else env
    hops = hops_of(profile)
    host, port = (hops[0].host, hops[0].port) if hops else (profile.jumphost, profile.ssh_port)
    return choose_route(setting, environment, host, port)
