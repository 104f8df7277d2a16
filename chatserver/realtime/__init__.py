"""The real-time path: everything between a WebSocket and the chat app's services.

A frame comes in through Daphne (``websocket_protocol``), is tied to a user (``socket_auth``),
parsed and answered by the consumer (``consumer``), stored in batches (``writer``,
``connects``, ``batches``) and fanned out through the channel layer (``groups``,
``channels_internals``). docs/architecture.md follows one message along this path.
"""
