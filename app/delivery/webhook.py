"""Webhooks: a JSON body POSTed over HTTP(S) (certificates verified), and what the receiver said."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from app import __version__
from app.core.alert_rules import check_webhook_url, redact_url
from app.core.textsafe import safe_text
from app.errors import DeliveryFailed, os_reason

TIMEOUT = 10.0  # s for the whole exchange's each step (connect, send, each read)
READ_LIMIT = 4096  # bytes of the answer read
EXCERPT = 200  # characters of the answer quoted
RETRYABLE = frozenset({408, 425, 429})  # 4xx answers that may change by themselves


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer: following it would turn the POST into a GET without body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post_json(url: str, body: dict[str, Any], timeout: float = TIMEOUT) -> str:
    """POST ``body`` as JSON to ``url``; returns the receiver's answer ("HTTP 200 OK: ok",
    the body cut to EXCERPT characters, control characters escaped). Raises DeliveryFailed
    (``permanent`` for a 3xx or 4xx answer other than 408, 425 and 429). The URL itself is
    never quoted: its path and query may hold the hook's secret."""
    receiver = f"the webhook {redact_url(url)}"
    check_webhook_url(url)  # http or https only: never file: or another scheme
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"Tunnelkeeper/{__version__}",
        },
    )
    handlers: list[urllib.request.BaseHandler] = [_NoRedirects()]
    if url.lower().startswith("https:"):  # loading the trusted certificates takes a while
        handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context()))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as response:
            return answer_of(response.status, response.reason, response.read(READ_LIMIT))
    except urllib.error.HTTPError as exc:
        with exc:
            said = answer_of(exc.code, exc.reason, _body(exc))
        permanent = exc.code < 500 and exc.code not in RETRYABLE
        raise DeliveryFailed(receiver, f"it answered {said}", permanent) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        why = os_reason(reason) if isinstance(reason, OSError) else str(reason)
        if isinstance(reason, ssl.SSLCertVerificationError):
            why = f"its certificate is not trusted ({reason.verify_message})"
        raise DeliveryFailed(receiver, f"it could not be reached: {why}") from None
    except TimeoutError:
        raise DeliveryFailed(receiver, f"no answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        why = os_reason(exc) if isinstance(exc, OSError) else (str(exc) or type(exc).__name__)
        raise DeliveryFailed(receiver, f"the exchange failed: {why}") from None


def answer_of(status: int, reason: str, body: bytes) -> str:
    """ "HTTP 200 OK: <body excerpt>" (no excerpt for an empty body)."""
    text = body.decode("utf-8", "replace").strip()
    said = f"HTTP {status} {safe_text(str(reason or ''))}".rstrip()
    return f"{said}: {safe_text(text, EXCERPT)}" if text else said


def _body(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read(READ_LIMIT) or b""
    except (OSError, http.client.HTTPException):
        return b""
