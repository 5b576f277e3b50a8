"""Email: one message over SMTP (TLS from the start, STARTTLS, or plain on a trusted network),
optionally signed in; and what the server said."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from app.core.profile import format_hostport
from app.core.textsafe import safe_text
from app.errors import DeliveryFailed, os_reason

TIMEOUT = 10.0  # s for each step of the exchange
EXCERPT = 200  # characters of a server's reply quoted


@dataclass(frozen=True)
class MailServer:
    """Where mail goes out: ``tls`` is "tls" (from the start), "starttls" or "none"; with
    ``user``, signed in with ``password`` (never shown)."""

    host: str
    port: int
    tls: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return format_hostport(self.host, self.port)


def send_mail(
    server: MailServer, sender: str, to: str, subject: str, body: str, timeout: float = TIMEOUT
) -> str:
    """Send one plain-text message; returns the server's answer to it ("250 2.0.0 Ok: queued
    as …"). Raises DeliveryFailed (``permanent`` when the server refused the login, the
    sender or the recipient, or cannot do the TLS asked for)."""
    receiver = f"{to} (through {server.label})"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body, cte="quoted-printable")
    try:
        return _exchange(server, sender, to, message.as_bytes(policy=SMTP), timeout, receiver)
    except DeliveryFailed:
        raise
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryFailed(receiver, f"it cannot: {exc}", permanent=True) from None
    except smtplib.SMTPAuthenticationError as exc:
        said = f"it refused the login of {server.user}: {_reply(exc.smtp_code, exc.smtp_error)}"
        raise DeliveryFailed(receiver, said, permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        said = f"it answered {_reply(exc.smtp_code, exc.smtp_error)}"
        raise DeliveryFailed(receiver, said, permanent=exc.smtp_code >= 500) from None
    except ssl.SSLCertVerificationError as exc:
        said = f"its certificate is not trusted ({exc.verify_message})"
        raise DeliveryFailed(receiver, said) from None
    except ssl.SSLError as exc:
        raise DeliveryFailed(receiver, f"TLS failed: {exc.reason or exc}") from None
    except TimeoutError:
        raise DeliveryFailed(receiver, f"no answer within {timeout:g} s") from None
    except smtplib.SMTPException as exc:
        raise DeliveryFailed(receiver, f"the exchange failed: {exc}") from None
    except OSError as exc:
        raise DeliveryFailed(receiver, f"it could not be reached: {os_reason(exc)}") from None


def _exchange(
    server: MailServer, sender: str, to: str, data: bytes, timeout: float, receiver: str
) -> str:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if server.tls == "tls":
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=timeout)
    with client:
        client.ehlo_or_helo_if_needed()
        if server.tls == "starttls":
            if not client.has_extn("starttls"):
                said = "it does not offer STARTTLS (use --smtp-tls tls, or none on a safe network)"
                raise DeliveryFailed(receiver, said, permanent=True)
            client.starttls(context=context)
            client.ehlo()
        if server.user:
            if server.password is None:
                raise DeliveryFailed(
                    receiver,
                    f"no password for the SMTP user {server.user} is stored here (give it "
                    "with `tunnelkeeper alerts add email … --password-stdin`)",
                    permanent=True,
                )
            if not client.has_extn("auth"):
                said = "it does not offer a login (AUTH); leave --user out for this server"
                raise DeliveryFailed(receiver, said, permanent=True)
            client.login(server.user, server.password)
        _expect(receiver, *client.mail(sender), (250,))
        _expect(receiver, *client.rcpt(to), (250, 251))
        code, reply = client.data(data)
        _expect(receiver, code, reply, (250,))
        return _reply(code, reply)


def _expect(receiver: str, code: int, reply: bytes, wanted: tuple[int, ...]) -> None:
    if code not in wanted:
        raise DeliveryFailed(receiver, f"it answered {_reply(code, reply)}", code >= 500)


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {safe_text(' '.join(text.split()), EXCERPT)}"
