"""Driving the real desktop app in tests: Xvfb, the launched process, its control channel."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import health
from tests.support.server import ROOT, server_env
from tests.support.tools import require, require_executable

ARTIFACTS = ROOT / "artifacts" / "screenshots"


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """Xvfb on a free display. ``-displayfd`` writes the number and the newline in two writes:
    read until the newline, or Xvfb dies when the pipe closes early."""
    xvfb = require_executable("Xvfb", "apt-get install xvfb")
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    data = b""
    try:
        while not data.endswith(b"\n"):
            chunk = os.read(read_fd, 32)
            if not chunk:
                process.kill()
                raise RuntimeError("Xvfb exited before giving a display number")
            data += chunk
    finally:
        os.close(read_fd)
    return process, ":" + data.decode().strip()


ENGINES = ("qt", "gtk")


def require_engine(engine: str) -> None:
    """Skip (fail in CI) when this machine lacks the engine's bindings or system libraries."""
    from desktop import guicheck

    previous = os.environ.get("PYWEBVIEW_GUI")
    os.environ["PYWEBVIEW_GUI"] = engine
    try:
        guicheck._import_engine(engine)
        problem = ""
    except Exception as exc:
        problem = f"{exc.__class__.__name__}: {exc}"
    finally:
        if previous is None:
            os.environ.pop("PYWEBVIEW_GUI", None)
        else:
            os.environ["PYWEBVIEW_GUI"] = previous
    hint = (
        "apt-get install gir1.2-webkit2-4.1 libgirepository1.0-dev libcairo2-dev; "
        "pip install 'PyGObject<3.51'"
        if engine == "gtk"
        else "pip install 'pywebview[qt]'"
    )
    require(not problem, f"the {engine} web engine cannot load ({problem}; {hint})")


def window_env(display: str, *, engine: str = "qt", **extra: str) -> dict:
    """The app's environment for a window on ``display`` with pywebview's ``engine``."""
    env = server_env(
        {
            "DISPLAY": display,
            "PYWEBVIEW_GUI": engine,
            "QT_API": "pyqt6",
            "QTWEBENGINE_CHROMIUM_FLAGS": "--disable-gpu",
            "DESKCHAT_TEST_PROBE": "1",
            "DESKCHAT_MDNS_INTERFACES": "127.0.0.1",
            # A process that hangs on close dumps every thread's stack on SIGABRT (close()).
            "PYTHONFAULTHANDLER": "1",
            **extra,
        }
    )
    if os.geteuid() == 0:
        env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    env.pop("WAYLAND_DISPLAY", None)
    return env


