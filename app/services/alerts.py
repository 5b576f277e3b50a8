"""Alerts: rules every front end adds, lists, removes and tests; the watch over a host's tunnels."""

from __future__ import annotations

import builtins  # AlertService.list hides the builtin in the class
import contextlib
import socket
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from app.core.alert_rules import (
    DEFAULT_AFTER,
    WEBHOOK,
    AlertRule,
    after_text,
    email_rule,
    webhook_rule,
)
from app.core.alert_text import mail_body, mail_subject, webhook_body
from app.core.alerts import Alert, Kind
from app.core.events import State
from app.core.profile import parse_hostport
from app.core.service_bundle import MovedAlerts, NoAlertsToCopy
from app.errors import DeliveryFailed, InvalidField, TunnelkeeperError
from app.platform.keychain import Keychain
from app.services.alert_watch import RETRY_AFTER, TICK, AlertWatcher
from app.services.keys import Remembered
from app.services.proxies import MAX_PASSWORD
from app.storage.alerts import AlertStore
from app.storage.paths import AppPaths

if TYPE_CHECKING:
    from app.services.host import TunnelHost

TIMEOUT = 10.0  # s for each step of a delivery (connect, each read)


class AlertService:
    """Where alerts about the tunnels go (the alerts file beside the profiles) and sending
    them. Methods take and return plain data; an SMTP password goes into the keychain (for
    the system service: its systemd credentials), never into a file, a log or an error.

    Every method may block (the file's lock, the keychain, a receiver for ``test``): GUI
    code calls them off its thread.
    """

    def __init__(
        self, paths: AppPaths, keychain: Callable[[], Keychain], timeout: float = TIMEOUT
    ) -> None:
        self.paths = paths
        self.store = AlertStore(paths.alerts_file)
        self.timeout = timeout
        self.host_name = socket.gethostname()
        self._keychain = keychain

    # --- the rules --------------------------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        """Every rule as plain data: ``id``, ``kind`` ("webhook" or "email"), ``url`` or
        ``to``/``smtp``/``tls``/``user``/``from``, ``tunnel`` (None: every tunnel),
        ``after`` (s), ``after_text`` ("2m") and ``receiver`` (the webhook shown without
        its path and query). Raises CorruptConfigFile."""
        return [rule_view(rule) for rule in self.store.load()]

    def add_webhook(
        self, url: str, tunnel: str | None = None, after: str | float = DEFAULT_AFTER
    ) -> dict[str, Any]:
        """Alert ``url`` (POST, JSON) about ``tunnel`` (None: every tunnel) once it has been
        down ``after`` (s, or text such as "2m"); the new rule as :meth:`list` shows it.
        Raises BadWebhookUrl, InvalidField, ConfigBusy and CorruptConfigFile."""
        webhook_rule("0", url, tunnel, after)  # a mistake is said before the file is locked
        return rule_view(self.store.add(lambda rule_id: webhook_rule(rule_id, url, tunnel, after)))

    def add_email(
        self,
        address: str,
        smtp: str,
        *,
        user: str | None = None,
        password: str | None = None,
        tls: str | None = None,
        sender: str | None = None,
        tunnel: str | None = None,
        after: str | float = DEFAULT_AFTER,
    ) -> dict[str, Any]:
        """Alert ``address`` through the SMTP server ``smtp`` (HOST:PORT; ``tls`` starttls,
        tls or none, by default tls on port 465 and starttls elsewhere), signed in as
        ``user`` with ``password`` (kept in the keychain: ``password_stored`` says whether
        it was, ``password_problem`` why not), from ``sender``. Raises BadEmailAddress,
        InvalidField, ConfigBusy and CorruptConfigFile; nothing is kept then."""

        def make(rule_id: str) -> AlertRule:
            return email_rule(
                rule_id, address, smtp, user=user, tls=tls, sender=sender, tunnel=tunnel,
                after=after,
            )  # fmt: skip

        make("0")
        if password is not None:
            if not user:
                raise InvalidField("user", "an SMTP password needs the SMTP user (--user).")
            check_password(password)
        view = rule_view(self.store.add(make))
        if password is not None:
            remembered = self.remember_password(view["id"], password)
            view["password_stored"] = remembered.stored
            view["password_problem"] = remembered.reason or None
        return view

    def remove(self, rule_id: str) -> dict[str, Any]:
        """Remove rule ``rule_id`` (its SMTP password too, unless another rule uses it); the
        rule removed. Raises UnknownAlert."""
        removed = self.store.remove(rule_id)
        name = removed.secret_name
        if name is not None and all(r.secret_name != name for r in self.store.load()):
            # nothing kept is fine; a keychain that cannot answer keeps it
            with contextlib.suppress(TunnelkeeperError):
                self._keychain().delete(name)
        return rule_view(removed)

    def remember_password(self, rule_id: str, password: str) -> Remembered:
        """Keep the password of rule ``rule_id``'s SMTP user in the keychain. Raises
        UnknownAlert, and InvalidField when the rule names no user or the password is
        unusable."""
        name = self.store.get(rule_id).secret_name
        if name is None:
            raise InvalidField("user", "this alert signs in as nobody: it needs no password.")
        check_password(password)
        try:
            self._keychain().set(name, password)
        except TunnelkeeperError as exc:
            return Remembered(False, str(exc))
        return Remembered(True)

    def has_password(self, rule_id: str) -> bool:
        """True when rule ``rule_id`` signs in and its password is stored. May block."""
        rule = self.store.get(rule_id)
        return rule.secret_name is not None and self._password(rule) is not None

    def for_service(self, ask: Callable[[str], str | None] | None = None) -> MovedAlerts:
        """Every rule, and the password of each SMTP user one signs in as (the keychain's,
        else what ``ask`` is given; left out when neither has one), for
        ``service install --system --alerts``. Raises NoAlertsToCopy and CorruptConfigFile;
        InvalidField for a password typed that cannot be kept."""
        rules = self.store.load()
        if not rules:
            raise NoAlertsToCopy()
        passwords: dict[str, str] = {}
        asked: set[str] = set()
        for rule in rules:
            name = rule.secret_name
            if name is None or name in passwords or name in asked:
                continue
            found = self._password(rule)
            if found is None and ask is not None:
                asked.add(name)
                prompt = f"SMTP password of {rule.user} at {rule.smtp} (for the service's alerts): "
                found = ask(prompt) or None
            if found is not None:
                passwords[name] = check_password(found)
        return MovedAlerts(tuple(rules), tuple(sorted(passwords.items())))

    # --- sending ----------------------------------------------------------------------------

    def test(self, rule_id: str | None = None) -> builtins.list[dict[str, Any]]:
        """Send a test alert to rule ``rule_id``'s receiver (every rule's when None) and
        say, for each, ``id``, ``receiver``, ``ok`` and ``answer`` (what the receiver said,
        or why it could not be reached). Raises UnknownAlert."""
        rules = [self.store.get(rule_id)] if rule_id is not None else self.store.load()
        results = []
        for rule in rules:
            alert = Alert(Kind.TEST, rule.tunnel or "", State.CONNECTED, None, 0.0, "",
                          window=rule.after, at=time.time())  # fmt: skip
            try:
                answer, ok = self.deliver(rule, alert), True
            except DeliveryFailed as exc:
                answer, ok = exc.answer, False
            results.append({"id": rule.id, "receiver": rule.receiver, "ok": ok, "answer": answer})
        return results

    def deliver(self, rule: AlertRule, alert: Alert) -> str:
        """Send ``alert`` to ``rule``'s receiver now; its answer. Raises DeliveryFailed."""
        # loaded when an alert goes out: HTTP, TLS and e-mail weigh nothing on a host that
        # never sends one
        from app.delivery import mail, webhook  # noqa: PLC0415

        host = self.host_name
        if rule.kind == WEBHOOK:
            return webhook.post_json(rule.target, webhook_body(alert, host), self.timeout)
        server_host, port = parse_hostport(rule.smtp or "", "smtp")
        server = mail.MailServer(
            server_host, port, rule.tls or "starttls", rule.user, self._password(rule)
        )
        return mail.send_mail(
            server, rule.from_address(host), rule.target, mail_subject(alert, host),
            mail_body(alert, host), self.timeout,
        )  # fmt: skip

    def watch(
        self, host: TunnelHost, tick: float = TICK, retry_after: Sequence[float] = RETRY_AFTER
    ) -> AlertWatcher:
        """Alert about ``host``'s tunnels from now on (until the host closes, or ``close``)."""
        return AlertWatcher(host, self.store, self.deliver, tick, retry_after)

    def _password(self, rule: AlertRule) -> str | None:
        name = rule.secret_name
        if name is None:
            return None
        try:
            return self._keychain().get(name)
        except TunnelkeeperError:
            return None


def check_password(password: str) -> str:
    """``password`` if it can be kept; raises InvalidField (never quoting it)."""
    if not password:
        raise InvalidField("password", "the SMTP password is empty.")
    if len(password) > MAX_PASSWORD:
        raise InvalidField("password", f"the SMTP password is over {MAX_PASSWORD} characters.")
    if any(c in password for c in "\n\r\x00"):
        raise InvalidField("password", "the SMTP password holds a line break or a NUL character.")
    return password


def rule_view(rule: AlertRule) -> dict[str, Any]:
    """A rule as every front end shows it (see :meth:`AlertService.list`)."""
    fields = rule.to_dict()
    fields.pop("tunnel", None)
    after = fields.pop("after")
    return {
        "id": rule.id,
        **fields,
        "tunnel": rule.tunnel,
        "after": after,
        "after_text": after_text(rule.after),
        "receiver": rule.receiver,
    }
