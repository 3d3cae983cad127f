"""The server store: PostgreSQL with pgvector (HNSW, cosine) and tsvector full-text search."""

from engramdb.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
