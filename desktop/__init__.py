"""Deskchat's launcher: the embedded server, the window, LAN sharing and the command line."""
