"""The local network's addresses: which ones others can reach, and which hosts may connect.

The join addresses are the IPv4 addresses of this computer's non-loopback interfaces (``ifaddr``
comes with ``zeroconf``). The same list, plus localhost, is what ``ALLOWED_HOSTS`` and the
WebSocket Origin check accept: a request naming any other host is refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

DEFAULT_LAN_PORT = 8765
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def lan_ipv4_addresses(adapters: Iterable | None = None) -> list[str]:
    """IPv4 addresses of the interfaces other computers can reach, in a stable order.

    Loopback and link-local (169.254.x.x, no DHCP answer) addresses are left out: nobody
    else can use them to join.
    """
    if adapters is None:
        import ifaddr

        adapters = ifaddr.get_adapters()
    found: list[str] = []
    for adapter in adapters:
        for ip in adapter.ips:
            if not isinstance(ip.ip, str):  # IPv6 entries are tuples
                continue
            address = ipaddress.IPv4Address(ip.ip)
            if address.is_loopback or address.is_link_local or address.is_unspecified:
                continue
            if ip.ip not in found:
                found.append(ip.ip)
    return sorted(found, key=lambda a: (not ipaddress.IPv4Address(a).is_private, a))


def join_urls(port: int, addresses: Iterable[str], scheme: str = "http") -> list[str]:
    return [f"{scheme}://{address}:{port}/" for address in addresses]


def allowed_hosts(addresses: Iterable[str]) -> list[str]:
    """Exactly localhost and the given addresses (no wildcard)."""
    hosts = list(LOCAL_HOSTS)
    hosts.extend(a for a in addresses if a not in hosts)
    return hosts


def qr_svg(text: str) -> str:
    """An inline SVG QR code of ``text``, drawn locally (no web service sees the address)."""
    import segno

    return segno.make(text, error="m").svg_inline(scale=5, border=2, dark="#111827")
