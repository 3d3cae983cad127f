"""Numbered schema migrations, recorded in ``schema_migrations``.

A store whose newest recorded version is above :data:`LATEST` was written by a newer engramdb;
opening it raises :class:`SchemaVersionError` instead of guessing.
"""

from __future__ import annotations

import sqlite3

from engramdb.errors import SchemaVersionError
from engramdb.timeutil import iso, utcnow

_V1 = """
CREATE TABLE memories (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    run_id TEXT,
    memory TEXT NOT NULL,
    hash TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    memory_type TEXT NOT NULL DEFAULT 'fact',
    role TEXT,
    categories TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    valid_at TEXT,
    invalid_at TEXT,
    expires_at TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    importance REAL NOT NULL DEFAULT 0.5,
    access_count INTEGER NOT NULL DEFAULT 0,
    last_accessed_at TEXT
);
CREATE INDEX memories_user ON memories (tenant, user_id, created_at);
CREATE INDEX memories_agent ON memories (tenant, agent_id, created_at);
CREATE INDEX memories_run ON memories (tenant, run_id, created_at);
CREATE INDEX memories_hash ON memories (tenant, hash);

-- Vectors live beside the rows so that listing memories never reads 1.5 KB blobs.
CREATE TABLE memory_vectors (
    rowid INTEGER PRIMARY KEY REFERENCES memories (rowid) ON DELETE CASCADE,
    vector BLOB NOT NULL
);

CREATE VIRTUAL TABLE memories_fts USING fts5 (
    memory, content = 'memories', content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER memories_fts_ai AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, memory) VALUES (new.rowid, new.memory);
END;
CREATE TRIGGER memories_fts_ad AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, memory) VALUES ('delete', old.rowid, old.memory);
END;
CREATE TRIGGER memories_fts_au AFTER UPDATE OF memory ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, memory) VALUES ('delete', old.rowid, old.memory);
    INSERT INTO memories_fts (rowid, memory) VALUES (new.rowid, new.memory);
END;

-- Every change that can move a row in or out of a vector cache is logged here by triggers,
-- so caches in this and other processes catch up by reading the log, in the same transaction
-- order as the writes.
CREATE TABLE changelog (seq INTEGER PRIMARY KEY AUTOINCREMENT, mem_rowid INTEGER NOT NULL);
CREATE TRIGGER changelog_vec_ai AFTER INSERT ON memory_vectors BEGIN
    INSERT INTO changelog (mem_rowid) VALUES (new.rowid);
END;
CREATE TRIGGER changelog_vec_au AFTER UPDATE ON memory_vectors BEGIN
    INSERT INTO changelog (mem_rowid) VALUES (new.rowid);
END;
CREATE TRIGGER changelog_mem_au AFTER UPDATE OF
    tenant, user_id, agent_id, run_id, status, expires_at ON memories BEGIN
    INSERT INTO changelog (mem_rowid) VALUES (new.rowid);
END;
CREATE TRIGGER changelog_mem_ad AFTER DELETE ON memories BEGIN
    INSERT INTO changelog (mem_rowid) VALUES (old.rowid);
END;

CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    memory_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    event TEXT NOT NULL,
    old_memory TEXT,
    new_memory TEXT,
    actor TEXT,
    role TEXT,
    reason TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX history_memory ON history (memory_id, id);
"""

_V2 = """
CREATE TABLE episodes (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    run_id TEXT,
    batch_id TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT,
    content TEXT NOT NULL,
    images TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    error TEXT,
    facts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX episodes_user ON episodes (tenant, user_id, created_at);
CREATE INDEX episodes_agent ON episodes (tenant, agent_id, created_at);
CREATE INDEX episodes_run ON episodes (tenant, run_id, created_at);
CREATE INDEX episodes_open ON episodes (status) WHERE status != 'done';
"""

_V3 = """
ALTER TABLE episodes ADD COLUMN claimed_by TEXT;
"""

_V4 = """
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    read_only INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant);
"""

_V5 = """
CREATE TABLE metrics (
    tenant TEXT NOT NULL,
    minute TEXT NOT NULL,
    kind TEXT NOT NULL,
    count BIGINT NOT NULL DEFAULT 0,
    total_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
    tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, minute, kind)
);
"""

# Feedback on memories, with the query it was given for and its embedding, so ranking can apply
# it to similar queries (engramdb.retrieve.feedback). Rows outlive their memory, like history.
_V6 = """
CREATE TABLE feedback (
    id TEXT PRIMARY KEY,
    memory_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    signal TEXT NOT NULL,
    note TEXT,
    query TEXT,
    query_vector BLOB,
    created_at TEXT NOT NULL
);
CREATE INDEX feedback_memory ON feedback (memory_id, created_at);
"""

