"""The LAN address list, join links, allowed hosts and the QR code."""

from __future__ import annotations

from types import SimpleNamespace

from desktop import lan
from tests.support.netns import lan_namespace


def adapter(*ips):
    return SimpleNamespace(ips=[SimpleNamespace(ip=ip) for ip in ips])


def test_only_reachable_ipv4_addresses_are_listed():
    adapters = [
        adapter("127.0.0.1", ("::1", 0, 0)),
        adapter("192.168.1.20", ("fe80::1", 0, 2)),
        adapter("169.254.3.4"),  # link-local: no DHCP answer, nobody can reach it
        adapter("10.0.0.5", "192.168.1.20"),
        adapter("203.0.113.9"),
    ]
    assert lan.lan_ipv4_addresses(adapters) == ["10.0.0.5", "192.168.1.20", "203.0.113.9"]


def test_no_interfaces_means_no_addresses():
    assert lan.lan_ipv4_addresses([adapter("127.0.0.1")]) == []


def test_real_interfaces_give_the_lan_address_and_not_loopback():
    # A namespace whose only interfaces are loopback and one LAN address: the real
    # ifaddr lookup must find exactly that address (not pass on an empty list).
    with lan_namespace() as address:
        assert lan.lan_ipv4_addresses() == [address]


def test_join_urls_and_allowed_hosts():
    assert lan.join_urls(8765, ["10.0.0.5"]) == ["http://10.0.0.5:8765/"]
    assert lan.join_urls(443, ["10.0.0.5"], "https") == ["https://10.0.0.5:443/"]
    hosts = lan.allowed_hosts(["10.0.0.5", "localhost"])
    assert hosts == ["127.0.0.1", "localhost", "[::1]", "10.0.0.5"]
    assert "*" not in hosts


def test_qr_code_is_local_svg():
    svg = lan.qr_svg("http://10.0.0.5:8765/")
    assert svg.startswith("<svg") and "<path" in svg
    assert "http" not in svg.split(">", 1)[0]  # nothing fetched from elsewhere
