"""What `run --all` does when the profiles file changes: start, stop, restart, rename."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.profile import CONNECTION_FIELDS, Profile

__all__ = ["CONNECTION_FIELDS", "Plan", "connection_of", "plan"]


def connection_of(profile: Profile) -> tuple[object, ...]:
    return tuple(getattr(profile, name) for name in CONNECTION_FIELDS)


@dataclass
class Plan:
    """Names to stop, profiles to start, old → new names to rename in place, and
    profiles whose other fields changed (their connection stays)."""

    stop: list[str] = field(default_factory=list)
    start: list[Profile] = field(default_factory=list)
    rename: list[tuple[str, Profile]] = field(default_factory=list)
    update: list[Profile] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.stop or self.start or self.rename or self.update)


def plan(hosted: dict[str, Profile], wanted: dict[str, Profile]) -> Plan:
    """How to go from the ``hosted`` tunnels to the ``wanted`` ones, dropping no live
    connection that the change does not concern: a tunnel renamed (same connection, new
    name) is renamed in place; one whose connection fields changed is restarted."""
    out = Plan()
    gone = {n: p for n, p in hosted.items() if n not in wanted}
    new = {n: p for n, p in wanted.items() if n not in hosted}
    by_connection = {connection_of(p): n for n, p in gone.items()}
    for profile in new.values():
        old = by_connection.pop(connection_of(profile), None)
        if old is not None:
            out.rename.append((old, profile))
            del gone[old]
        else:
            out.start.append(profile)
    out.stop.extend(gone)
    for name, profile in wanted.items():
        if name in hosted:
            if connection_of(profile) != connection_of(hosted[name]):
                out.stop.append(name)
                out.start.append(profile)
            elif profile != hosted[name] or profile.extra != hosted[name].extra:
                out.update.append(profile)
    return out
