"""Channel-layer group names, always built from primary keys (Channels wants short ASCII)."""

LOBBY_GROUP = "lobby"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def room_group(room_id: int) -> str:
    return f"room-{room_id}"
