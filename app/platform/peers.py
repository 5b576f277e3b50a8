"""Who is at the other end of a local socket, and whether they may control our tunnels."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import sys
from dataclasses import dataclass

SERVICE_GROUP = "tunnelkeeper"  # members may control the system service's tunnels


@dataclass(frozen=True)
class Peer:
    uid: int
    gid: int
    pid: int | None = None  # Linux tells it; macOS does not


def peer_of(descriptor: int) -> Peer | None:
    """The user at the other end of a connected Unix socket, None when it cannot be told:
    SO_PEERCRED on Linux, getpeereid() on macOS and the BSDs."""
    if os.name != "posix" or descriptor < 0:
        return None
    if sys.platform.startswith("linux"):
        try:
            probe = socket.socket(fileno=descriptor)  # the caller's: detached, never closed
        except OSError:
            return None
        try:
            raw = probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        except OSError:
            return None
        finally:
            probe.detach()
        pid, uid, gid = struct.unpack("3i", raw)
        return Peer(int(uid), int(gid), int(pid))
    import ctypes  # noqa: PLC0415 (macOS and the BSDs only: Linux hosts never load it)

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        uid, gid = ctypes.c_uint32(), ctypes.c_uint32()
        if libc.getpeereid(descriptor, ctypes.byref(uid), ctypes.byref(gid)) != 0:
            return None
    except (OSError, AttributeError):
        return None
    return Peer(int(uid.value), int(gid.value))


def in_group(uid: int, gid: int, group: str) -> bool:
    """Whether user ``uid`` (primary group ``gid``) belongs to ``group``."""
    import grp  # noqa: PLC0415 - POSIX only
    import pwd  # noqa: PLC0415

    try:
        wanted = grp.getgrnam(group).gr_gid
        user = pwd.getpwuid(uid).pw_name
    except (KeyError, OSError):
        return False
    if gid == wanted:
        return True
    with contextlib.suppress(OSError):
        return wanted in os.getgrouplist(user, gid)
    return False


def may_control(peer: Peer | None, group: str | None = None) -> bool:
    """The owner (our own user), root, and with ``group`` (the system service) its
    members; nobody whose identity cannot be told."""
    if peer is None:
        return False
    if peer.uid in (os.geteuid(), 0):
        return True
    return group is not None and in_group(peer.uid, peer.gid, group)
