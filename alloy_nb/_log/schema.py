"""The call log's SQLite schema: one row per call in `calls`, full-text search over it in `calls_fts`.

Any SQLite client can read the log (`sqlite3 calls.db`, Datasette). Schema version 2
(`PRAGMA user_version`):

`calls`, one row per finished call (`INSERT OR REPLACE` by id):

| column | type | what |
|---|---|---|
| id | TEXT PRIMARY KEY | the trace id (`Trace.id`) |
| time | TEXT | when the call started, ISO-8601 UTC with milliseconds (`2025-01-31T09:30:00.123+00:00`) |
| model | TEXT | the model string, e.g. `ollama:smollm2:135m` |
| strategy | TEXT | `native`, `openai_chat` or `openai_responses` |
| host | TEXT | the server's URL, credentials removed |
| status | TEXT | `ok`, `error`, `interrupted` (or `running`) |
| prompt | TEXT | the system and user messages of the first request, joined by blank lines |
| reply | TEXT | the final text: the result if a string, else its JSON; without a result, the last reply's text |
| thinking | TEXT | the model's thinking over every reply, joined by blank lines (NULL without) |
| prompt_tokens | INTEGER | prompt tokens summed over every reply |
| completion_tokens | INTEGER | completion tokens summed over every reply |
| duration_s | REAL | the whole call, in seconds |
| ttft_s | REAL | time to the first token of the first reply (streamed calls) |
| output_type | TEXT | the output type's name, `str` for text |
| tools | TEXT | the tool names as a JSON list |
| notebook | TEXT | the notebook's path, when known |
| cell | TEXT | the cell that made the call, when known |
| error | TEXT | `ErrorType: message` for a failed call |
| trace | TEXT | the whole trace as JSON (`Trace.from_json` reads it back) |

Indexes on `time`, `model` and `status`. `calls_fts` is an FTS5 table over `prompt` and `reply`
(`content='calls'`): `SELECT id FROM calls JOIN calls_fts ON calls_fts.rowid = calls.rowid WHERE
calls_fts MATCH 'paris'`. New rows are indexed in bulk, not one by one as they are written (the
words of a row cost as much as the rest of writing it): by the writer once calls pause, and by
`search` before it looks. `calls_fts_done.upto` says how far: every row with a rowid up to it is
indexed, none after it. Triggers take a deleted or updated row's words out of the index, and keep
`upto` no higher than the highest rowid, so a rowid SQLite hands out again is never taken for
indexed. Writers turn on `PRAGMA recursive_triggers` so that `INSERT OR REPLACE` also removes the
replaced row's words. (Version 1 indexed each row as it was inserted, by a trigger.)
"""

from __future__ import annotations

import sqlite3

COLUMNS = (
    "id",
    "time",
    "model",
    "strategy",
    "host",
    "status",
    "prompt",
    "reply",
    "thinking",
    "prompt_tokens",
    "completion_tokens",
    "duration_s",
    "ttft_s",
    "output_type",
    "tools",
    "notebook",
    "cell",
    "error",
    "trace",
)

