"""What Deskchat stores: rooms, memberships, messages, read markers and live presence."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


def room_key(name: str) -> str:
    """The form room names are compared in: whitespace folded, Unicode case-folded.

    Done in Python because SQLite's lower()/LIKE fold ASCII only ("Отдел" != "отдел").
    """
    return " ".join(name.split()).casefold()


def dm_key(user_a_id: int, user_b_id: int) -> str:
    """One key per pair of users, whichever of them writes: ``"<low id>:<high id>"``."""
    low, high = sorted((user_a_id, user_b_id))
    return f"{low}:{high}"


class Room(models.Model):
    name = models.CharField(max_length=64)
    # Unique, so "Sales" and "sales" (and "ОТДЕЛ" and "отдел") are one room.
    key = models.CharField(max_length=256, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Every new account becomes a member (the install's ``general``); a flag, not a name, so
    # the room can be renamed and stay the one people start in.
    joined_on_signup = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.key = room_key(self.name)
        super().save(*args, **kwargs)


class RoomFormerName(models.Model):
    """A name a room had before it was renamed: links to it say where the room went.

    ``key`` is the old name as compared (``room_key``); a row goes when a room takes that name
    again. Messages and memberships point at the room's id, so they follow a rename.
    """

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="former_names")
    key = models.CharField(max_length=256, unique=True)
    name = models.CharField(max_length=64)
    renamed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} (now {self.room_id})"


class Membership(models.Model):
    """A user has joined a room: it shows in their sidebar and `resume` covers it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(auto_now_add=True)
    last_read_id = models.BigIntegerField(default=0)
    # Which of the room's messages notify this member: one of protocol.NOTIFY_LEVELS.
    notify = models.CharField(max_length=8, default="mentions")

    class Meta:
        constraints = [models.UniqueConstraint("user", "room", name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.room_id}"


class Message(models.Model):
    """A room message (``room`` set) or a direct message (``recipient`` and ``dm_key`` set)."""

    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_messages"
    )
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="received_messages",
    )
    # NULL (not "") for room messages: the check constraint and the partial unique index
    # below rely on it.
    dm_key = models.CharField(max_length=41, null=True, blank=True)  # noqa: DJ001
    body = models.TextField()
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    # True when an Attachment names this message, else NULL: pages of messages without
    # files (nearly all) then read no attachment rows at all (selectors/messages.py).
    # Nullable with no default, so adding it to an existing database is instant (SQLite
    # rebuilds the whole table to add a NOT NULL column) and plain INSERTs need not name it.
    has_files = models.BooleanField(null=True, editable=False)

    class Meta:
        indexes = [
            # Keyset paging (`id < before ORDER BY id DESC`) for rooms and DMs.
            models.Index(fields=["room", "id"], name="message_room_id"),
            models.Index(fields=["dm_key", "id"], name="message_dm_id"),
            # The sidebar's DM partners and DM unread counts read only DM rows through these
            # (partial: room messages, nearly all rows, are not in them). docs/benchmarks.md S5.
            models.Index(
                fields=["sender", "recipient", "id"],
                condition=Q(recipient__isnull=False),
                name="message_dm_sent",
            ),
            models.Index(
                fields=["recipient", "sender", "id"],
                condition=Q(recipient__isnull=False),
                name="message_dm_received",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(room__isnull=False, recipient__isnull=True, dm_key__isnull=True)
                    | Q(room__isnull=True, recipient__isnull=False, dm_key__isnull=False)
                ),
                name="message_room_xor_dm",
            ),
            # A client retrying a send after a drop gets the first message back, not a copy.
            models.UniqueConstraint(
                "sender",
                "client_id",
                condition=Q(client_id__isnull=False),
                name="message_sender_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.body[:40]}"


class DirectRead(models.Model):
    """How far ``user`` has read their direct conversation with ``peer``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    peer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_read_id = models.BigIntegerField(default=0)
    # Which of the peer's messages notify ``user`` (docs/protocol.md, "notify").
    notify = models.CharField(max_length=8, default="all")

    class Meta:
        constraints = [models.UniqueConstraint("user", "peer", name="directread_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.peer_id} to #{self.last_read_id}"


class Mention(models.Model):
    """``user`` is mentioned by ``message`` (``@name``, or ``@room`` expanded at send time).

    ``room`` and ``sender`` repeat the message's, so a conversation's unread mentions are an
    index range (``mention_room``, ``mention_dm``), not a scan of its messages.
    """

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mention_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [
            models.Index(fields=["user", "room", "message"], name="mention_room"),
            models.Index(
                fields=["user", "sender", "message"],
                condition=Q(room__isnull=True),
                name="mention_dm",
            ),
            # Message objects list their mentions: history pages read them by message.
            models.Index(fields=["message"], name="mention_message"),
        ]
        constraints = [models.UniqueConstraint("user", "message", name="mention_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} in #{self.message_id}"


class UserStatus(models.Model):
    """What a user told others about being reachable: available, away or do not disturb."""

    # One of protocol.STATUSES.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    status = models.CharField(max_length=16, default="available")

    def __str__(self) -> str:
        return f"{self.user_id} {self.status}"


class Connection(models.Model):
    """A live WebSocket, kept in the database so presence is right across server processes.

    ``worker`` names the process that holds the socket; a worker's rows are removed when it
    stops, at its next start, or by any other worker once its heartbeat is stale.
    """

    channel_name = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    worker = models.CharField(max_length=64, db_index=True)
    # Filled in by the database, so the registry's plain INSERT (services/presence.py) and the
    # ORM share one definition.
    connected_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return f"{self.user_id} via {self.channel_name}"


class ConnectionRoom(models.Model):
    """A live connection is joined to a room: the room's online list counts these."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="rooms")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="live_connections")

    class Meta:
        constraints = [models.UniqueConstraint("connection", "room", name="connectionroom_unique")]

    def __str__(self) -> str:
        return f"{self.connection_id} in {self.room_id}"


class Worker(models.Model):
    """A running server process and when it last said it was alive."""

    name = models.CharField(max_length=64, primary_key=True)
    heartbeat_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class Attachment(models.Model):
    """A file someone uploaded to a conversation; attached to at most one message.

    The bytes live once per content in the data folder's store (``chat/filestore.py``, named by
    ``sha256``); this row is one upload of them: its name, who sent it, where it may be read.
    A room file (``room`` set) is readable by the room's members, a DM file (``dm_key`` set)
    by the two people of that key, for as long as they may read the conversation.
    """

    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    dm_key = models.CharField(max_length=41, null=True, blank=True)  # noqa: DJ001
    # Set when a ``send`` carries the file; NULL while it waits for its message.
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64, db_index=True)
    # Set only for raster images Pillow decoded (shown inline, with a thumbnail).
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(room__isnull=False, dm_key__isnull=True)
                    | Q(room__isnull=True, dm_key__isnull=False)
                ),
                name="attachment_room_xor_dm",
            ),
        ]

    def __str__(self) -> str:
        return f"file {self.pk} {self.name[:40]}"

    @property
    def is_image(self) -> bool:
        return self.width is not None
