"""Errors of alerts: a rule that cannot be kept as given, and a message that was not delivered."""

from __future__ import annotations

from app.core.textsafe import safe_text
from app.errors.tree import ConfigError, InvalidField, Then, TunnelkeeperError


class BadWebhookUrl(InvalidField):
    """A webhook address that cannot be posted to (``field`` is "url")."""

    def __init__(self, shown: str, why: str) -> None:
        # ``shown`` is the address without its path and query (they may hold a token)
        super().__init__("url", why)
        ConfigError.__init__(self, f"the webhook address {shown} cannot be used: {why}")


class BadEmailAddress(InvalidField):
    """An email address an alert cannot be sent to, or from (``field`` names which)."""

    def __init__(self, address: str, why: str, field: str = "address") -> None:
        super().__init__(field, why)
        ConfigError.__init__(
            self, f"{safe_text(address)!r} is not an email address alerts can use: {why}"
        )
        self.address = address


class UnknownAlert(ConfigError):
    """No alert rule has this ID."""

    def __init__(self, rule_id: str) -> None:
        super().__init__(
            f"there is no alert with ID {safe_text(rule_id)!r} (see `tunnelkeeper alerts list`)."
        )
        self.rule_id = rule_id


class DeliveryFailed(TunnelkeeperError):
    """An alert did not reach its receiver. ``receiver`` names it (a webhook without its
    path and query), ``answer`` is what it said (or why it could not be asked), and
    ``permanent`` says that trying again will not help (a 4xx answer, a login refused)."""

    then = Then.RETRY

    def __init__(self, receiver: str, answer: str, permanent: bool = False) -> None:
        super().__init__(f"the alert did not reach {receiver}: {answer}")
        self.receiver = receiver
        self.answer = safe_text(answer)
        self.permanent = permanent
        if permanent:
            self.then = Then.STOP
