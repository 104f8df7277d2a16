"""``deskchat manage export``: a room or a DM as JSON or one HTML page, for the operator.

Run on the server's own data folder (``deskchat manage`` sets it), so it reads any
conversation: the person at the console owns the database anyway. The web export
(``/export/``) is the one that checks who may read what.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from chatserver.chat.export import EXPORTS
from chatserver.chat.selectors.export import any_conversation, conversation_chunks


class Command(BaseCommand):
    help = "Export a room or a direct conversation as JSON or as one self-contained HTML page."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--room", help="the room's name (any case)")
        which.add_argument(
            "--dm",
            nargs=2,
            metavar=("USER", "USER"),
            help="the two people of a direct conversation",
        )
        parser.add_argument("--format", choices=sorted(EXPORTS), default="html")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")
        parser.add_argument(
            "--base-url",
            default="",
            help="the server's address (http://host:port), to make attachment links absolute",
        )

    def handle(self, *args, **options) -> None:
        usernames = tuple(options["dm"]) if options["dm"] else None
        conversation = any_conversation(room=options["room"], usernames=usernames)
        if conversation is None:
            if options["room"]:
                raise CommandError(f"There is no room '{options['room']}'.")
            first, second = options["dm"]
            raise CommandError(f"There are no messages between {first} and {second}.")
        document = EXPORTS[options["format"]](
            conversation,
            exported_by=None,
            exported_at=timezone.now(),
            base_url=options["base_url"],
        )
        pieces = document.render(conversation_chunks(conversation))
        if options["output"]:
            target = Path(options["output"])
            partial = target.with_name(target.name + ".part")
            try:
                with partial.open("w", encoding="utf-8") as out:
                    out.writelines(pieces)
                partial.replace(target)
            finally:
                partial.unlink(missing_ok=True)  # a failed export leaves nothing half-written
            self.stderr.write(f"Exported {document.count} messages to {target}")
        else:
            for piece in pieces:
                self.stdout.write(piece, ending="")
