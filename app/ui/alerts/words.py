"""What the alerts settings say: each rule's cells, each test's answer, mistakes as sentences."""

from __future__ import annotations

from typing import Any

from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.errors import InvalidField
from app.ui.wizard.widgets import sentence

EVERY_TUNNEL = "Every tunnel"
# the service's sentences name the CLI's flags; the settings name their fields
_CLI_WORDS = (
    ("use --smtp-tls starttls or tls", "choose STARTTLS or TLS as Security"),
    (" (--user)", ""),
)
# a field the service names -> the form field it belongs to
FIELD_OF = {"name": "tunnel", "smtp-tls": "tls"}


def receiver_cell(rule: dict[str, Any]) -> str:
    """ "Webhook https://hooks.slack.com/…", "Email to ops@example.com (through …)"."""
    receiver = safe_text(str(rule["receiver"]), DETAIL_LIMIT)
    if rule["kind"] == "webhook":
        return "Webhook " + receiver.removeprefix("the webhook ")
    return f"Email to {receiver}"


def tunnel_cell(rule: dict[str, Any]) -> str:
    return str(rule["tunnel"]) if rule["tunnel"] else EVERY_TUNNEL


def sign_in_cell(rule: dict[str, Any], password_kept: bool | None) -> tuple[str, bool]:
    """Who an email alert signs in as, and whether that is a problem (a user whose password
    is not in the keychain: it cannot sign in); a webhook: a dash."""
    if rule["kind"] == "webhook":
        return "—", False
    user = rule.get("user")
    if not user:
        return "nobody", False
    shown = safe_text(str(user))
    if password_kept:
        return shown, False
    return f"{shown}: no password kept", True


def security_words(rule: dict[str, Any]) -> str:
    """How a receiver is reached, for a tooltip: "over HTTPS", "with STARTTLS"."""
    if rule["kind"] == "webhook":
        secure = str(rule.get("url", "")).lower().startswith("https:")
        return "over HTTPS" if secure else "over plain HTTP"
    return {"starttls": "with STARTTLS", "tls": "with TLS from the start"}.get(
        rule["tls"], "unencrypted"
    )


def scope_words(rule: dict[str, Any]) -> str:
    """ "about every tunnel once down 2m", "about tunnel db once down 5m"."""
    about = f"tunnel {rule['tunnel']}" if rule["tunnel"] else "every tunnel"
    return f"about {about} once down {rule['after_text']}"


def added_sentence(rule: dict[str, Any]) -> str:
    receiver = safe_text(str(rule["receiver"]), DETAIL_LIMIT)
    return (
        f"Alert {rule['id']} added: {receiver}, {scope_words(rule)}. "
        "Send a test to see that it arrives."
    )


def password_problem(rule: dict[str, Any]) -> str:
    """Said when the keychain did not keep an added email alert's password."""
    why = safe_text(str(rule.get("password_problem") or "the keychain did not answer"))
    return (
        f"The SMTP password was not kept ({why.rstrip('.')}), and it is never written anywhere "
        f"else: alert {rule['id']} cannot sign in until it is. Remove it and add it again "
        "where a keychain works."
    )


def removed_sentence(rule: dict[str, Any]) -> str:
    receiver = safe_text(str(rule["receiver"]), DETAIL_LIMIT)
    return f"Alert {rule['id']} removed: {receiver} gets no more alerts."


def answer_sentence(result: dict[str, Any]) -> str:
    """One receiver's answer to a test, in the words of `tunnelkeeper alerts test`."""
    receiver = safe_text(str(result["receiver"]), DETAIL_LIMIT)
    answer = safe_text(str(result["answer"]), DETAIL_LIMIT)
    if result["ok"]:
        return f"Alert {result['id']}: {receiver} answered {answer}"
    return f"Alert {result['id']}: the test did not reach {receiver}: {answer.rstrip('.')}."


def field_message(exc: InvalidField) -> str:
    """The sentence shown beside the field ``exc`` is about."""
    text = exc.message
    for cli, ours in _CLI_WORDS:
        text = text.replace(cli, ours)
    return sentence(text)


def field_name(exc: InvalidField) -> str:
    return FIELD_OF.get(exc.field, exc.field)