# MIGRATIONS[n] takes a database from user_version n to n + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE IF NOT EXISTS calls (
            id TEXT PRIMARY KEY,
            time TEXT NOT NULL,
            model TEXT,
            strategy TEXT,
            host TEXT,
            status TEXT,
            prompt TEXT,
            reply TEXT,
            thinking TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            duration_s REAL,
            ttft_s REAL,
            output_type TEXT,
            tools TEXT,
            notebook TEXT,
            cell TEXT,
            error TEXT,
            trace TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS calls_time ON calls (time)",
        "CREATE INDEX IF NOT EXISTS calls_model ON calls (model)",
        "CREATE INDEX IF NOT EXISTS calls_status ON calls (status)",
        """CREATE VIRTUAL TABLE IF NOT EXISTS calls_fts
            USING fts5 (prompt, reply, content='calls', content_rowid='rowid')""",
        """CREATE TRIGGER IF NOT EXISTS calls_fts_insert AFTER INSERT ON calls BEGIN
            INSERT INTO calls_fts (rowid, prompt, reply) VALUES (new.rowid, new.prompt, new.reply);
        END""",
        """CREATE TRIGGER IF NOT EXISTS calls_fts_delete AFTER DELETE ON calls BEGIN
            INSERT INTO calls_fts (calls_fts, rowid, prompt, reply) VALUES ('delete', old.rowid, old.prompt, old.reply);
        END""",
        """CREATE TRIGGER IF NOT EXISTS calls_fts_update AFTER UPDATE ON calls BEGIN
            INSERT INTO calls_fts (calls_fts, rowid, prompt, reply) VALUES ('delete', old.rowid, old.prompt, old.reply);
            INSERT INTO calls_fts (rowid, prompt, reply) VALUES (new.rowid, new.prompt, new.reply);
        END""",
    ),
    (  # 2: index new rows in bulk (`index_new_rows`) instead of one insert trigger each
        "DROP TRIGGER calls_fts_insert",
        "DROP TRIGGER calls_fts_delete",
        "DROP TRIGGER calls_fts_update",
        "CREATE TABLE calls_fts_done (upto INTEGER NOT NULL)",
        "INSERT INTO calls_fts_done SELECT coalesce(max(rowid), 0) FROM calls",
        """CREATE TRIGGER calls_fts_delete AFTER DELETE ON calls BEGIN
            INSERT INTO calls_fts (calls_fts, rowid, prompt, reply)
                SELECT 'delete', old.rowid, old.prompt, old.reply WHERE old.rowid <= (SELECT upto FROM calls_fts_done);
            UPDATE calls_fts_done SET upto = min(upto, (SELECT coalesce(max(rowid), 0) FROM calls));
        END""",
        """CREATE TRIGGER calls_fts_update AFTER UPDATE ON calls
            WHEN old.rowid <= (SELECT upto FROM calls_fts_done) BEGIN
            INSERT INTO calls_fts (calls_fts, rowid, prompt, reply) VALUES ('delete', old.rowid, old.prompt, old.reply);
            INSERT INTO calls_fts (rowid, prompt, reply) VALUES (new.rowid, new.prompt, new.reply);
        END""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def create_schema(conn: sqlite3.Connection) -> None:
    """Bring the database (opened in autocommit mode) to SCHEMA_VERSION; a newer one is refused."""
    if _version(conn) == SCHEMA_VERSION:  # the common case: a read, no write lock taken
        return
    conn.execute("BEGIN IMMEDIATE")  # another process may be creating it at the same moment
    try:
        version = _version(conn)
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"the call log has schema version {version}, newer than this alloy_nb's {SCHEMA_VERSION}; "
                "upgrade alloy_nb, or point the log at another file"
            )
        for migration in MIGRATIONS[version:]:
            for statement in migration:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite rolls back by itself after some errors (a full disk)
            conn.execute("ROLLBACK")
        raise


def refuse_foreign(conn: sqlite3.Connection) -> None:
    """Raise `sqlite3.DatabaseError` for a database that holds tables but no call log: another
    program's file, given as the log by mistake, is never changed."""
    # one statement, one snapshot: another process may create the log between two reads
    version, tables = conn.execute(
        "SELECT (SELECT user_version FROM pragma_user_version), EXISTS (SELECT 1 FROM sqlite_master)"
    ).fetchone()
    if version == 0 and tables:
        raise sqlite3.DatabaseError(
            "the file holds another program's tables, not an alloy_nb call log; it was left as it is. "
            "Point the log at another file"
        )


def _version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def index_new_rows(conn: sqlite3.Connection) -> None:
    """Add the rows written since the last time to the search index, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO calls_fts (rowid, prompt, reply) SELECT rowid, prompt, reply FROM calls"
            " WHERE rowid > (SELECT upto FROM calls_fts_done) ORDER BY rowid"
        )
        conn.execute("UPDATE calls_fts_done SET upto = (SELECT coalesce(max(rowid), 0) FROM calls)")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
