"""The route a tunnel's connections take to its jumphost (or its first jump host): direct,
or through a proxy; and the jump hosts after it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app import ssh
from app.core.jump import Hop, parse_jump, route_label
from app.core.profile import Profile
from app.core.proxy import Route, choose_route, parse_proxy
from app.errors import TunnelkeeperError
from app.storage import hostkeys


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


def jump_plan(profile: Profile, key: Any, known_hosts: Path) -> ssh.JumpPlan | None:
    """How a watch of the jumphost's port goes through the jump hosts (None: there are
    none, or known_hosts cannot be read: the next attempt will say so)."""
    hops = hops_of(profile)
    if not hops:
        return None
    try:
        parsed = hostkeys.read(known_hosts)
    except TunnelkeeperError:
        return None
    return ssh.JumpPlan(hops, profile.user, key, parsed, profile.name)


def route_words(profile: Profile, route: Route) -> str:
    """ " via HTTP proxy … (HTTPS_PROXY) via jump host …": which proxy was chosen and why
    (a direct route only when a proxy was passed over), then the jump hosts."""
    via = f" {route.why}" if route.proxy is not None else ""
    if route.proxy is None and route.why.endswith("NO_PROXY"):
        via = f" ({route.why})"
    hops = hops_of(profile)
    if hops:
        via += f" {route_label(hops)}"
    return via
