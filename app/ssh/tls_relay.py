"""TLS to an https:// proxy: a cancellable handshake, and one thread relaying a socket pair.

paramiko's transport needs a real socket (WatchedSocket reads its descriptor directly and the
forwarding loop selects on it) and reads and writes it from two threads, which an
``ssl.SSLSocket`` does not allow safely. So the transport gets one end of a socket pair, and
a single thread, non-blocking with ``selectors``, moves bytes between the other end and the
TLS connection: the SSL object is only ever used by that thread.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import threading
import time

from app.errors import ProxyTlsFailed, os_reason

RELAY_CHUNK = 64 * 1024  # bytes held at most per direction in the relay
_POLL = 0.1  # seconds: how often the handshake looks at ``cancel``
# OpenSSL's X509_V_ERR_* codes that mean "a certificate for another name" or "out of date":
# trusting another certificate authority would not help with those.
_NAME_MISMATCH = {62, 63, 64}  # host name, e-mail, IP address
_OUT_OF_DATE = {9, 10}  # not yet valid, expired
# OpenSSL's reasons when the other side answers the ClientHello with something not TLS.
_NOT_TLS = {
    "WRONG_VERSION_NUMBER",
    "HTTP_REQUEST",
    "PACKET_LENGTH_TOO_LONG",
    "RECORD_LAYER_FAILURE",
}


def open_tls(
    sock: socket.socket,
    server_hostname: str,
    label: str,
    timeout: float,
    cancel: threading.Event | None,
    context: ssl.SSLContext | None = None,
) -> ssl.SSLSocket:
    """A TLS client connection over the connected ``sock``, the handshake done within
    ``timeout`` seconds (``cancel`` looked at every 0.1 s) and the certificate and name
    verified with ``context`` or ``ssl.create_default_context()`` (which honours
    SSL_CERT_FILE). The result is in blocking mode. On failure closes ``sock`` and raises
    ProxyTlsFailed naming the proxy by ``label``."""
    deadline = time.monotonic() + timeout
    try:
        context = context or ssl.create_default_context()
        tls = context.wrap_socket(
            sock, server_hostname=server_hostname, do_handshake_on_connect=False
        )
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        sock.close()
        raise ProxyTlsFailed(label, str(exc) or type(exc).__name__) from None
    try:
        _handshake(tls, label, timeout, deadline, cancel)
        tls.setblocking(True)
    except BaseException:
        tls.close()
        sock.close()  # already detached by wrap_socket; for clarity
        raise
    return tls


def _handshake(
    tls: ssl.SSLSocket,
    label: str,
    timeout: float,
    deadline: float,
    cancel: threading.Event | None,
) -> None:
    tls.setblocking(False)
    with selectors.DefaultSelector() as selector:
        selector.register(tls, selectors.EVENT_READ)
        while True:
            if cancel is not None and cancel.is_set():
                raise ProxyTlsFailed(label, "cancelled")
            try:
                tls.do_handshake()
                return
            except ssl.SSLWantReadError:
                selector.modify(tls, selectors.EVENT_READ)
            except ssl.SSLWantWriteError:
                selector.modify(tls, selectors.EVENT_WRITE)
            except ssl.SSLCertVerificationError as exc:
                raise _untrusted(label, exc) from None
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                raise ProxyTlsFailed(
                    label, "it closed the connection during the handshake"
                ) from None
            except ssl.SSLError as exc:
                raise ProxyTlsFailed(label, _ssl_reason(exc)) from None
            except OSError as exc:
                raise ProxyTlsFailed(label, os_reason(exc)) from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                why = f"no TLS handshake within {timeout:g} s (does it speak TLS on that port?)"
                raise ProxyTlsFailed(label, why)
            selector.select(min(_POLL, remaining))


def _untrusted(label: str, exc: ssl.SSLCertVerificationError) -> ProxyTlsFailed:
    message = str(exc.verify_message or exc.reason or exc)
    code = exc.verify_code
    if code in _NAME_MISMATCH:
        return ProxyTlsFailed(label, f"its certificate is for another name ({message})")
    if code in _OUT_OF_DATE:
        return ProxyTlsFailed(label, f"its certificate is out of date ({message})")
    return ProxyTlsFailed(label, f"its certificate is not trusted ({message})", untrusted=True)


def _ssl_reason(exc: ssl.SSLError) -> str:
    reason = exc.reason or ""
    if reason in _NOT_TLS:
        return "it does not speak TLS on that port (is it an http:// proxy?)"
    if reason:
        return reason.lower().replace("_", " ")
    return str(exc) or type(exc).__name__


class TlsRelay:
    """Carries bytes between ``socket`` (the end handed to paramiko) and ``tls``, on one
    thread named ``tls-relay-{name}``. At most ``RELAY_CHUNK`` bytes wait per direction:
    while one side does not take them, the other is not read.

    The TLS side's end (EOF, close_notify) is passed on as EOF once its last bytes are
    delivered; the paramiko side's end closes the TLS connection; any error closes both.
    The thread never raises, and at its end closes ``tls`` and its own end of the pair."""

    def __init__(self, tls: ssl.SSLSocket, name: str) -> None:
        """Start relaying; ``tls`` is the relay's from now on. If it cannot start (no
        descriptors or threads left), closes ``tls`` and raises OSError or RuntimeError."""
        self._tls = tls
        self._lock = threading.Lock()
        self._closed = False
        opened: list[socket.socket] = []
        try:
            self.socket, self._end = socket.socketpair()
            opened += (self.socket, self._end)
            # close() closes _wake; the thread sees _woken readable (EOF) and ends
            self._woken, self._wake = socket.socketpair()
            opened += (self._woken, self._wake)
            self._thread = threading.Thread(target=self._run, name=f"tls-relay-{name}", daemon=True)
            self._thread.start()
        except BaseException:
            for sock in (tls, *opened):
                sock.close()
            raise

    def close(self, timeout: float = 2.0) -> None:
        """Stop the relay and wait up to ``timeout`` seconds for its thread; close both
        ends of the pair and the TLS connection (any thread; idempotent)."""
        with self._lock:
            first, self._closed = not self._closed, True
        if first:
            self._wake.close()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if first:
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_RDWR)
            self.socket.close()

    # --- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            with selectors.DefaultSelector() as selector:
                _Loop(self._tls, self._end, self._woken, selector).run()
        except Exception:  # noqa: S110 - an error ends the relay, as an EOF would
            pass
        finally:
            for sock in (self._tls, self._end, self._woken):
                with contextlib.suppress(Exception):
                    sock.close()


class _Loop:
    """The relay's state: what waits for each side, and what the SSL object waits for."""

    def __init__(
        self,
        tls: ssl.SSLSocket,
        end: socket.socket,
        woken: socket.socket,
        selector: selectors.BaseSelector,
    ) -> None:
        self.tls = tls
        self.end = end
        self.woken = woken
        self.selector = selector
        self.down = memoryview(b"")  # from the TLS side, for paramiko
        self.up = memoryview(b"")  # from paramiko, for the TLS side (resent as is on WantWrite)
        self.tls_eof = False
        self.recv_wants_write = False  # tls.recv raised SSLWantWriteError
        self.send_wants_read = False  # tls.send raised SSLWantReadError
        self.interest: dict[socket.socket, int] = {}
        tls.setblocking(False)
        end.setblocking(False)
        selector.register(woken, selectors.EVENT_READ)

    def run(self) -> None:
        tls, end = self.tls, self.end
        while True:
            read_tls = not self.tls_eof and not self.down
            # the SSL object may hold decrypted bytes that no descriptor signals
            buffered = read_tls and not self.recv_wants_write and tls.pending() > 0
            self._want(tls, self._tls_events(read_tls))
            self._want(end, self._end_events())
            ready = self.selector.select(0 if buffered else None)
            events = {key.fileobj: mask for key, mask in ready}
            if self.woken in events:
                return  # close() was called
            tls_ready = events.get(tls, 0)
            end_ready = events.get(end, 0)
            if read_tls and (
                buffered
                or (self.recv_wants_write and tls_ready & selectors.EVENT_WRITE)
                or (not self.recv_wants_write and tls_ready & selectors.EVENT_READ)
            ):
                self._recv_tls()
                end_ready |= selectors.EVENT_WRITE  # try at once; the pair usually has room
            if self.down and end_ready & selectors.EVENT_WRITE:
                self._send_end()
            if self.tls_eof:
                if not self.down:
                    end.shutdown(socket.SHUT_WR)  # paramiko reads EOF after the last bytes
                    return
                continue  # only deliver what is left
            if not self.up and end_ready & selectors.EVENT_READ:
                if not self._recv_end():
                    return  # paramiko's end is closed: so is the TLS connection, on exit
                tls_ready |= selectors.EVENT_WRITE  # try at once
            if self.up and (
                (self.send_wants_read and tls_ready & selectors.EVENT_READ)
                or (not self.send_wants_read and tls_ready & selectors.EVENT_WRITE)
            ):
                self._send_tls()

    def _tls_events(self, read_tls: bool) -> int:
        events = 0
        if self.tls_eof:
            return events  # nothing more goes to or comes from it
        if (read_tls and not self.recv_wants_write) or (self.up and self.send_wants_read):
            events |= selectors.EVENT_READ
        if (read_tls and self.recv_wants_write) or (self.up and not self.send_wants_read):
            events |= selectors.EVENT_WRITE
        return events

    def _end_events(self) -> int:
        events = 0
        if not self.up and not self.tls_eof:
            events |= selectors.EVENT_READ
        if self.down:
            events |= selectors.EVENT_WRITE
        return events

    def _want(self, sock: socket.socket, events: int) -> None:
        """Register ``sock`` for ``events`` (none: unregister), touching the selector only
        on a change."""
        old = self.interest.get(sock, 0)
        if events == old:
            return
        if not events:
            self.selector.unregister(sock)
            del self.interest[sock]
        elif not old:
            self.selector.register(sock, events)
            self.interest[sock] = events
        else:
            self.selector.modify(sock, events)
            self.interest[sock] = events

    def _recv_tls(self) -> None:
        self.recv_wants_write = False
        try:
            data = self.tls.recv(RELAY_CHUNK)
        except ssl.SSLWantReadError:
            return
        except ssl.SSLWantWriteError:
            self.recv_wants_write = True
            return
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            data = b""
        if data:
            self.down = memoryview(data)
        else:
            self.tls_eof = True

    def _send_tls(self) -> None:
        self.send_wants_read = False
        try:
            sent = self.tls.send(self.up)
        except ssl.SSLWantWriteError:
            return
        except ssl.SSLWantReadError:
            self.send_wants_read = True
            return
        self.up = self.up[sent:]

    def _send_end(self) -> None:
        try:
            sent = self.end.send(self.down)
        except BlockingIOError:
            return
        self.down = self.down[sent:]

    def _recv_end(self) -> bool:
        """Read what paramiko sent; False at its EOF."""
        try:
            data = self.end.recv(RELAY_CHUNK)
        except BlockingIOError:
            return True
        if not data:
            return False
        self.up = memoryview(data)
        return True
