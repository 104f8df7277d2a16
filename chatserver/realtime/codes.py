"""Numbers and names the real-time path shares with its clients and with Daphne's protocol.

Close codes are the application's own range, 4000-4999 (docs/protocol.md lists them).
"""

# The server could not open the connection: a database fault (disk full, database damaged),
# said in the server_error frame sent before the close. (1011 is refused by autobahn.)
CLOSE_DATABASE_FAULT = 4503
CLOSE_TOO_MANY_CONNECTIONS = 4008
# "Reconnect and resume": the server will not buffer more for this socket, or could not hand
# it an event (a full or failed channel-layer channel); the database has everything it missed.
CLOSE_SLOW_READER = 4009
CLOSE_UNAUTHENTICATED = 4401

# What Deskchat's Daphne protocol offers in scope["extensions"] (websocket_protocol.py): a plain
# function that sends one text frame at once. Elsewhere (tests' communicators, a stock Daphne)
# frames go through the ASGI ``send`` as usual.
RELAY_EXTENSION = "deskchat.relay_text"

# The channel-layer event that tells a consumer its channel missed an event (a full queue, a
# failed hand-over, an expired event): it closes its socket with CLOSE_SLOW_READER. Both layers
# send it (channels_internals.py, channels_redis_internals.py); the consumer's ``layer_overflow``.
EVENT_OVERFLOW = "layer.overflow"
