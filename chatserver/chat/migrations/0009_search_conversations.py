"""PostgreSQL's search index: each word keyed by who may read it.

The GIN index of 0007 held only the words, so a word frequent in rooms a user cannot read
had all its matches fetched from the table and refused one by one (94-260 ms over a million
messages; docs/benchmarks.md, "Search and export"). This one holds each lexeme once per
reader group and once for its sender: ``r<room id>~<lexeme>`` for a room message,
``u<sender id>~`` and ``u<recipient id>~`` for a DM, ``s<sender id>~`` for ``from:``. A
search asks for its words under the user's own conversations only
(``'r1~plan' | 'r2~plan' | 'u7~plan'``), so the index answers only matches the user may
read. The 'simple' parser never makes a lexeme with ``~``, so no text can forge a key; the
rule itself is still checked on every row (chatserver/chat/selectors/search.py, whose query
must name this function exactly as the index does).

SQLite's FTS5 table gets a second column, ``readers`` (``r<room id>``, or ``u<sender id>
u<recipient id>`` for a DM, and ``s<sender id>`` for ``from:``), filled by the same triggers from a view over ``chat_message``,
so a search can AND ``readers : ("r1" OR "u7")`` into its query when the plain walk over
the newest matches was not enough; and ``chat_message_fts_terms`` (fts5vocab) lists the
indexed terms, so a prefix can be asked as the few words it starts.
"""

from django.db import migrations

# search_path pinned: an index expression must mean the same thing in every session.
FUNCTION = """
CREATE FUNCTION chat_message_search_keys(
    body text, room_id bigint, sender_id bigint, recipient_id bigint
) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
SELECT array_to_tsvector(ARRAY(
    SELECT reader || '~' || lexeme
    FROM unnest(tsvector_to_array(to_tsvector('simple'::regconfig, body))) AS lexeme,
         unnest(CASE WHEN room_id IS NULL
             THEN ARRAY['u' || sender_id::text, 'u' || recipient_id::text, 's' || sender_id::text]
             ELSE ARRAY['r' || room_id::text, 's' || sender_id::text] END) AS reader))
$$
"""

POSTGRESQL_FORWARD = [
    FUNCTION,
    "CREATE INDEX chat_message_search_keys ON chat_message"
    " USING gin (chat_message_search_keys(body, room_id, sender_id, recipient_id))",
    "DROP INDEX IF EXISTS chat_message_body_fts",
    # Statistics for the new expression, so the planner's estimates cover it at once.
    "ANALYZE chat_message",
]
POSTGRESQL_BACKWARD = [
    "CREATE INDEX chat_message_body_fts ON chat_message"
    " USING gin (to_tsvector('simple'::regconfig, body))",
    "DROP INDEX IF EXISTS chat_message_search_keys",
    "DROP FUNCTION IF EXISTS chat_message_search_keys(text, bigint, bigint, bigint)",
]


SQLITE_READERS = (
    "CASE WHEN {row}.room_id IS NULL THEN 'u' || {row}.sender_id || ' u' || {row}.recipient_id"
    " ELSE 'r' || {row}.room_id END || ' s' || {row}.sender_id"
)
SQLITE_FORWARD = [
    "DROP TRIGGER IF EXISTS chat_message_fts_update",
    "DROP TRIGGER IF EXISTS chat_message_fts_delete",
    "DROP TRIGGER IF EXISTS chat_message_fts_insert",
    "DROP TABLE IF EXISTS chat_message_fts",
    # What FTS5's 'rebuild' reads (external content: column names must match the table's).
    "CREATE VIEW chat_message_fts_source AS SELECT id, body,"
    f" {SQLITE_READERS.format(row='chat_message')} AS readers FROM chat_message",
    "CREATE VIRTUAL TABLE chat_message_fts USING fts5("
    " body, readers, content='chat_message_fts_source', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER chat_message_fts_insert AFTER INSERT ON chat_message BEGIN"
    " INSERT INTO chat_message_fts(rowid, body, readers)"
    f" VALUES (new.id, new.body, {SQLITE_READERS.format(row='new')}); END",
    "CREATE TRIGGER chat_message_fts_delete AFTER DELETE ON chat_message BEGIN"
    " INSERT INTO chat_message_fts(chat_message_fts, rowid, body, readers)"
    f" VALUES ('delete', old.id, old.body, {SQLITE_READERS.format(row='old')}); END",
    "CREATE TRIGGER chat_message_fts_update"
    " AFTER UPDATE OF body, room_id, sender_id, recipient_id ON chat_message BEGIN"
    " INSERT INTO chat_message_fts(chat_message_fts, rowid, body, readers)"
    f" VALUES ('delete', old.id, old.body, {SQLITE_READERS.format(row='old')});"
    " INSERT INTO chat_message_fts(rowid, body, readers)"
    f" VALUES (new.id, new.body, {SQLITE_READERS.format(row='new')}); END",
    "INSERT INTO chat_message_fts(chat_message_fts) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE chat_message_fts_terms USING fts5vocab(chat_message_fts, instance)",
]
# Back to 0007's table and triggers.
SQLITE_BACKWARD = [
    "DROP TABLE IF EXISTS chat_message_fts_terms",
    "DROP TRIGGER IF EXISTS chat_message_fts_update",
    "DROP TRIGGER IF EXISTS chat_message_fts_delete",
    "DROP TRIGGER IF EXISTS chat_message_fts_insert",
    "DROP TABLE IF EXISTS chat_message_fts",
    "DROP VIEW IF EXISTS chat_message_fts_source",
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


def _run(statements_by_vendor: dict[str, list[str]]):
    def run(apps, schema_editor) -> None:
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0008_general_rename"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        ),
    ]