@dataclass
class App:
    """One ``python -m desktop`` process with a window."""

    process: subprocess.Popen
    data_dir: Path
    env: dict
    log: Path
    info: dict = field(default_factory=dict)

    watched: health.Watched | None = None

    @classmethod
    def launch(cls, data_dir: Path, env: dict, *args: str, program: list[str] | None = None) -> App:
        """Start the app (``program``: another build of it, e.g. the installed one); its
        console (a file: it never fills a pipe) and its log file are checked for errors after
        the test, with its exit code (tests/support/health.py)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        log = data_dir.parent / f"{data_dir.name}-console.log"
        outputs = [health.Output.from_now(p) for p in (log, data_dir / "logs" / "deskchat.log")]
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [
                    *(program or [sys.executable, "-m", "desktop"]),
                    "--data-dir",
                    str(data_dir),
                    *args,
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        app = cls(process=process, data_dir=data_dir, env=env, log=log)
        app.watched = health.watch(f"the app on {data_dir}", process, [], app._final_code)
        app.watched.outputs = outputs
        return app

    def _final_code(self) -> int:
        """For the health check: a window the test left open is killed (the test's failure,
        not the app's)."""
        if self.process.poll() is None:
            self.kill()
        return self.process.returncode

    def console(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_control(self, timeout: float = 90, name: str = "instance.json") -> dict:
        """Wait until the window's control channel is published (instance.json when hosting,
        join-window.json when only joining)."""
        deadline = time.monotonic() + timeout
        path = self.data_dir / name
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"app exited early:\n{self.console()}"
            try:
                info = json.loads(path.read_text())
            except (OSError, ValueError):
                info = {}
            if info.get("pid") == self.process.pid and info.get("control_port"):
                self.info = info
                return info
            time.sleep(0.1)
        raise AssertionError(f"no control channel in time:\n{self.console()}")

    def command(self, command: str, **extra) -> dict:
        from desktop import control

        return control.send(self.info, command, timeout=20, **extra)

    def probe(self, window: str = "main") -> dict:
        return self.command("probe", window=window)["page"]

    def wait_page(self, check, *, window: str = "main", timeout: float = 60) -> dict:
        """Probe the page until ``check(page)`` is true (pages load asynchronously)."""
        deadline = time.monotonic() + timeout
        page: dict = {}
        while time.monotonic() < deadline:
            try:
                page = self.probe(window)
            except (OSError, ValueError):
                page = {}
            if page and check(page):
                return page
            time.sleep(0.2)
        raise AssertionError(f"page never matched; last probe: {page}\n{self.console()}")

    def eval(self, script: str, window: str = "main"):
        return self.command("eval", script=script, window=window)["result"]

    def close(self, timeout: float = 30) -> int:
        """Close the window the way its close button does (window.destroy) and wait."""
        if self.process.poll() is None:
            try:
                self.command("close")
            except OSError:
                self.process.terminate()
        return self.wait_exit(timeout)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, as a session manager or ``kill`` sends it, and wait."""
        self.process.terminate()
        return self.wait_exit(timeout)

    def wait_exit(self, timeout: float = 30) -> int:
        """The exit code; a process still running after ``timeout`` has every thread's stack
        dumped into its console (faulthandler on SIGABRT) and that console in the failure."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            raise AssertionError(
                f"still running {timeout} s after it was asked to close:\n{self.console()[-12000:]}"
            ) from None

    def kill(self) -> None:
        if self.process.poll() is None:
            health.note_signal(self.watched, signal.SIGKILL)
            self.process.kill()
            self.process.wait()

    @property
    def url(self) -> str:
        return self.info["url"]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def screenshot(display: str, name: str, *, timeout: float = 30) -> Path:
    """Grab the whole screen until it is painted (a first grab can be blank)."""
    grab = require_executable("import", "apt-get install imagemagick")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    env = {**os.environ, "DISPLAY": display}
    deadline = time.monotonic() + timeout
    colours = 0
    while time.monotonic() < deadline:
        subprocess.run([grab, "-window", "root", str(path)], env=env, check=True, timeout=30)
        colours = colour_count(path)
        if colours > 50:
            return path
        time.sleep(0.3)
    raise AssertionError(f"the screen stayed blank ({colours} colours): {path}")


def see_on_screen(
    display: str,
    name: str,
    *phrases: str,
    absent: tuple[str, ...] = (),
    lang: str = "eng",
    timeout: float = 30,
) -> str:
    """Screenshot ``name`` until OCR reads every phrase on it and none of ``absent`` (a
    person's view, not the DOM's; the screen may paint a moment after the DOM changed);
    returns the text read. Fails with what was read instead."""
    tesseract = require_executable("tesseract", "apt-get install tesseract-ocr")
    convert = require_executable("convert", "apt-get install imagemagick")
    deadline = time.monotonic() + timeout
    text = ""
    while True:
        path = screenshot(display, name, timeout=max(1.0, deadline - time.monotonic()))
        text = " ".join(_ocr(path, lang, tesseract, convert, variant) for variant in OCR_VARIANTS)
        read = text.casefold()
        missing = [p for p in phrases if " ".join(p.split()).casefold() not in read]
        still = [p for p in absent if " ".join(p.split()).casefold() in read]
        if not missing and not still:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not on the screen: {missing}; still on it: {still}; OCR read: {text!r} ({path})"
            )
        time.sleep(0.5)


# Screen text is small for OCR: three times the size, in grey, reads far better; thresholded
# it reads small grey text too, but can misread digits. A phrase may be read in either.
OCR_VARIANTS = (
    ["-resize", "300%", "-colorspace", "Gray"],
    ["-resize", "300%", "-colorspace", "Gray", "-threshold", "75%"],
)


def _ocr(path: Path, lang: str, tesseract: str, convert: str, variant: list[str]) -> str:
    prepared = path.with_suffix(".ocr.png")
    subprocess.run([convert, str(path), *variant, str(prepared)], check=True, timeout=60)
    try:
        read = subprocess.run(
            [tesseract, str(prepared), "-", "-l", lang], capture_output=True, text=True, timeout=120
        )
    finally:
        prepared.unlink(missing_ok=True)
    assert read.returncode == 0, read.stderr
    return " ".join(read.stdout.split())


def colour_count(path: Path) -> int:
    """Colours below the menu bar: the menu's text alone has dozens, a blank page has two."""
    convert = require_executable("convert", "apt-get install imagemagick")
    out = subprocess.run(
        [convert, str(path), "-crop", "1280x780+0+100", "+repage", "-format", "%k", "info:"],
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip() or 0)


def type_into_window(display: str, *keys: str) -> None:
    """Type like a person: each item is text to type, or ``<Key>`` for a key press."""
    xdotool = require_executable("xdotool", "apt-get install xdotool")
    env = {**os.environ, "DISPLAY": display}
    # No window manager under Xvfb: give the main window the keyboard focus ourselves. Only a
    # visible one: GTK's hidden client-leader window carries the program's name too.
    subprocess.run(
        [
            xdotool,
            "search",
            "--sync",
            "--onlyvisible",
            "--name",
            "^Deskchat$",
            "windowfocus",
            "--sync",
        ],
        env=env,
        check=True,
        timeout=30,
    )
    for item in keys:
        if item.startswith("<") and item.endswith(">"):
            subprocess.run([xdotool, "key", item[1:-1]], env=env, check=True)
        else:
            subprocess.run([xdotool, "type", "--delay", "15", item], env=env, check=True)
