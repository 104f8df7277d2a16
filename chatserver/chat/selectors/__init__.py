"""Reads, one module per subject: what a user may see, as data the frames are built from.

Every check of what a user may read is here (``rooms.require_member``, ``users.require_peer``);
services and the real-time consumer call these instead of querying models themselves.
"""
