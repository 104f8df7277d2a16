"""Finding Deskchat servers on the local network with mDNS/DNS-SD (python-zeroconf).

A shared server announces ``_deskchat._tcp.local.`` (what ``--join`` looks for) and
``_http._tcp.local.`` (so generic service browsers list it too). ``DESKCHAT_MDNS_INTERFACES``
(comma-separated addresses) limits which interfaces are used; tests set it to 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

DESKCHAT_TYPE = "_deskchat._tcp.local."
HTTP_TYPE = "_http._tcp.local."


def mdns_interfaces() -> list[str] | None:
    """The interfaces to announce and browse on; ``None`` means all of them."""
    raw = os.environ.get("DESKCHAT_MDNS_INTERFACES", "").strip()
    return [item.strip() for item in raw.split(",") if item.strip()] or None


def _zeroconf():
    from zeroconf import InterfaceChoice, IPVersion, Zeroconf

    interfaces = mdns_interfaces()
    return Zeroconf(
        interfaces=interfaces if interfaces else InterfaceChoice.All, ip_version=IPVersion.V4Only
    )


def instance_name(hostname: str | None = None) -> str:
    """A readable, DNS-SD-safe instance label, e.g. ``Deskchat on alice-laptop``."""
    host = (hostname or socket.gethostname()).split(".")[0] or "computer"
    return f"Deskchat on {host}"[:60]


@dataclass(frozen=True)
class Found:
    """One server seen on the network."""

    name: str
    addresses: tuple[str, ...]
    port: int
    path: str = "/"
    version: str = ""
    scheme: str = "http"
    # The SHA-256 fingerprint of the CA (or certificate) the server says it uses; ``--join``
    # pins it (desktop/pinning.py).
    fingerprint: str = ""

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.addresses[0]}:{self.port}{self.path}"


class Announcer:
    """Registers this server on mDNS in a background thread (probing takes a second or two)."""

    def __init__(
        self,
        *,
        port: int,
        addresses: list[str],
        version: str = "",
        scheme: str = "http",
        fingerprint: str = "",
    ) -> None:
        self.port = port
        self.addresses = addresses
        self.version = version
        self.scheme = scheme
        self.fingerprint = fingerprint
        self._zc = None
        self._infos: list = []
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Announcer:
        self._thread = threading.Thread(target=self._register, name="mdns", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float = 10.0) -> bool:
        """True once the announcement is out (tests use it; the app never waits)."""
        return self._done.wait(timeout)

    def _register(self) -> None:
        from zeroconf import ServiceInfo

        try:
            self._zc = _zeroconf()
            name = instance_name()
            from chatserver.tls import host_name

            host = host_name()
            packed = [socket.inet_aton(a) for a in self.addresses]
            properties = {"path": "/", "version": self.version, "app": "deskchat"}
            properties["scheme"] = self.scheme
            if self.fingerprint:
                properties["fp"] = self.fingerprint
            for service_type in (DESKCHAT_TYPE, HTTP_TYPE):
                info = ServiceInfo(
                    service_type,
                    f"{name}.{service_type}",
                    addresses=packed,
                    port=self.port,
                    properties=properties,
                    server=f"{host}.local.",
                )
                # allow_name_change: two hosts with the same name both get announced.
                self._zc.register_service(info, allow_name_change=True)
                self._infos.append(info)
            logger.info("announced on mDNS as %r at %s port %s", name, self.addresses, self.port)
        except Exception as exc:
            logger.warning("could not announce on the network (mDNS): %s", exc)
        finally:
            self._done.set()

    def stop(self) -> None:
        """Say goodbye on the network and close the sockets (best effort, bounded)."""
        if self._thread is not None:
            self._thread.join(10)
        if self._zc is None:
            return
        try:
            for info in self._infos:
                self._zc.unregister_service(info)
        except Exception as exc:
            logger.debug("mDNS goodbye failed: %s", exc)
        finally:
            self._zc.close()
            self._zc = None
            self._infos.clear()


class Browser:
    """Keeps a live list of Deskchat servers; ``on_change`` is called from zeroconf's thread."""

    def __init__(self, on_change: Callable[[list[Found]], None] | None = None) -> None:
        self.on_change = on_change
        self._found: dict[str, Found] = {}
        self._lock = threading.Lock()
        self._zc = None
        self._browser = None

    def start(self) -> Browser:
        from zeroconf import ServiceBrowser

        self._zc = _zeroconf()
        self._browser = ServiceBrowser(self._zc, DESKCHAT_TYPE, handlers=[self._on_event])
        return self

    def _on_event(self, zeroconf, service_type: str, name: str, state_change) -> None:
        from zeroconf import ServiceStateChange

        if state_change is ServiceStateChange.Removed:
            with self._lock:
                self._found.pop(name, None)
        else:
            info = zeroconf.get_service_info(service_type, name, timeout=3000)
            found = _found_from(info) if info is not None else None
            if found is None:
                return
            with self._lock:
                self._found[name] = found
        if self.on_change is not None:
            self.on_change(self.servers())

    def servers(self) -> list[Found]:
        with self._lock:
            return sorted(self._found.values(), key=lambda f: f.name)

    def close(self) -> None:
        if self._browser is not None:
            self._browser.cancel()
        if self._zc is not None:
            self._zc.close()
        self._browser = self._zc = None


class OnDemandBrowser:
    """A ``Browser`` for a screen that lists servers: started when the screen shows, closed
    when the window leaves it, safe to call from any thread. One that cannot start (no
    network) is logged and finds nothing."""

    def __init__(self) -> None:
        self._browser: Browser | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._browser is None:
                try:
                    self._browser = Browser().start()
                except Exception as exc:
                    logger.warning("cannot look for servers on the network: %s", exc)

    def stop(self) -> None:
        with self._lock:
            if self._browser is not None:
                self._browser.close()
                self._browser = None

    def servers(self) -> list[Found]:
        with self._lock:
            return self._browser.servers() if self._browser is not None else []


def _found_from(info) -> Found | None:
    addresses = tuple(
        a
        for a in info.parsed_addresses()
        if isinstance(ipaddress.ip_address(a), ipaddress.IPv4Address)
    )
    if not addresses or not info.port:
        return None
    props = {_text(key): _text(value) for key, value in (info.properties or {}).items()}
    path = props.get("path") or "/"
    if not path.startswith("/"):
        path = "/"
    label = info.name.removesuffix("." + DESKCHAT_TYPE)
    scheme = props.get("scheme") if props.get("scheme") in {"http", "https"} else "http"
    return Found(
        name=label,
        addresses=addresses,
        port=info.port,
        path=path,
        version=props.get("version", ""),
        scheme=scheme,
        fingerprint=props.get("fp", "")[:200],
    )


def _text(value: bytes | str | None) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value or ""


def browse(
    timeout: float = 3.0, *, until: Callable[[list[Found]], bool] | None = None
) -> list[Found]:
    """Look for servers for ``timeout`` seconds (or until ``until(found)`` is true)."""
    seen = threading.Event()
    browser = Browser(on_change=lambda found: seen.set() if until and until(found) else None)
    browser.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not seen.is_set():
            seen.wait(min(0.1, max(0.0, deadline - time.monotonic())))
        return browser.servers()
    finally:
        browser.close()
