"""Sending: the one path by which a message is checked and stored.

A send is a :class:`SendRequest`; sends are stored in batches (the real-time writer groups
whatever arrives while the last batch commits), and a lone send is a batch of one. Nothing is
acked before its batch is committed, and a ``client_id`` already stored returns the original
message, so a client that retries after a drop never stores a message twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from chatserver.chat import frames
from chatserver.chat.models import Attachment, Message, dm_key
from chatserver.chat.protocol import Command, ProtocolError, parse_pm
from chatserver.chat.selectors.files import attachable_files, file_object
from chatserver.chat.selectors.messages import message_object, message_objects, stored_client_ids
from chatserver.chat.selectors.rooms import RoomRef, require_member_by_any_name
from chatserver.chat.selectors.users import require_peer
from chatserver.chat.services.mentions import mentions_store

# A batch meets another worker's copy of one of its client_ids at most this often in a row
# before it gives up (each meeting means that copy is committed and found by the next try).
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class SendRequest:
    """One checked ``send`` frame: to a room (``room_name``) or to a user (``to_username``)."""

    sender_id: int
    sender_username: str
    body: str
    client_id: str
    room_name: str | None = None
    to_username: str | None = None
    files: tuple[int, ...] = ()  # uploads (``POST /files/``) this message carries


@dataclass(frozen=True)
class StoredMessage:
    """A stored send: its message object, where it goes, and whether this call stored it."""

    frame: frames.Frame
    room_id: int | None
    recipient_id: int | None
    created: bool


def message_create_many(*, requests: list[SendRequest]) -> list[StoredMessage | ProtocolError]:
    """Store several sends in one transaction, so they share one commit.

    Each request succeeds or is refused (not a member, unknown user) on its own. Retries are
    found with one query and the new rows go in with one ``INSERT``. If another worker stored
    one of these ``client_id``s between that query and the ``INSERT`` (PostgreSQL; on SQLite
    the transaction holds the write lock), the unique index refuses the batch once that copy
    is committed, and the batch is redone: the copy is then found as a retry.
    """
    for attempt in range(MAX_ATTEMPTS):
        try:
            with transaction.atomic():
                return _store(requests)
        except IntegrityError:
            if attempt == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _store(requests: list[SendRequest]) -> list[StoredMessage | ProtocolError]:
    keys = [(r.sender_id, r.client_id) for r in requests]
    stored_ids = stored_client_ids(set(keys))
    stored: dict[tuple[int, str], Message] = {}
    if stored_ids:  # retries after a reconnect: their original rows, as sent the first time
        originals = Message.objects.in_bulk(list(stored_ids.values()))
        stored = {key: originals[id_] for key, id_ in stored_ids.items()}
    rooms: dict[tuple[int, str], RoomRef] = {}  # each sender's room checked once per batch
    outcomes: list[StoredMessage | ProtocolError | None] = [None] * len(requests)
    new: dict[tuple[int, str], tuple[Message, dict[int, str], str | None]] = {}
    wanted: dict[tuple[int, str], tuple[int, ...]] = {}  # the sends that carry files
    for index, (request, key) in enumerate(zip(requests, keys, strict=True)):
        if key in stored or key in new:  # a retry, or the same client_id twice in one batch
            continue
        try:
            new[key] = _message_for(request, rooms)
        except ProtocolError as error:
            outcomes[index] = error
            continue
        if request.files:
            wanted[key] = request.files
    refused: dict[tuple[int, str], ProtocolError] = {}
    attached = _files_for(new, wanted, refused) if wanted else {}
    for key in attached:
        new[key][0].has_files = True
    inserted = [message for message, _, _ in new.values()]
    _insert(inserted)
    for key, files in attached.items():
        _attach(new[key][0], files)
    mentioned = mentions_store(messages=inserted)
    retried: dict[tuple[int, str], frames.Frame] = {}
    if stored:  # rare: one query for the names of every retried original
        keys_retried = [key for key in keys if key in stored]
        originals = message_objects([stored[key] for key in keys_retried])
        retried = dict(zip(keys_retried, originals, strict=True))
    seen: set[tuple[int, str]] = set()  # a client_id's later copies in one batch are retries
    for index, key in enumerate(keys):
        if outcomes[index] is not None:
            continue
        if key in refused:
            outcomes[index] = refused[key]
        elif key in retried:
            outcomes[index] = _outcome(stored[key], retried[key], created=False)
        else:
            message, names, room_name = new[key]
            files = [file_object(a) for a in attached[key]] if key in attached else None
            mentions = mentioned.get(message.pk, [])
            frame = message_object(
                message, usernames=names, room_name=room_name, mentions=mentions, files=files
            )
            outcomes[index] = _outcome(message, frame, created=key not in seen)
        seen.add(key)
    return outcomes  # type: ignore[return-value]  # every slot is filled by now


def _message_for(
    request: SendRequest, rooms: dict[tuple[int, str], RoomRef]
) -> tuple[Message, dict[int, str], str | None]:
    """The unsaved row for a send, the names its message object shows, its room's name."""
    sender, client_id = request.sender_id, request.client_id
    names = {sender: request.sender_username}
    if request.room_name is not None:
        room = rooms.get((sender, request.room_name))
        if room is None:
            room = rooms[(sender, request.room_name)] = require_member_by_any_name(
                user_id=sender, name=request.room_name, ref=client_id
            )
        row = Message(sender_id=sender, body=request.body, client_id=client_id, room_id=room.pk)
        return row, names, room.name
    assert request.to_username is not None
    peer = require_peer(user_id=sender, username=request.to_username, ref=client_id)
    names[peer.pk] = peer.username
    row = Message(
        sender_id=sender,
        body=request.body,
        client_id=client_id,
        recipient_id=peer.pk,
        dm_key=dm_key(sender, peer.pk),
    )
    return row, names, None


