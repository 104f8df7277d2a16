"""``deskchat --join LINK``: the link from the host's sharing panel carries the certificate's
fingerprint (after ``#``, never sent to the server); the joiner checks the server against it,
pins it, and refuses a server whose certificate is not that one (issue 16)."""

from __future__ import annotations

import re

import pytest

from chatserver import tls
from desktop import pinning
from desktop.cli import parse_args
from tests.desktop.launcher import free_port
from tests.support.netns import lan_namespace
from tests.support.server import run_deskchat, start_live_server

HEX = "ab" * 32


def test_a_join_link_names_the_server_and_its_fingerprint():
    args = parse_args(["--join", f"https://10.0.0.7:8765/trust/#sha256={HEX}"])
    server = args.join_link
    assert server.url == "https://10.0.0.7:8765/"
    assert server.fingerprint == ":".join(["AB"] * 32)
    assert pinning.link_fragment(server.fingerprint) == f"sha256={HEX}"
    assert parse_args(["--join"]).join_link is None  # browse the network, as before


@pytest.mark.parametrize(
    "link",
    [
        "https://10.0.0.7:8765/trust/",  # no fingerprint
        f"http://10.0.0.7:8765/trust/#sha256={HEX}",  # not https
        "https://10.0.0.7:8765/trust/#sha256=abc",  # not a SHA-256
    ],
)
def test_a_link_without_a_usable_fingerprint_is_refused_in_words(link, capsys):
    with pytest.raises(SystemExit) as exit:
        parse_args(["--join", link])
    assert exit.value.code == 2
    assert "join link" in capsys.readouterr().err


@pytest.mark.process
def test_the_link_is_checked_pinned_and_a_changed_certificate_refused(tmp_path):
    with lan_namespace() as address:
        port = free_port()
        server = start_live_server(
            tmp_path / "host",
            args=["--lan", "--port", str(port)],
            env={"DESKCHAT_MDNS_INTERFACES": address},
        )
        try:
            # Printed right after the URL on stdout: read stderr until it is there.
            found = next(
                m
                for line in server.follow_stderr()
                if (m := re.search(r"others can join at (\S+)", line))
            )
            link = found.group(1)
            fingerprint = tls.ca_fingerprint(tmp_path / "host")
            assert link == f"https://{address}:{port}/trust/#{pinning.link_fragment(fingerprint)}"
            joiner = ["--join", link, "--headless", "--data-dir", str(tmp_path / "joiner")]

            ok = run_deskchat(*joiner)
            assert ok.returncode == 0, ok.stderr
            assert ok.stdout.strip() == f"https://{address}:{port}/\t{fingerprint}"
            assert pinning.load(tmp_path / "joiner") == {f"{address}:{port}": fingerprint}

            # A link whose fingerprint is not the server's: someone else answers there.
            forged = link.split("#")[0] + "#sha256=" + HEX
            other_dir = str(tmp_path / "other-joiner")
            refused = run_deskchat("--join", forged, "--headless", "--data-dir", other_dir)
            assert refused.returncode == 1
            assert "does not hold the certificate it announces" in refused.stderr
            assert "Traceback" not in refused.stderr
            # In the session's language, like the rest of the launcher.
            russian = run_deskchat(
                "--join",
                forged,
                "--headless",
                "--data-dir",
                str(tmp_path / "russian-joiner"),
                env={"LANG": "ru_RU.UTF-8", "LC_ALL": "", "LANGUAGE": ""},
            )
            assert russian.returncode == 1
            assert "нет сертификата, о котором он сообщает" in russian.stderr, russian.stderr

            # The first joiner pinned the real one: a different fingerprint for the same
            # address is refused before anything is fetched.
            changed = run_deskchat("--join", forged, "--headless", "--data-dir", joiner[-1])
            assert changed.returncode == 1
            assert "has changed since you last joined" in changed.stderr
        finally:
            assert server.stop() == 0


def _der(path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.public_bytes(serialization.Encoding.DER)


def test_the_window_accepts_only_a_chain_the_pinned_ca_issued_for_that_address(tmp_path):
    """What the join window's certificate hook decides (desktop/pinning.py)."""
    ours = tls.server_certificate(tmp_path / "ours", addresses=["10.0.0.7"], host_name="pc")
    theirs = tls.server_certificate(tmp_path / "theirs", addresses=["10.0.0.7"], host_name="pc")
    chain = [_der(ours.cert), _der(ours.ca_cert)]
    pin = ours.fingerprint
    assert pinning.chain_is_pinned("https://10.0.0.7:8765/", chain, pin)
    # The same certificate for another address is not this server's.
    assert not pinning.chain_is_pinned("https://10.0.0.8:8765/", chain, pin)
    # The CA certificate is public: someone else's certificate with ours appended is refused.
    forged = [_der(theirs.cert), _der(ours.ca_cert)]
    assert not pinning.chain_is_pinned("https://10.0.0.7:8765/", forged, pin)
    assert not pinning.chain_is_pinned("https://10.0.0.7:8765/", [], pin)
    # A --cert server: its own certificate's fingerprint is the pin.
    leaf_pin = pinning.der_fingerprint(_der(theirs.cert))
    assert pinning.chain_is_pinned("https://10.0.0.7:8765/", [_der(theirs.cert)], leaf_pin)
