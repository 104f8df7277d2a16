"""Full-text search over message bodies: FTS5 on SQLite, a GIN index on PostgreSQL.

Each engine gets its own operations (``vendor`` checked at run time), so one migration
chain serves both. On SQLite the index is a contentless FTS5 table kept in step with
``chat_message`` by triggers (every insert, edit and delete, whatever writes it) and
filled for the rows already there by one ``INSERT ... SELECT``. docs/protocol.md (Search) says what
matches; docs/benchmarks.md has what building it costs on a million messages.
"""

from django.db import migrations

# Unicode case folding (Cyrillic and Latin alike) and Latin diacritics removed ("cafe" finds
# "café"; unicode61 leaves Cyrillic ё and й alone, so "мой" never finds "мои"); tokens split
# on anything that is not a letter or digit.
#
# Contentless (content=''): the bodies stay in chat_message only. Besides ``body`` each row
# has ``conv``, tokens saying where the message lives and who sent it ("r<room id>
# s<sender id>" for a room, "u<sender id> u<recipient id> s<sender id>" for a DM), so which
# conversations a search may look at is decided inside the index (selectors/search.py)
# instead of by reading every matching message row.
CONV = (
    "CASE WHEN {row}.room_id IS NOT NULL THEN 'r' || {row}.room_id || ' s' || {row}.sender_id"
    " ELSE 'u' || {row}.sender_id || ' u' || {row}.recipient_id || ' s' || {row}.sender_id END"
)
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE chat_message_fts USING fts5("
    " body, conv, content='', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER chat_message_fts_insert AFTER INSERT ON chat_message BEGIN"
    " INSERT INTO chat_message_fts(rowid, body, conv)"
    f" VALUES (new.id, new.body, {CONV.format(row='new')}); END",
    # A contentless table forgets a row only when told its exact indexed values.
    "CREATE TRIGGER chat_message_fts_delete AFTER DELETE ON chat_message BEGIN"
    " INSERT INTO chat_message_fts(chat_message_fts, rowid, body, conv)"
    f" VALUES ('delete', old.id, old.body, {CONV.format(row='old')}); END",
    "CREATE TRIGGER chat_message_fts_update"
    " AFTER UPDATE OF body, room_id, recipient_id, sender_id ON chat_message BEGIN"
    " INSERT INTO chat_message_fts(chat_message_fts, rowid, body, conv)"
    f" VALUES ('delete', old.id, old.body, {CONV.format(row='old')});"
    " INSERT INTO chat_message_fts(rowid, body, conv)"
    f" VALUES (new.id, new.body, {CONV.format(row='new')}); END",
    # The messages already there, in one statement.
    "INSERT INTO chat_message_fts(rowid, body, conv)"
    f" SELECT id, body, {CONV.format(row='chat_message')} FROM chat_message",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS chat_message_fts_update",
    "DROP TRIGGER IF EXISTS chat_message_fts_delete",
    "DROP TRIGGER IF EXISTS chat_message_fts_insert",
    "DROP TABLE IF EXISTS chat_message_fts",
]

# The 'simple' configuration: lower-cased words, no stemming and no stop words, so a
# search finds the words people typed in any language (the office writes Russian and
# English). The expression must match the one chatserver/chat/selectors/search.py queries.
POSTGRESQL_FORWARD = [
    "CREATE INDEX chat_message_body_fts ON chat_message"
    " USING gin (to_tsvector('simple'::regconfig, body))",
]
POSTGRESQL_BACKWARD = ["DROP INDEX IF EXISTS chat_message_body_fts"]


def _run(statements_by_vendor: dict[str, list[str]]):
    def run(apps, schema_editor) -> None:
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0004_room_joined_on_signup"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        ),
    ]