def _files_for(
    new: dict[tuple[int, str], tuple[Message, dict[int, str], str | None]],
    wanted: dict[tuple[int, str], tuple[int, ...]],
    refused: dict[tuple[int, str], ProtocolError],
) -> dict[tuple[int, str], list[Attachment]]:
    """The uploads each send carries, all read in one query; a send naming a file that is
    not its sender's unsent upload to that same conversation is refused (and left out of
    ``new``). Sends without files never get here."""
    found = attachable_files(file_id for ids in wanted.values() for file_id in ids)
    claimed: set[int] = set()  # one file, one message, even within a batch
    attached: dict[tuple[int, str], list[Attachment]] = {}
    for key, ids in wanted.items():
        message = new[key][0]
        files = [found.get(file_id) for file_id in ids]
        if all(
            a is not None
            and a.uploader_id == message.sender_id
            and a.message_id is None
            and a.pk not in claimed
            and (a.room_id, a.dm_key) == (message.room_id, message.dm_key)
            for a in files
        ):
            claimed.update(ids)
            attached[key] = files  # type: ignore[assignment]  # no None left
        else:
            del new[key]
            refused[key] = ProtocolError(
                "unknown_file",
                "A file of this message is not one you uploaded to this conversation,"
                " was already sent, or was removed because it stayed unsent too long:"
                " upload it again.",
                message.client_id,
            )
    return attached


def _attach(message: Message, files: list[Attachment]) -> None:
    """Give the files to their message; a file another worker attached meanwhile (PostgreSQL)
    fails the batch, which is redone and then refuses this send."""
    ids = [a.pk for a in files]
    updated = Attachment.objects.filter(pk__in=ids, message__isnull=True).update(
        message_id=message.pk
    )
    if updated != len(ids):
        raise IntegrityError("a file was attached to another message meanwhile")
    for attachment in files:
        attachment.message_id = message.pk


def _insert(messages: list[Message]) -> None:
    """One ``INSERT`` for the batch where the database tells the new ids (SQLite >= 3.35,
    PostgreSQL); one per row elsewhere."""
    if connection.features.can_return_rows_from_bulk_insert:
        Message.objects.bulk_create(messages)
    else:
        for message in messages:
            message.save(force_insert=True)


def _outcome(message: Message, frame: frames.Frame, *, created: bool) -> StoredMessage:
    return StoredMessage(
        frame=frame, room_id=message.room_id, recipient_id=message.recipient_id, created=created
    )


def send_request(command: Command, *, sender_id: int, sender_username: str) -> SendRequest:
    """The request a validated ``send`` frame makes, with the tutorial's ``/pm USER TEXT``
    typed into a room turned into the direct message it means."""
    assert command.body is not None and command.client_id is not None
    room_name, to, body = command.room, command.to, command.body
    pm = parse_pm(body) if room_name is not None else None
    if pm is not None:
        to, body = pm
        room_name = None
        if not to:
            raise ProtocolError("missing_field", "Usage: /pm USER TEXT", command.ref)
        if not body:
            raise ProtocolError("empty_body", "The message is empty.", command.ref)
    return SendRequest(
        sender_id=sender_id,
        sender_username=sender_username,
        body=body,
        client_id=command.client_id,
        room_name=room_name,
        to_username=to,
        files=command.files,
    )
