"""Writes, one module per subject. Each function is synchronous, keyword-only and atomic.

The real-time path calls them through ``database_sync_to_async``. They raise
:class:`~chatserver.chat.protocol.ProtocolError` for anything the user can fix, so callers turn
it into an ``error`` frame without knowing the rules.
"""
