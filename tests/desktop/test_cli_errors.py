"""Every way a launch can fail says so in one line, without a traceback (issue 19).

Each case runs the real command line as a subprocess, as a person types it, and checks the
exit code, the one line on stderr, and that no "Traceback" reaches the console.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import ROOT, run_deskchat, start_live_server
from tests.support.tools import require, require_executable

pytestmark = pytest.mark.process


def one_line(result: subprocess.CompletedProcess, code: int) -> str:
    """The single line ``result`` printed on stderr, after checking the exit code and that
    neither stream holds a traceback."""
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr, output
    assert result.returncode == code, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"not one line:\n{output}"
    return lines[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """A migrated data folder with a database to back up (no server running on it)."""
    folder = tmp_path_factory.mktemp("cli-errors") / "data"
    result = run_deskchat("manage", "migrate", "--data-dir", str(folder))
    assert result.returncode == 0, result.stderr
    return folder


def read_only(folder: Path, argv: list[str]) -> list[str]:
    """``argv`` run with ``folder`` mounted read-only in a mount namespace of its own.

    A read-only folder is what root cannot write either (permission bits do not stop root,
    and CI runs as root); nothing outside that one process sees the mount.
    """
    require(os.geteuid() == 0, "a read-only mount needs root")
    unshare = require_executable("unshare", "apt-get install util-linux")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    return [unshare, "--mount", "--propagation", "private", "sh", "-c", script, str(folder), *argv]


def run(argv: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    from tests.support.server import server_env

    return subprocess.run(
        argv, cwd=ROOT, env=server_env(env), capture_output=True, text=True, timeout=60
    )


DESKCHAT = [sys.executable, "-m", "desktop"]


# --- backup and restore -----------------------------------------------------------------------


def test_backup_into_a_path_through_a_file(data, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    for target in (blocker / "backup.sqlite3", blocker / "sub" / "backup.sqlite3"):
        result = run_deskchat("backup", str(target), "--data-dir", str(data))
        line = one_line(result, 1)
        assert (
            line
            == f"deskchat backup: cannot put the backup in {target.parent}: {blocker} is a file"
        )


def test_backup_onto_a_folder(data, tmp_path):
    result = run_deskchat("backup", str(tmp_path), "--data-dir", str(data))
    line = one_line(result, 1)
    assert line == f"deskchat backup: {tmp_path} is a folder: give the backup a file name inside it"


def test_backup_into_a_read_only_folder(data, tmp_path):
    target_dir = tmp_path / "backups"
    target_dir.mkdir()
    result = run(
        read_only(
            target_dir,
            [*DESKCHAT, "backup", str(target_dir / "b.sqlite3"), "--data-dir", str(data)],
        )
    )
    line = one_line(result, 1)
    assert line == (
        f"deskchat backup: cannot write the backup: the folder {target_dir} is not writable"
    )
    assert list(target_dir.iterdir()) == []


def test_backup_without_a_database(tmp_path):
    result = run_deskchat("backup", str(tmp_path / "b.sqlite3"), "--data-dir", str(tmp_path / "d"))
    line = one_line(result, 1)
    assert line == (
        f"deskchat backup: there is no database to back up at {tmp_path / 'd' / 'deskchat.sqlite3'}"
    )


def test_restore_of_garbage_and_of_a_foreign_database(data, tmp_path):
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not sqlite at all" * 100)
    line = one_line(run_deskchat("restore", str(garbage), "--data-dir", str(data)), 1)
    assert line == (
        f"deskchat restore: {garbage} is not a Deskchat database: file is not a database"
    )
    foreign = tmp_path / "notes.sqlite3"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE notes (text)")
    line = one_line(run_deskchat("restore", str(foreign), "--data-dir", str(data)), 1)
    assert line == f"deskchat restore: {foreign} is not a Deskchat database"
    missing = tmp_path / "missing.sqlite3"
    line = one_line(run_deskchat("restore", str(missing), "--data-dir", str(data)), 1)
    assert line == f"deskchat restore: there is no backup file at {missing}"


# --- start-up -------------------------------------------------------------------------------


def test_data_folder_that_is_not_writable(data):
    result = run(read_only(data, [*DESKCHAT, "--headless", "--data-dir", str(data)]))
    line = one_line(result, 2)
    assert line == f"deskchat: the data folder {data} is not writable"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("DESKCHAT_LAYER_CAPACITY", "lots", "DESKCHAT_LAYER_CAPACITY='lots' is not a whole number"),
        ("DESKCHAT_DEBUG", "maybe", "DESKCHAT_DEBUG='maybe' is not a yes/no value"),
        ("DESKCHAT_SIGNUP", "sometimes", "DESKCHAT_SIGNUP='sometimes' must be one of"),
        ("DESKCHAT_RATE_PER_SECOND", "fast", "DESKCHAT_RATE_PER_SECOND='fast' is not a number"),
        ("DESKCHAT_CHANNEL_LAYER", "http://x", "DESKCHAT_CHANNEL_LAYER must be 'memory' or"),
        ("DESKCHAT_DATABASE_URL", "postgres://h:port/db", "has an invalid port"),
        (
            "DESKCHAT_LOG_LEVEL",
            "LOUD",
            "DESKCHAT_LOG_LEVEL='LOUD' must be one of: DEBUG, INFO, WARNING, ERROR, CRITICAL",
        ),
    ],
)
@pytest.mark.parametrize("mode", ["headless", "window"])
def test_malformed_setting(tmp_path, variable, value, says, mode):
    args = ["--headless"] if mode == "headless" else []
    # Without a display the window launch reports the same way, then gives up.
    env = {variable: value, "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    result = run_deskchat(*args, "--data-dir", str(tmp_path / "d"), env=env, timeout=60)
    line = one_line(result, 2)
    assert line.startswith("deskchat: ") and says in line


def test_an_error_no_check_catches_is_still_one_line(tmp_path):
    """An error nobody foresaw (here: settings that do not exist): one line pointing at the
    log, the traceback in the log."""
    data = tmp_path / "d"
    env = {"DJANGO_SETTINGS_MODULE": "tests.no_such_settings"}
    result = run_deskchat("--headless", "--data-dir", str(data), env=env)
    line = one_line(result, 1)
    log = data / "logs" / "deskchat.log"
    assert line.startswith("deskchat: unexpected error: ModuleNotFoundError: ")
    assert line.endswith(f"(details in {log})")
    assert "Traceback (most recent call last)" in log.read_text()


def test_an_unexpected_error_is_one_line_and_its_traceback_goes_to_the_log(
    tmp_path, monkeypatch, capsys
):
    from desktop import cli

    monkeypatch.setenv("DESKCHAT_DATA_DIR", str(tmp_path))
    try:
        raise RuntimeError("the flux capacitor\nis empty")
    except RuntimeError as error:
        code = cli.report_unexpected(error)
    assert code == 1
    err = capsys.readouterr().err
    said = re.fullmatch(
        r"deskchat: unexpected error: RuntimeError: the flux capacitor is empty "
        r"\(details in (.+)\)\n",
        err,
    )
    assert said, err
    text = Path(said.group(1)).read_text()
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: the flux capacitor" in text


def self_signed(folder: Path) -> tuple[Path, Path]:
    from tests.security.test_transport import self_signed as make

    return make(folder)


def test_certificate_and_key_that_do_not_match(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    cert, _ = self_signed(tmp_path / "one")
    _, other_key = self_signed(tmp_path / "two")
    result = run_deskchat(
        "--headless",
        "--data-dir",
        str(tmp_path / "d"),
        "--cert",
        str(cert),
        "--key",
        str(other_key),
    )
    line = one_line(result, 2)
    assert line.startswith(
        f"deskchat: the TLS certificate {cert} and key {other_key} do not load together: "
    )
    assert "usage:" not in result.stderr


def _held_port(host: str) -> socket.socket:
    holder = socket.socket()
    holder.bind((host, 0))
    holder.listen()
    return holder


def test_lan_port_already_taken_headless(tmp_path):
    with _held_port("0.0.0.0") as holder:
        port = holder.getsockname()[1]
        result = run_deskchat(
            "--headless",
            "--lan",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "d"),
            env={"DESKCHAT_MDNS_INTERFACES": "127.0.0.1"},
        )
    line = one_line(result, 2)
    assert line.startswith(
        f"deskchat: cannot listen on 0.0.0.0:{port} (is another program using that port?)"
    ), line


def test_lan_port_already_taken_when_sharing_is_switched_on(tmp_path):
    """The launch with a window (here its browser fallback: no display) serves locally first,
    then switches sharing on: that step fails, in words, and the launch ends."""
    with _held_port("0.0.0.0") as holder:
        port = holder.getsockname()[1]
        result = run_deskchat(
            "--lan",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "d"),
            env={"DISPLAY": "", "WAYLAND_DISPLAY": "", "DESKCHAT_MDNS_INTERFACES": "127.0.0.1"},
        )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("deskchat: cannot open a window: no display"), result.stderr
    assert len(lines) == 2, result.stderr
    assert lines[1].startswith(f"deskchat: cannot listen on 0.0.0.0:{port} "), result.stderr
    # The host's own record of it is for the log file only (marked FILE_ONLY, desktop/logs.py).
    log = (tmp_path / "d" / "logs" / "deskchat.log").read_text()
    failed = rf"sharing failed: cannot listen on 0\.0\.0\.0:{port} "
    assert re.search(rf" WARNING \S+ desktop\.lan_sharing: {failed}", log), log


def test_file_only_records_stay_off_the_console_whatever_they_say(tmp_path, capsys):
    """The console filter goes by the record's mark, not its words: the same text unmarked
    reaches the console, and a marked record of any text does not (both reach the file)."""
    import logging

    from desktop import logs

    root = logging.getLogger()
    saved = list(root.handlers), root.level
    for handler in saved[0]:
        root.removeHandler(handler)
    try:
        path = logs.install(tmp_path)
        logger = logging.getLogger("desktop.lan_sharing")
        logger.warning("sharing failed: unmarked")
        logger.warning("anything at all", extra=logs.FILE_ONLY)
        logging.getLogger("daphne.server").critical("Listen failure: %s", "port taken")
        for handler in root.handlers:
            handler.flush()
        err = capsys.readouterr().err
        text = path.read_text()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    assert "sharing failed: unmarked" in err
    assert "anything at all" not in err and "Listen failure" not in err
    for said in ("sharing failed: unmarked", "anything at all", "Listen failure: port taken"):
        assert said in text


def _unused_display() -> str:
    number = 90
    while Path(f"/tmp/.X11-unix/X{number}").exists():
        number += 1
    return f":{number}"


def test_display_set_but_unusable_serves_in_the_browser(tmp_path):
    display = _unused_display()
    server = start_live_server(
        tmp_path / "data",
        headless=False,
        env={"DISPLAY": display, "WAYLAND_DISPLAY": "", "BROWSER": "true"},
    )
    assert server.url.startswith("http://127.0.0.1:")
    assert server.stop() == 0
    lines = [line for line in server.stderr().splitlines() if line.strip()]
    assert lines == [
        f"deskchat: cannot open a window: no X server answers at DISPLAY={display}. "
        "Serving in the browser instead."
    ]


# --- instance records -----------------------------------------------------------------------


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def _stale_record(data: Path) -> dict:
    data.mkdir(parents=True, exist_ok=True)
    record = {
        "pid": _dead_pid(),
        "url": "http://127.0.0.1:9/",
        "control_port": 9,
        "control_secret": "old",
    }
    (data / "instance.json").write_text(json.dumps(record))
    return record


def test_stale_record_of_a_killed_run_is_ignored(tmp_path):
    data = tmp_path / "data"
    _stale_record(data)
    server = start_live_server(data)
    record = json.loads((data / "instance.json").read_text())
    assert record["pid"] == server.process.pid and record["url"] == server.url
    assert server.stop() == 0
    assert server.stderr().strip() == ""


@pytest.mark.parametrize("mode", ["headless", "window"])
def test_stale_record_while_another_launch_holds_the_folder(tmp_path, mode):
    """The folder is locked by a launch that has not published its address yet; the record
    left by a killed run must not send the person to that dead address."""
    data = tmp_path / "data"
    stale = _stale_record(data)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys; f = open(sys.argv[1], 'a+b'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
            str(data / "deskchat.lock"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        args = ["--headless"] if mode == "headless" else []
        result = run_deskchat(
            *args, "--data-dir", str(data), env={"DISPLAY": "", "WAYLAND_DISPLAY": ""}
        )
    finally:
        holder.stdin.close()
        holder.wait(10)
    line = one_line(result, 1)
    assert line == (
        "deskchat: another Deskchat is starting on this data folder (its address is not "
        "known yet); try again in a moment"
    )
    assert stale["url"] not in result.stderr


def test_a_killed_server_leaves_a_record_the_next_start_replaces(tmp_path):
    data = tmp_path / "data"
    first = start_live_server(data)
    first.stop(signal.SIGKILL)
    assert json.loads((data / "instance.json").read_text())["url"] == first.url  # stale now
    second = start_live_server(data)
    assert json.loads((data / "instance.json").read_text())["pid"] == second.process.pid
    assert second.stop() == 0


# --- a damaged database ---------------------------------------------------------------------


def damage(database: Path) -> None:
    """Overwrite one page in the middle of the file with noise, the header left intact (as a
    failing disk or a torn write does)."""
    with open(database, "r+b") as file:
        header = file.read(100)
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = file.seek(0, os.SEEK_END) // page_size
        file.seek(pages // 2 * page_size)
        file.write(bytes((i * 37 + 11) % 256 for i in range(page_size)))


@pytest.fixture
def damaged(tmp_path) -> Path:
    """A data folder whose database lost a page, left by a run that was killed."""
    folder = tmp_path / "data"
    result = run_deskchat("manage", "migrate", "--data-dir", str(folder))
    assert result.returncode == 0, result.stderr
    saved = run_deskchat("backup", str(tmp_path / "good.sqlite3"), "--data-dir", str(folder))
    assert saved.returncode == 0, saved.stderr
    damage(folder / "deskchat.sqlite3")
    _stale_record(folder)  # what a killed run leaves: the next start checks the database
    return folder


def test_a_damaged_database_stops_the_start_with_the_way_out(damaged):
    database = damaged / "deskchat.sqlite3"
    before = database.read_bytes()
    line = one_line(run_deskchat("--headless", "--data-dir", str(damaged)), 2)
    assert line.startswith(f"deskchat: the chat's database ({database}) is damaged ")
    assert "deskchat restore FILE" in line and "deskchat backup FILE" in line
    assert database.read_bytes() == before  # nothing more was written to it


def test_a_damaged_database_is_not_backed_up(damaged, tmp_path):
    target = tmp_path / "backup.sqlite3"
    result = run_deskchat("backup", str(target), "--data-dir", str(damaged))
    line = one_line(result, 1)
    assert line.startswith(f"deskchat backup: {damaged / 'deskchat.sqlite3'} is damaged: ")
    assert line.endswith("; no backup was written")
    assert not target.exists() and not target.with_name(target.name + ".partial").exists()


def test_the_way_out_restore_the_last_backup(damaged, tmp_path):
    result = run_deskchat("restore", str(tmp_path / "good.sqlite3"), "--data-dir", str(damaged))
    assert result.returncode == 0, result.stderr
    server = start_live_server(damaged)
    assert server.stop() == 0
