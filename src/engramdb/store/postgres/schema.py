"""Numbered schema migrations, recorded in ``schema_migrations`` (same numbering idea as SQLite).

Tables are created unqualified, so they land in the first schema of the connection's
``search_path``. Migrations run under a transaction-scoped advisory lock, so processes that
open one database at the same moment apply each migration once. A database whose newest
recorded version is above :data:`LATEST` raises :class:`SchemaVersionError`.
"""

from __future__ import annotations

from typing import Any

import psycopg

from engramdb.errors import SchemaVersionError, StoreError
from engramdb.timeutil import iso, utcnow

# Times are stored as UTC ISO-8601 text, as in SQLite, so filters compare them the same way.
_V1 = """
CREATE TABLE memories (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    run_id TEXT,
    memory TEXT NOT NULL,
    hash TEXT NOT NULL,
    metadata JSONB NOT NULL DEFAULT '{{}}',
    memory_type TEXT NOT NULL DEFAULT 'fact',
    role TEXT,
    categories JSONB NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    valid_at TEXT,
    invalid_at TEXT,
    expires_at TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    importance REAL NOT NULL DEFAULT 0.5,
    access_count INTEGER NOT NULL DEFAULT 0,
    last_accessed_at TEXT,
    embedding vector({dims}) NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, memory)) STORED
);
CREATE INDEX memories_user ON memories (tenant, user_id, created_at);
CREATE INDEX memories_agent ON memories (tenant, agent_id, created_at);
CREATE INDEX memories_run ON memories (tenant, run_id, created_at);
CREATE INDEX memories_hash ON memories (tenant, hash);
CREATE INDEX memories_embedding ON memories USING hnsw (embedding vector_cosine_ops);
CREATE INDEX memories_tsv ON memories USING gin (tsv);

CREATE TABLE history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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

CREATE TABLE episodes (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    run_id TEXT,
    batch_id TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT,
    content TEXT NOT NULL,
    images JSONB NOT NULL DEFAULT '[]',
    metadata JSONB NOT NULL DEFAULT '{{}}',
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    error TEXT,
    facts INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT
);
CREATE INDEX episodes_user ON episodes (tenant, user_id, created_at);
CREATE INDEX episodes_agent ON episodes (tenant, agent_id, created_at);
CREATE INDEX episodes_run ON episodes (tenant, run_id, created_at);
CREATE INDEX episodes_batch ON episodes (tenant, batch_id);
CREATE INDEX episodes_open ON episodes (status) WHERE status <> 'done'
"""

_V2 = """
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    read_only BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant)
"""

_V3 = """
CREATE TABLE metrics (
    tenant TEXT NOT NULL,
    minute TEXT NOT NULL,
    kind TEXT NOT NULL,
    count BIGINT NOT NULL DEFAULT 0,
    total_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
    tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, minute, kind)
)
"""

# Feedback on memories with the query it was given for (see engramdb.retrieve.feedback).
_V4 = """
CREATE TABLE feedback (
    id TEXT PRIMARY KEY,
    memory_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    signal TEXT NOT NULL,
    note TEXT,
    query TEXT,
    query_vector vector({dims}),
    created_at TEXT NOT NULL
);
CREATE INDEX feedback_memory ON feedback (memory_id, created_at)
"""

# As in SQLite: history rows carry their memory's scope (so forgetting a user reaches the
# history of memories deleted earlier), episodes get a keyword index, tombstones record
# erasures without content.
_V5 = """
ALTER TABLE history ADD COLUMN user_id TEXT, ADD COLUMN agent_id TEXT, ADD COLUMN run_id TEXT;
UPDATE history h SET user_id = m.user_id, agent_id = m.agent_id, run_id = m.run_id
    FROM memories m WHERE m.id = h.memory_id;
CREATE INDEX history_user ON history (tenant, user_id);
CREATE INDEX history_agent ON history (tenant, agent_id);
CREATE INDEX history_run ON history (tenant, run_id);
ALTER TABLE episodes ADD COLUMN tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED;
CREATE INDEX episodes_tsv ON episodes USING gin (tsv);
CREATE TABLE tombstones (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    run_id TEXT,
    memory_id TEXT,
    counts JSONB NOT NULL,
    reason TEXT,
    erased_at TEXT NOT NULL
);
CREATE INDEX tombstones_tenant ON tombstones (tenant, erased_at)
"""

# The embedded graph (see store/graphsql.py), as in the SQLite store's migration 4.
_V6 = """
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
    memory_rowid BIGINT NOT NULL REFERENCES memories (rowid) ON DELETE CASCADE,
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
    memory_rowid BIGINT NOT NULL REFERENCES memories (rowid) ON DELETE CASCADE,
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
CREATE INDEX entity_merges_target ON entity_merges (target_id)
"""

# A user's entity names: the graph lookup of a user-scoped search reads its few rows here
# instead of every user's entity of that name through entities_norm.
_V7 = """
CREATE INDEX entities_user_norm ON entities (tenant, user_id, norm)
"""

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial schema: memories (pgvector + tsvector), history, episodes", _V1),
    (2, "api_keys: hashed API keys, shared by every server on the store", _V2),
    (3, "metrics: requests, latency and LLM use per tenant and minute", _V3),
    (4, "feedback: useful / not_useful / wrong judgements on memories", _V4),
    (5, "history scope columns, episodes keyword index, tombstones of erasures", _V5),
    (6, "graph: entities, aliases, links, relations with provenance, merge log", _V6),
    (7, "entities by user and name, for user-scoped graph lookups", _V7),
]
LATEST = MIGRATIONS[-1][0]
#: The approximate-nearest-neighbour index (also rebuilt after a bulk load).
ANN_INDEX = (
    "CREATE INDEX {concurrently} IF NOT EXISTS memories_embedding "
    "ON memories USING hnsw (embedding vector_cosine_ops)"
)
_LOCK_KEY = 0x656E6772616D  # "engram": serialises migrations across processes


def current_version(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """The newest migration recorded (0 for an empty database)."""
    row = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    got = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(got[0] or 0) if got else 0


def migrate(conn: psycopg.Connection[tuple[Any, ...]], where: str, dims: int) -> int:
    """Apply pending migrations in one transaction; return the version reached."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        has_vector = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
        if not has_vector:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        version = current_version(conn)
        if version > LATEST:
            raise SchemaVersionError(
                f"{where} has schema version {version}, newer than this engramdb understands "
                f"({LATEST}); upgrade engramdb to open it"
            )
        for number, name, sql in MIGRATIONS:
            if number <= version:
                continue
            for statement in sql.format(dims=int(dims)).split(";\n"):
                if statement.strip():
                    conn.execute(statement.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                (number, name, iso(utcnow())),
            )
            version = number
        if version >= 1:
            # A bulk load killed before it rebuilt the index leaves none: searches would still
            # be right, but exact and slow over large scopes. Rebuilding here heals that.
            conn.execute(ANN_INDEX.format(concurrently="").encode())
    got = conn.execute(
        "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'memories'::regclass "
        "AND attname = 'embedding'"
    ).fetchone()
    if got and int(got[0]) != dims:
        raise StoreError(f"{where} holds {got[0]}-dimensional vectors; this embedder makes {dims}")
    conn.commit()
    return version
