"""What the app does with a tunnel the wizard saved: start it, leave it running as it is,
restart it or stop it, so that an edit that does not alter the connection never reconnects."""

from __future__ import annotations

from app.ui.hub import TunnelHub
from app.ui.wizard.draft import Finished


def apply_saved(hub: TunnelHub, done: Finished) -> None:
    """Apply ``done`` once the hub has read the profiles again.

    A new tunnel starts when asked to. An edited one whose connection did not change goes
    on as it is (renamed in place at most): its live connections, counters and "vendor
    last connected" stay. One whose connection changed (the wizard asked first when that
    drops connections) restarts; one that should not be connected stops. The key the
    wizard opened is held, so the first start does not ask for its passphrase again.

    A proxy password typed in the wizard (already in the keychain) changes no setting: a
    connected tunnel keeps its link and signs in with it from its next connection on; one
    that is not connected (waiting after "proxy authentication failed (407)", retrying)
    restarts, to try it now.
    """
    name, old = done.name, done.old_name
    if done.key is not None:
        hub.hold_key(done.key_path, done.key)
    profile = hub.profiles.get(name)
    if profile is None:
        return
    if old is None or not hub.runs(old):
        if done.connect_now:
            hub.connect_tunnel(name)
        return
    if not done.connect_now:
        hub.disconnect_tunnel(old)
        return
    if not done.changes and not _retries_with_new_password(hub, old, done):
        if hub.rename_in_place(old, profile):
            if done.proxy_password is not None:
                hub.host.use_proxy_password(name, done.proxy_password)
            return
        if not hub.is_running(old):
            return  # another process of ours hosts it, and follows the profiles file
    if old != name:  # the old worker holds the port until it has stopped
        hub.disconnect_tunnel(old, on_done=lambda: hub.connect_tunnel(name))
    else:
        hub.restart(name)


def _retries_with_new_password(hub: TunnelHub, old: str, done: Finished) -> bool:
    """A proxy password was typed for tunnel ``old``, which is not connected: it restarts."""
    return done.proxy_password is not None and hub.connected_pid(old) is None
