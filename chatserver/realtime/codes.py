"""Numbers and names the real-time path shares with its clients and with Daphne's protocol.

Close codes are the application's own range, 4000-4999 (docs/protocol.md lists them).
"""

CLOSE_TOO_MANY_CONNECTIONS = 4008
CLOSE_SLOW_READER = 4009  # "reconnect and resume": the server will not buffer more for it
CLOSE_UNAUTHENTICATED = 4401

# What Deskchat's Daphne protocol offers in scope["extensions"] (websocket_protocol.py): a plain
# function that sends one text frame at once. Elsewhere (tests' communicators, a stock Daphne)
# frames go through the ASGI ``send`` as usual.
RELAY_EXTENSION = "deskchat.relay_text"
