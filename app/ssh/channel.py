"""The forwarded channel and its transport as the engine may use them: the SSH layer's contract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class ReadinessEvent(Protocol):
    """Stands where paramiko's buffer keeps its ``threading.Event``: set on data, EOF or close."""

    def set(self) -> None: ...

    def clear(self) -> None: ...

    def is_set(self) -> bool: ...


class ChannelBuffer(Protocol):
    """A channel's incoming buffer: only its readiness event is used."""

    def set_event(self, event: ReadinessEvent) -> None: ...


class ChannelTransport(Protocol):
    """The data path a forwarded channel's transport offers (ssh.GuardedTransport)."""

    def send_channel_data(self, channel: ForwardedChannel, data: memoryview) -> int:
        """As much of ``data`` as the window takes now; TimeoutError when it is shut,
        EOFError once the channel or the connection is closed."""
        ...

    def send_window_adjust(
        self, channel: ForwardedChannel, amount: int, *, on_transport_thread: bool
    ) -> bool:
        """Grant more window; False (send later) if the transport thread cannot now."""
        ...

    def send_window(self, channel: ForwardedChannel, amount: int) -> None:
        """Grant more window, waiting out a key exchange (never on the transport thread)."""
        ...


class ForwardedChannel(Protocol):
    """A ``forwarded-tcpip`` channel as the transport hands it to a ``ChannelGate``.

    The three callables are read by the transport thread: ``data_sink`` takes
    CHANNEL_DATA (a view, no copy) and ``extended_sink`` the size of extended data, both
    raising ``WindowOverrun`` when the jumphost overran its window; ``on_window_adjust``
    hears of every window adjust. Unset, paramiko's own buffering applies.
    """

    data_sink: Callable[[memoryview], None]
    extended_sink: Callable[[int], None]
    on_window_adjust: Callable[[], None]
    closed: bool
    eof_received: int  # paramiko keeps 0 until the EOF, then True
    out_window_size: int
    out_max_packet_size: int
    in_buffer: ChannelBuffer
    transport: ChannelTransport

    def settimeout(self, timeout: float | None) -> None: ...

    def shutdown_write(self) -> None: ...

    def close(self) -> None: ...


class ChannelGate(Protocol):
    """Decides on ``forwarded-tcpip`` opens and takes the channels it admitted
    (both on the transport thread)."""

    def admit(self, address: str, port: int) -> tuple[int, int]:
        """The answer (0 accepts, else an RFC 4254 reason code) and the window to grant."""
        ...

    def handle_channel(
        self, channel: ForwardedChannel, origin: tuple[str, int], server: tuple[str, int]
    ) -> None: ...


class StreamChannel(Protocol):
    """A channel the engine opens itself and reads like a socket (the connection test)."""

    def settimeout(self, timeout: float | None) -> None: ...

    def recv(self, size: int) -> bytes: ...

    def close(self) -> None: ...
