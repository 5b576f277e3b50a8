"""Exit codes, the user-facing error the commands share, and the CLI's way to do a remedy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.control.errors import HostedElsewhere
from app.errors import Action, TunnelkeeperError

if TYPE_CHECKING:
    from app.core.events import TunnelEvent

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

# The command that does a remedy an error, event or check offers, for tunnel {name}. The
# others have none to add: `repair` is named in its sentence already (the desktop app has
# no such feature), and a passphrase is entered by running the tunnel on a terminal.
_COMMANDS: dict[str, str] = {
    Action.TRUST: "tunnelkeeper trust {name}",
    Action.EDIT: "tunnelkeeper add {name} --replace",
}


class UserFacingError(Exception):
    """A message for the user, with the exit code to leave with."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def with_command(text: str, action: str | None, name: str | None) -> str:
    """``text`` (a sentence whose remedy is in words for every front end) followed by the
    command that does that remedy, when there is one and the tunnel ``name`` is known."""
    template = _COMMANDS.get(action or "")
    if template is None or not name:
        return text
    return f"{text.rstrip('. ')}: run `{template.format(name=name)}`."


def error_text(exc: TunnelkeeperError) -> str:
    """An error's sentence for the command line: with the command for its remedy."""
    if isinstance(exc, HostedElsewhere):
        return f"{exc}; use `tunnelkeeper disconnect {exc.name}` first."
    name = getattr(exc, "name", None)
    return with_command(str(exc), exc.action, name if isinstance(name, str) else None)


def event_text(event: TunnelEvent) -> str:
    """An engine event as ``run`` prints it: with the command for the remedy it offers."""
    return with_command(event.human(), event.action, event.tunnel)
