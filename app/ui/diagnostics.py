"""The "Copy diagnostics" text for vendor support: profiles without secrets, events, versions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from app.core.events import TunnelEvent
from app.core.profile import Profile
from app.core.textsafe import DETAIL_LIMIT, safe_value

# Paths say who the user is and how their disk is laid out; support needs only the key's name.
_PRIVATE_FIELDS = ("key_path",)


def profile_view(profile: Profile) -> dict[str, Any]:
    """Every field a vendor may ask about; the key is named, never its path or contents."""
    data = profile.to_dict()
    for name in _PRIVATE_FIELDS:
        data.pop(name, None)
    data["key_file"] = profile.key_path.replace("\\", "/").rsplit("/", 1)[-1]
    data["forward"] = f"{profile.forward_bind or '*'}:{profile.remote_port}"
    return data


def build(
    rows: Iterable[tuple[Profile, Mapping[str, Any]]],
    events: Iterable[TunnelEvent],
    versions: Mapping[str, str],
    limit: int = 100,
) -> str:
    """Plain text, ready to paste into a support ticket."""
    out = ["Tunnelkeeper diagnostics", ""]
    out += [f"{name}: {value}" for name, value in versions.items()]
    for profile, status in rows:
        out += ["", f"== tunnel {profile.name} =="]
        out.append(json.dumps(profile_view(profile), indent=2, sort_keys=True))
        shown = safe_value(dict(status), DETAIL_LIMIT)  # details quote servers
        out.append(json.dumps(shown, indent=2, sort_keys=True, default=str))
    recent = list(events)[-limit:]
    out += ["", f"== last {len(recent)} events =="]
    for event in recent:
        out.append(f"{event.to_json()}")
    return "\n".join(out) + "\n"
