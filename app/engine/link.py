"""One connection to the jumphost and the forward on it: opened, watched and torn down."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from app import ssh
from app.core import knownhosts
from app.core.profile import Profile
from app.core.proxy import Route
from app.core.supervise import Liveness
from app.engine.forward import Counters, Forwarder
from app.engine.route import hops_of
from app.engine.watch import Kick, LinkWatch, Teardown, Tick
from app.errors import ForwardRefused


class Link:
    """One attempt's SSH session and its forwarder. ``session`` exists from the start, so
    closing it interrupts a handshake still under way."""

    def __init__(
        self,
        profile: Profile,
        endpoint: ssh.Endpoint,
        connect_timeout: float,
        stop: threading.Event,
        route: Route | None = None,
        proxy_password: str | None = None,
    ) -> None:
        self.profile = profile
        self.session = ssh.Session(
            endpoint,
            connect_timeout,
            cancel=stop,
            route=route,
            proxy_password=proxy_password,
            hops=hops_of(profile),
        )
        self._stop = stop
        self._forwarder: Forwarder | None = None

    def open(
        self,
        parsed: knownhosts.ParsedFile,
        key: Any,
        counters: Counters,
        max_channels: int,
        on_target_trouble: Callable[[str], None],
        ask: bool = True,
    ) -> None:
        """Connect, check the host key, log in and (``ask``) have the jumphost listen for
        us; raises the app's errors (``ConnectionTrouble``, ``HostKeyTrouble``)."""
        profile, session = self.profile, self.session
        session.open(parsed, profile.name, profile.user, key)
        forwarder = Forwarder(
            profile.forward_bind,
            profile.remote_port,
            (profile.target_host, profile.target_port),
            on_target_trouble,
            counters=counters,
            max_channels=max_channels,
            host=session.host,
            tunnel=profile.name,
        )
        self._forwarder = forwarder
        # Installed before asking, so a channel racing the reply is not rejected; the gate
        # refuses anything but the (address, port) we request, and anything past the limit.
        session.install_gate(forwarder)
        forwarder.arm()
        if ask:
            session.request_forward(profile.forward_bind, profile.remote_port)

    def ask(self) -> bool:
        """Ask for the port on the open link: True if granted, False if the jumphost
        refused (another machine holds it); raises ``ConnectionLost`` if no answer came."""
        try:
            self.session.request_forward(self.profile.forward_bind, self.profile.remote_port)
        except ForwardRefused:
            return False
        return True

    def release(self) -> None:
        """Give the port back; the link and the connections already forwarded stay."""
        self.session.cancel_forward()

    def watch(
        self,
        liveness: Liveness,
        kex_deadline: float,
        kick: Kick,
        teardown: Teardown,
        tick: Tick,
    ) -> str:
        """Watch the live link until it is lost or we stop; return why it ended."""
        watch = LinkWatch(
            self.session, liveness, kex_deadline, self._stop, kick, teardown, tick=tick
        )
        return watch.run()

    def close(self, cancel: bool = False) -> None:
        """Close the forwarded connections and the session (asking the jumphost to stop
        listening first when ``cancel`` and the link is still up)."""
        session = self.session
        if cancel and session.active:
            session.cancel_forward()
        forwarder, self._forwarder = self._forwarder, None
        if forwarder is not None:
            forwarder.close_all(timeout=1.5)
        session.close()
