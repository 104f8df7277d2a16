"""The instance lock, the host's saved choices and the local control channel."""

from __future__ import annotations

import json
import stat

import pytest

from desktop import control, prefs
from desktop.lock import AlreadyRunning, InstanceLock


def is_held(data_dir) -> bool:
    """True while some process holds the lock on ``data_dir``."""
    probe = InstanceLock(data_dir)
    try:
        probe.acquire()
    except AlreadyRunning:
        return True
    probe.release()
    return False


def test_second_lock_on_the_same_folder_fails_with_what_the_first_published(tmp_path):
    first = InstanceLock(tmp_path)
    first.acquire()
    first.publish(url="http://127.0.0.1:1234/", control_port=5)
    assert stat.S_IMODE((tmp_path / "instance.json").stat().st_mode) == 0o600
    with pytest.raises(AlreadyRunning) as running:
        InstanceLock(tmp_path).acquire()
    assert running.value.info["url"] == "http://127.0.0.1:1234/"
    assert is_held(tmp_path)
    first.release()
    assert not (tmp_path / "instance.json").exists()
    assert not is_held(tmp_path)
    with InstanceLock(tmp_path):
        pass


def test_prefs_defaults_roundtrip_and_damage(tmp_path):
    fresh = prefs.load(tmp_path)
    assert fresh.owner_id is None and fresh.signup == "open" and fresh.invite_code
    fresh.owner_id, fresh.owner_username, fresh.signup = 3, "alice", "invite"
    prefs.save(tmp_path, fresh)
    assert stat.S_IMODE((tmp_path / prefs.PREFS_NAME).stat().st_mode) == 0o600
    again = prefs.load(tmp_path)
    assert (again.owner_id, again.owner_username, again.signup) == (3, "alice", "invite")
    assert again.invite_code == fresh.invite_code

    (tmp_path / prefs.PREFS_NAME).write_text('{"signup": "everyone", "lan_port": 0, "x": 1}')
    damaged = prefs.load(tmp_path)
    assert damaged.signup == "open" and damaged.lan_port == 8765
    (tmp_path / prefs.PREFS_NAME).write_text("not json")
    assert prefs.load(tmp_path).owner_id is None


def test_the_tray_hint_is_remembered(tmp_path):
    fresh = prefs.load(tmp_path)
    assert fresh.tray_hint_shown is False
    fresh.tray_hint_shown = True
    prefs.save(tmp_path, fresh)
    assert prefs.load(tmp_path).tray_hint_shown is True
    (tmp_path / prefs.PREFS_NAME).write_text('{"tray_hint_shown": "yes"}')
    assert prefs.load(tmp_path).tray_hint_shown is False


def test_control_channel_needs_the_secret(tmp_path):
    calls = []
    server = control.ControlServer({"raise": lambda request: calls.append(1) or {"shown": True}})
    server.start()
    try:
        assert control.send(server.published(), "raise") == {"ok": True, "shown": True}
        assert calls == [1]
        with pytest.raises(OSError, match="not allowed"):
            control.send({**server.published(), "control_secret": "guess"}, "raise")
        with pytest.raises(OSError, match="unknown command"):
            control.send(server.published(), "eval")
        with pytest.raises(OSError):
            control.send({}, "raise")
    finally:
        server.close()
    assert calls == [1]
    json.dumps(server.published())
