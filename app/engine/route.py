"""The route a tunnel's connections take to its jumphost: direct, or through a proxy."""

from __future__ import annotations

import os
from collections.abc import Mapping

from app.core.profile import Profile
from app.core.proxy import Route, choose_route, parse_proxy


def route_for(profile: Profile, env: Mapping[str, str] | None = None) -> Route:
    """The profile's proxy setting applied to its jumphost, ``system`` reading ``env`` (by
    default this process's environment). Raises InvalidField for a proxy it cannot use."""
    setting = parse_proxy(getattr(profile, "proxy", "system"))
    environment = os.environ if env is None else env
    return choose_route(setting, environment, profile.jumphost, profile.ssh_port)
