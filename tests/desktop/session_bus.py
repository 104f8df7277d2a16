"""A private D-Bus session bus with a recording notification service, and a tray host.

``NotificationRecorder`` is a real ``org.freedesktop.Notifications`` service (dbus-fast, the
library desktop-notifier itself uses): the app's notifications arrive over D-Bus exactly as a
desktop's notification daemon would get them, and the test can press a notification (the
``ActionInvoked`` signal a daemon sends on a click). It also records the Unity LauncherEntry
signals that carry the taskbar badge.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusDict, DBusInt32, DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, method, signal

from tests.support.tools import require_executable

DBusStrList = Annotated[list[str], DBusSignature("as")]
ServerInfo = Annotated[list[str], DBusSignature("ssss")]
ClosedArgs = Annotated[list[int], DBusSignature("uu")]
ActionArgs = Annotated[list[Any], DBusSignature("us")]

NOTIFICATIONS = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
LAUNCHER_ENTRY = "com.canonical.Unity.LauncherEntry"


# A session bus with nothing to start on demand: no service directories, so a notification
# daemon installed on the machine (dunst's D-Bus activation file) never answers in our place.
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def start_session_bus() -> tuple[subprocess.Popen, str]:
    """A ``dbus-daemon`` session bus of the test's own; returns it and its address."""
    daemon = require_executable("dbus-daemon", "apt-get install dbus-daemon")
    with tempfile.NamedTemporaryFile(
        "w", suffix=".conf", prefix="deskchat-bus-", delete=False
    ) as config:
        config.write(BUS_CONFIG)
    process = subprocess.Popen(
        [daemon, f"--config-file={config.name}", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    address = process.stdout.readline().strip()
    os.unlink(config.name)  # read at start
    if not address:
        process.kill()
        raise RuntimeError("dbus-daemon gave no address")
    return process, address


def start_tray_host(display: str) -> subprocess.Popen:
    """``trayer``, a freedesktop system tray, along the top right of the screen."""
    trayer = require_executable("trayer", "apt-get install trayer")
    return subprocess.Popen(
        [
            trayer,
            "--edge",
            "top",
            "--align",
            "right",
            "--widthtype",
            "pixel",
            "--width",
            str(TRAY_WIDTH),
            "--height",
            str(TRAY_HEIGHT),
            "--transparent",
            "false",
            "--tint",
            "0x333333",
            "--SetDockType",
            "false",
        ],
        env={**os.environ, "DISPLAY": display},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


TRAY_WIDTH = 64
TRAY_HEIGHT = 32


@dataclass
class Shown:
    id: int
    app_name: str
    app_icon: str
    summary: str
    body: str
    actions: list[str]
    hints: dict[str, Any]


class _Service(ServiceInterface):
    """The D-Bus names are the specification's (CamelCase methods and signals)."""

    def __init__(self, recorder: NotificationRecorder) -> None:
        super().__init__(NOTIFICATIONS)
        self._recorder = recorder

    @method()
    def GetCapabilities(self) -> DBusStrList:
        return ["actions", "body", "icon-static", "sound"]

    @method()
    def GetServerInformation(self) -> ServerInfo:
        return ["deskchat-test-recorder", "deskchat", "1", "1.2"]

    @method()
    def Notify(
        self,
        app_name: DBusStr,
        replaces_id: DBusUInt32,
        app_icon: DBusStr,
        summary: DBusStr,
        body: DBusStr,
        actions: DBusStrList,
        hints: DBusDict,
        expire_timeout: DBusInt32,
    ) -> DBusUInt32:
        hints_plain = {k: v.value if isinstance(v, Variant) else v for k, v in hints.items()}
        return self._recorder._add(app_name, app_icon, summary, body, list(actions), hints_plain)

    @method()
    def CloseNotification(self, id: DBusUInt32):
        self.NotificationClosed(id, 3)

    @signal()
    def NotificationClosed(self, id: DBusUInt32, reason: DBusUInt32) -> ClosedArgs:
        return [id, reason]

    @signal()
    def ActionInvoked(self, id: DBusUInt32, action_key: DBusStr) -> ActionArgs:
        return [id, action_key]


@dataclass
class NotificationRecorder:
    """Runs on the bus at ``address`` in a thread of its own until ``close``."""

    address: str
    shown: list[Shown] = field(default_factory=list)
    badges: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="dbus-recorder", daemon=True)
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("the recording notification service did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._loop.run_forever()

    async def _start(self) -> None:
        self._bus = await MessageBus(bus_address=self.address, bus_type=BusType.SESSION).connect()
        self._service = _Service(self)
        self._bus.export(NOTIFICATIONS_PATH, self._service)
        await self._bus.request_name(NOTIFICATIONS)
        await self._bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=[f"type='signal',interface='{LAUNCHER_ENTRY}'"],
            )
        )
        self._bus.add_message_handler(self._on_message)
        self._ready.set()

    def _on_message(self, message: Message) -> None:
        if message.message_type == MessageType.SIGNAL and message.interface == LAUNCHER_ENTRY:
            app_uri, properties = message.body
            with self._lock:
                self.badges.append({"app": app_uri, **{k: v.value for k, v in properties.items()}})

    def _add(self, app_name, app_icon, summary, body, actions, hints) -> int:
        with self._lock:
            shown = Shown(len(self.shown) + 1, app_name, app_icon, summary, body, actions, hints)
            self.shown.append(shown)
            return shown.id

    def wait_for(self, check, *, timeout: float = 30, what: str = "a notification") -> Shown:
        """The first notification for which ``check`` is true (waiting for it to arrive)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = next((s for s in self.shown if check(s)), None)
            if found is not None:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no {what} arrived; shown: {self.shown}")

    def wait_badge(self, count: int, *, timeout: float = 30) -> dict[str, Any]:
        """The badge update that shows ``count`` (0: the one that hides the badge)."""

        def shows(badge: dict[str, Any]) -> bool:
            if count == 0:
                return badge.get("count-visible") is False
            return badge.get("count") == count and badge.get("count-visible") is True

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = next((b for b in self.badges if shows(b)), None)
            if found is not None:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no badge with count {count}; seen: {self.badges}")

    def click(self, shown: Shown) -> None:
        """What a daemon sends when the person clicks the notification's body."""
        asyncio.run_coroutine_threadsafe(self._click(shown.id), self._loop).result(10)

    async def _click(self, notification_id: int) -> None:
        self._service.ActionInvoked(notification_id, "default")
        self._service.NotificationClosed(notification_id, 2)

    def close(self) -> None:
        async def stop() -> None:
            self._bus.disconnect()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
