"""The tray menu the shell tests hand to every shell: each item records its click."""

from __future__ import annotations

from desktop.tray import TrayMenu


def recording_menu(record: list, tooltip: str = "Deskchat") -> TrayMenu:
    return TrayMenu(
        tooltip=tooltip,
        open_label="Open Deskchat",
        share_label="Share on the network",
        autostart_label="Start Deskchat when I log in",
        quit_label="Quit",
        on_open=lambda: record.append("open"),
        on_share=lambda on: record.append(("share", on)),
        on_autostart=lambda on: record.append(("autostart", on)),
        on_quit=lambda: record.append("quit"),
    )
