"""The SSH layer, the only code that knows paramiko: keys, dialling, the transport, sessions."""

# ruff: noqa: E402 (paramiko is imported first, by import_paramiko)

from __future__ import annotations

from app.ssh.library import import_paramiko

import_paramiko()  # before any module below imports it: see app/ssh/library.py

from app.ssh.channel import ChannelGate, ForwardedChannel, StreamChannel
from app.ssh.dialing import CONNECT_TIMEOUT, Endpoint, dial, port_open
from app.ssh.global_requests import (
    CANCEL_TIMEOUT,
    GLOBAL_REQUEST_TIMEOUT,
    GlobalRequests,
    cancel_forward,
    request_forward,
)
from app.ssh.handshake import authenticate, start_transport
from app.ssh.hostkey import algorithms_for, fetch_host_key, verify_host_key
from app.ssh.jumping import Chain, JumpPlan
from app.ssh.keyload import (
    describe_key,
    display_type,
    fingerprint,
    fingerprint_of_blob,
    key_bits,
    load_private_key,
    public_key_from_entry,
)
from app.ssh.session import Session
from app.ssh.transport import GuardedTransport
from app.ssh.watched import READ_AHEAD, Reactor, WatchedSocket

__all__ = [
    "CANCEL_TIMEOUT",
    "CONNECT_TIMEOUT",
    "GLOBAL_REQUEST_TIMEOUT",
    "READ_AHEAD",
    "Chain",
    "ChannelGate",
    "Endpoint",
    "ForwardedChannel",
    "GlobalRequests",
    "GuardedTransport",
    "JumpPlan",
    "Reactor",
    "Session",
    "StreamChannel",
    "WatchedSocket",
    "algorithms_for",
    "authenticate",
    "cancel_forward",
    "describe_key",
    "dial",
    "display_type",
    "fetch_host_key",
    "fingerprint",
    "fingerprint_of_blob",
    "key_bits",
    "load_private_key",
    "port_open",
    "public_key_from_entry",
    "request_forward",
    "start_transport",
    "verify_host_key",
]
