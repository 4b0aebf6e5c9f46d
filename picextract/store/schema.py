"""The state file's tables: made on open, with the columns and indexes later versions added.

Statements are separated by `;` and run one by one in a single transaction (so no `;` in comments).
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS pictures (
    identity TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    saved_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    index_row TEXT,  -- its row of index.csv, as JSON
    name_key TEXT,  -- the file name casefolded: names are compared without case (Windows, macOS)
    in_index INTEGER NOT NULL DEFAULT 0  -- 1: its row is in index.csv (or left out on purpose)
);
CREATE TABLE IF NOT EXISTS progress (
    source_id TEXT PRIMARY KEY,
    covered_after INTEGER NOT NULL,  -- every message with covered_after < id <= covered_to is done
    covered_to INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    identity TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    source_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS given_up (
    identity TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,  -- not_picture or dead
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS authors (  -- who posted in this folder's windows: --author checks names against them
    author_id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    global_name TEXT NOT NULL,
    nick TEXT NOT NULL,
    is_bot INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (  -- JSON values: what index.csv and the gallery hold
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""
# Columns added after the first release; older state files get them on open.
ADDED_COLUMNS = {
    "pictures": [
        ("index_row", "TEXT"),
        ("name_key", "TEXT"),
        ("in_index", "INTEGER NOT NULL DEFAULT 0"),
    ],
    "failures": [("failed_runs", "INTEGER NOT NULL DEFAULT 1")],
}
# Made after the columns: the partial index keeps "what is not in index.csv yet" a short lookup. (The gallery
# follows the rowid, which needs no index; pictures_filename was never read: each index costs a page per picture.)
INDEXES = """
DROP INDEX IF EXISTS pictures_filename;
CREATE INDEX IF NOT EXISTS pictures_name_key ON pictures (name_key);
CREATE INDEX IF NOT EXISTS pictures_not_in_index ON pictures (in_index) WHERE in_index = 0;
"""
RECORD = """
INSERT INTO pictures (identity, filename, size_bytes, message_id, channel_id, index_row, name_key, in_index)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (identity) DO UPDATE SET
    filename = excluded.filename, size_bytes = excluded.size_bytes, message_id = excluded.message_id,
    channel_id = excluded.channel_id, index_row = excluded.index_row, name_key = excluded.name_key,
    in_index = excluded.in_index OR (in_index AND filename = excluded.filename)
"""
NEEDED = {
    "pictures": {"identity", "filename", "size_bytes", "message_id", "channel_id"},
    "progress": {"source_id", "covered_after", "covered_to"},
    "failures": {"identity", "message_id", "source_id"},
}
