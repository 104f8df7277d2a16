"""Argument parsing and the choices ``main`` makes from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.cli import build_parser, launch_options, parse_args
from desktop.lan import DEFAULT_LAN_PORT


def test_defaults_are_a_private_window_on_a_free_port():
    args = parse_args([])
    assert (args.headless, args.lan, args.join) == (False, False, False)
    assert args.host == "127.0.0.1" and args.port == 0
    options = launch_options(args)
    assert options.host == "127.0.0.1" and options.port == 0 and not options.lan


def test_headless_lan_listens_on_all_interfaces_on_the_stable_port():
    args = parse_args(["--headless", "--lan"])
    assert args.host == "0.0.0.0" and args.port == DEFAULT_LAN_PORT
    options = launch_options(args)
    assert (options.host, options.port, options.lan) == ("0.0.0.0", DEFAULT_LAN_PORT, True)


def test_window_lan_keeps_a_loopback_listener_and_shares_beside_it():
    options = launch_options(parse_args(["--lan", "--port", "9000"]))
    assert (options.host, options.port) == ("127.0.0.1", 0)
    assert options.lan and options.lan_port == 9000
    # Without --port the saved (default 8765) port is used.
    assert launch_options(parse_args(["--lan"])).lan_port is None


def test_port_without_lan_is_the_window_port():
    options = launch_options(parse_args(["--port", "9100", "--data-dir", "x"]))
    assert options.port == 9100 and options.lan_port is None
    assert options.data_dir == Path("x")


@pytest.mark.parametrize(
    "argv",
    [
        ["--port", "70000"],
        ["--port", "-1"],
        ["--cert", "c.pem"],
        ["--join", "--lan"],
        ["--port", "abc"],
    ],
)
def test_bad_arguments_exit_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
    assert "usage: deskchat" in capsys.readouterr().err


def test_every_option_has_help():
    for action in build_parser()._actions:
        assert action.help, f"{action.option_strings} has no help text"
