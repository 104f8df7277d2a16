"""Full-text search over message bodies: FTS5 on SQLite, a GIN index on PostgreSQL.

Each engine gets its own operations (``vendor`` checked at run time), so one migration
chain serves both. On SQLite the index is an external-content FTS5 table kept in step with
``chat_message`` by triggers (every insert, body edit and delete, whatever writes it) and
built for the rows already there by FTS5's ``rebuild``. docs/protocol.md (Search) says what
matches; docs/benchmarks.md has what building it costs on a million messages.
"""

from django.db import migrations

# Unicode case folding (Cyrillic and Latin alike) and Latin diacritics removed ("cafe" finds
# "café"; unicode61 leaves Cyrillic ё and й alone, so "мой" never finds "мои"); tokens split
# on anything that is not a letter or digit.
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE chat_message_fts USING fts5("
    " body, content='chat_message', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER chat_message_fts_insert AFTER INSERT ON chat_message BEGIN"
    " INSERT INTO chat_message_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER chat_message_fts_delete AFTER DELETE ON chat_message BEGIN"
    " INSERT INTO chat_message_fts(chat_message_fts, rowid, body)"
    " VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER chat_message_fts_update AFTER UPDATE OF body ON chat_message BEGIN"
    " INSERT INTO chat_message_fts(chat_message_fts, rowid, body)"
    " VALUES ('delete', old.id, old.body);"
    " INSERT INTO chat_message_fts(rowid, body) VALUES (new.id, new.body); END",
    "INSERT INTO chat_message_fts(chat_message_fts) VALUES ('rebuild')",
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
        ("chat", "0006_files"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        ),
    ]
