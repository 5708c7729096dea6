"""A real TLS server on 127.0.0.1 that, like the gateway's Envoy, picks each host's certificate by SNI on one port.

Per host it loads `tls.crt`/`tls.key` from a `certs dev` folder; a MUTUAL host also trusts that folder's
`ca.crt` for client certificates. Unknown SNI names are refused with an `unrecognized_name` alert (Envoy has
no filter chain for them) unless `default_host` names a host to answer anything with.

OpenSSL keeps the verify mode of the context a handshake starts with (SSL_set_SSL_CTX swaps certificates and
trust store, not the verify mode), so the starting context asks for a client certificate whenever some host
is MUTUAL (requires it when all are), the switched context's trust store verifies it, and a MUTUAL host
whose client sent none is closed right after the handshake.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Host:
    name: str
    folder: Path
    mutual: bool


@dataclass
class SniServer:
    hosts: list[Host]
    default_host: str | None = None
    port: int = 0
    served: list[tuple[str | None, str | None]] = field(default_factory=list)  # (SNI, client CN)
    refused: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def refusals(self, count: int, timeout: float = 5.0) -> list[str]:
        """The first `count` refusals, waiting for the server threads (a client may see the failure first)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.refused) >= count, timeout)
            return list(self.refused)

    def _refuse(self, why: str) -> None:
        with self._changed:
            self.refused.append(why)
            self._changed.notify_all()

    def _context(self, host: Host) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(host.folder / "tls.crt", host.folder / "tls.key")
        if host.mutual:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=str(host.folder / "ca.crt"))
        return context

    @contextmanager
    def running(self) -> Iterator[SniServer]:
        contexts = {h.name: self._context(h) for h in self.hosts}
        mutual = {h.name for h in self.hosts if h.mutual}
        first = self.hosts[0]
        base = self._context(first)
        base.verify_mode = (
            ssl.CERT_REQUIRED if len(mutual) == len(self.hosts) else ssl.CERT_OPTIONAL if mutual else ssl.CERT_NONE
        )
        chosen: dict[int, str] = {}

        def pick(sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> int | None:
            target = name if name in contexts else self.default_host
            if target is None:
                self._refuse(str(name))
                return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
            sock.context = contexts[target]
            chosen[id(sock)] = target
            return None

        base.sni_callback = pick
        listener = socket.create_server(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        stop = threading.Event()

        def serve(raw: socket.socket) -> None:
            try:
                with base.wrap_socket(raw, server_side=True) as tls:
                    tls.settimeout(5)
                    host = chosen.pop(id(tls), None)
                    peer = tls.getpeercert()
                    if host in mutual and not peer:
                        self._refuse(f"{host}: no client certificate")
                        return
                    cn = next((v for rdn in (peer or {}).get("subject", ()) for k, v in rdn if k == "commonName"), None)
                    tls.recv(65536)
                    self.served.append((host, cn))
                    body = f"served {host} to {cn or 'anonymous'}\n".encode()
                    head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
                    tls.sendall(head + body)
            except ssl.SSLError as exc:
                self._refuse(str(exc.reason))
            except OSError as exc:
                self._refuse(type(exc).__name__)

        def accept() -> None:
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    raw, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                raw.settimeout(5)
                threading.Thread(target=serve, args=(raw,), daemon=True).start()

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=5)
            listener.close()