# History rows carry their memory's scope, so forgetting a user also reaches the history of
# memories deleted earlier; rows from before this migration get the scope of a memory that
# still exists. Episodes get a keyword index. Tombstones record erasures without content.
_V7 = """
ALTER TABLE history ADD COLUMN user_id TEXT;
ALTER TABLE history ADD COLUMN agent_id TEXT;
ALTER TABLE history ADD COLUMN run_id TEXT;
UPDATE history SET
    user_id = (SELECT m.user_id FROM memories m WHERE m.id = history.memory_id),
    agent_id = (SELECT m.agent_id FROM memories m WHERE m.id = history.memory_id),
    run_id = (SELECT m.run_id FROM memories m WHERE m.id = history.memory_id);
CREATE INDEX history_user ON history (tenant, user_id);
CREATE INDEX history_agent ON history (tenant, agent_id);
CREATE INDEX history_run ON history (tenant, run_id);

CREATE VIRTUAL TABLE episodes_fts USING fts5 (
    content, content = 'episodes', content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER episodes_fts_ai AFTER INSERT ON episodes BEGIN
    INSERT INTO episodes_fts (rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER episodes_fts_ad AFTER DELETE ON episodes BEGIN
    INSERT INTO episodes_fts (episodes_fts, rowid, content)
    VALUES ('delete', old.rowid, old.content);
END;
CREATE TRIGGER episodes_fts_au AFTER UPDATE OF content ON episodes BEGIN
    INSERT INTO episodes_fts (episodes_fts, rowid, content)
    VALUES ('delete', old.rowid, old.content);
    INSERT INTO episodes_fts (rowid, content) VALUES (new.rowid, new.content);
END;
INSERT INTO episodes_fts (episodes_fts) VALUES ('rebuild');

CREATE TABLE tombstones (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    run_id TEXT,
    memory_id TEXT,
    counts TEXT NOT NULL,
    reason TEXT,
    erased_at TEXT NOT NULL
);
CREATE INDEX tombstones_tenant ON tombstones (tenant, erased_at);
"""

# The embedded graph (see store/graphsql.py). Links and relation sources name their memory by
# rowid with ON DELETE CASCADE, so deleting a memory can never leave a dangling link.
_V8 = """
CREATE TABLE entities (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    run_id TEXT,
    scope_key TEXT NOT NULL,
    name TEXT NOT NULL,
    norm TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    merged_into TEXT
);
CREATE UNIQUE INDEX entities_key ON entities (tenant, scope_key, norm);
CREATE INDEX entities_norm ON entities (tenant, norm);
CREATE TABLE entity_aliases (
    tenant TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    norm TEXT NOT NULL,
    entity_id TEXT NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant, scope_key, norm)
);
CREATE INDEX entity_aliases_norm ON entity_aliases (tenant, norm);
CREATE TABLE entity_links (
    entity_id TEXT NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    memory_rowid INTEGER NOT NULL REFERENCES memories (rowid) ON DELETE CASCADE,
    memory_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (entity_id, memory_rowid)
);
CREATE INDEX entity_links_memory ON entity_links (memory_rowid);
CREATE TABLE relations (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    run_id TEXT,
    scope_key TEXT NOT NULL,
    subject_id TEXT NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    predicate TEXT NOT NULL,
    object_id TEXT NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    valid_at TEXT,
    invalid_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX relations_subject ON relations (subject_id);
CREATE INDEX relations_object ON relations (object_id);
CREATE INDEX relations_scope ON relations (tenant, scope_key, created_at);
CREATE TABLE relation_sources (
    relation_id TEXT NOT NULL REFERENCES relations (id) ON DELETE CASCADE,
    memory_rowid INTEGER NOT NULL REFERENCES memories (rowid) ON DELETE CASCADE,
    memory_id TEXT NOT NULL,
    episode_ids TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (relation_id, memory_rowid)
);
CREATE INDEX relation_sources_memory ON relation_sources (memory_rowid);
CREATE TABLE entity_merges (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    undo TEXT NOT NULL,
    created_at TEXT NOT NULL,
    undone_at TEXT
);
CREATE INDEX entity_merges_source ON entity_merges (source_id);
CREATE INDEX entity_merges_target ON entity_merges (target_id);
"""

# A user's entity names: the graph lookup of a user-scoped search reads its few rows here
# instead of every user's entity of that name through entities_norm.
_V9 = """
CREATE INDEX entities_user_norm ON entities (tenant, user_id, norm)
"""

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial schema", _V1),
    (2, "episodes: raw messages kept before extraction", _V2),
    (3, "episodes.claimed_by: which worker took a queued batch", _V3),
    (4, "api_keys: hashed API keys, shared by every server on the store", _V4),
    (5, "metrics: requests, latency and LLM use per tenant and minute", _V5),
    (6, "feedback: useful / not_useful / wrong judgements on memories", _V6),
    (7, "history scope columns, episodes keyword index, tombstones of erasures", _V7),
    (8, "graph: entities, aliases, links, relations with provenance, merge log", _V8),
    (9, "entities by user and name, for user-scoped graph lookups", _V9),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn: sqlite3.Connection) -> int:
    """The newest migration recorded in the file (0 for a new file)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Apply pending migrations, each in its own transaction; return the version reached."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        version = current_version(conn)
        if version > LATEST:
            raise SchemaVersionError(
                f"{path} has schema version {version}, newer than this engramdb understands "
                f"({LATEST}); upgrade engramdb to open it"
            )
        for number, name, sql in MIGRATIONS:
            if number <= version:
                continue
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (number, name, iso(utcnow())),
            )
            version = number
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version


def _statements(sql: str) -> list[str]:
    # executescript() would commit our transaction; split on complete statements instead.
    out: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
