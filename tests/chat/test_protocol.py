"""Frame parsing and validation without a socket."""

from __future__ import annotations

import pytest

from chatserver.chat.protocol import (
    ProtocolError,
    decode,
    parse,
    parse_pm,
    valid_room_name,
)


def parse_frame(frame: dict):
    return parse(frame, max_body_chars=4000)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Отдел продаж", "Отдел продаж"),
        ("q3-plans", "q3-plans"),
        ("R&D", "R&D"),
        ("  lots   of   space ", "lots of space"),
        ("x" * 64, "x" * 64),
        ("x" * 65, None),
        ("", None),
        ("   ", None),
        ("tab\there", "tab here"),
        ("rtl\u202eoverride", None),
        ("zero\u200bwidth", None),
        ("bell\x07", None),
        ("emoji 🎉", "emoji 🎉"),
        ("../../etc", "../../etc"),  # harmless: rooms are looked up by key, never by path
    ],
)
def test_room_names(name, expected):
    assert valid_room_name(name) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/pm bob hi there", ("bob", "hi there")),
        ("/pm bob", ("bob", "")),
        ("/pm", ("", "")),
        ("/pm  bob   spaced ", ("bob", "spaced")),
        ("/pmbob hi", None),
        ("hello /pm bob x", None),
    ],
)
def test_pm_command(body, expected):
    assert parse_pm(body) == expected


def test_oversized_text_is_refused_before_parsing():
    with pytest.raises(ProtocolError) as error:
        decode('{"type":"ping","pad":"' + "x" * 100 + '"}', max_bytes=64)
    assert error.value.code == "frame_too_large"


def test_multibyte_text_is_measured_in_bytes():
    text = '{"type":"ping","pad":"' + "я" * 30 + '"}'  # 52 characters, 82 bytes
    with pytest.raises(ProtocolError):
        decode(text, max_bytes=64)


def test_deep_nesting_is_bad_json_not_a_crash():
    with pytest.raises(ProtocolError) as error:
        decode("[" * 100_000 + "]" * 100_000, max_bytes=10**6)
    assert error.value.code == "bad_json"


def test_body_is_trimmed_and_measured_after_trimming():
    command = parse_frame({"type": "send", "room": "r", "body": "  hi \n", "client_id": "c"})
    assert command.body == "hi"
    command = parse_frame(
        {"type": "send", "room": "r", "body": " " + "x" * 4000 + " ", "client_id": "c"}
    )
    assert len(command.body) == 4000


def test_lone_surrogates_are_refused():
    with pytest.raises(ProtocolError) as error:
        parse_frame({"type": "send", "room": "r", "body": "bad \ud800", "client_id": "c"})
    assert error.value.code == "bad_field"


def test_client_id_length_is_bounded():
    with pytest.raises(ProtocolError):
        parse_frame({"type": "send", "room": "r", "body": "x", "client_id": "c" * 65})
    with pytest.raises(ProtocolError):
        parse_frame({"type": "send", "room": "r", "body": "x", "client_id": ""})


def test_history_defaults():
    command = parse_frame({"type": "history", "room": "r"})
    assert (command.before, command.limit) == (None, 50)


def test_join_may_say_it_must_not_create():
    assert parse_frame({"type": "join", "room": "x"}).create is True
    assert parse_frame({"type": "join", "room": "x", "create": False}).create is False
    assert parse_frame({"type": "join", "room": "x", "create": True}).create is True


@pytest.mark.parametrize("value", [0, 1, "false", [], {}])
def test_join_create_must_be_a_boolean(value):
    with pytest.raises(ProtocolError) as raised:
        parse_frame({"type": "join", "room": "x", "create": value})
    assert raised.value.code == "bad_field"


def test_send_files_field_is_validated():
    def send(**extra):
        return parse_frame({"type": "send", "room": "r", "body": "", "client_id": "c", **extra})

    assert send(files=[1, 2]).files == (1, 2)
    assert send(files=[3]).body == ""
    for bad in ("1", [True], [0], [-1], ["1"], [1, 1], list(range(1, 12)), {"id": 1}):
        with pytest.raises(ProtocolError) as error:
            send(files=bad)
        assert error.value.code == "bad_field", bad
    with pytest.raises(ProtocolError) as error:
        send()  # no files: an empty body is still empty
    assert error.value.code == "empty_body"
    with pytest.raises(ProtocolError) as error:
        send(files=[])
    assert error.value.code == "empty_body"
