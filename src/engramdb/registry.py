"""Config names → ready-built providers and stores. The only place that maps names to classes.

``Memory.from_config``, the CLI and the server all build through here; the core never branches
on a provider's name.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from engramdb.config import EmbedderConfig, MemoryConfig
from engramdb.embed.base import Embedder
from engramdb.errors import ConfigError
from engramdb.ingest.extractors import Extractor, LLMExtractor, RuleExtractor
from engramdb.llm.base import LLM
from engramdb.store.base import Store


def _local(cfg: EmbedderConfig) -> Embedder:
    from engramdb.embed.local import LocalEmbedder

    return LocalEmbedder(cfg.model_path, cfg.tokenizer_path)


def _openai(cfg: EmbedderConfig) -> Embedder:
    from engramdb.embed.openai import OpenAIEmbedder

    key = cfg.api_key or (os.environ.get(cfg.api_key_env) if cfg.api_key_env else None)
    return OpenAIEmbedder(
        model=cfg.model or "text-embedding-3-small",
        base_url=cfg.base_url or "https://api.openai.com/v1",
        api_key=key if key is not None else os.environ.get("OPENAI_API_KEY"),
        dims=cfg.dims,
        timeout_s=cfg.timeout_s,
    )


def _sentence_transformers(cfg: EmbedderConfig) -> Embedder:
    from engramdb.embed.st import SentenceTransformersEmbedder

    if not cfg.model:
        raise ConfigError("embedder 'sentence-transformers' needs model (a name or local path)")
    return SentenceTransformersEmbedder(cfg.model)


EMBEDDERS: dict[str, Callable[[EmbedderConfig], Embedder]] = {
    "local": _local,
    "openai": _openai,
    "sentence-transformers": _sentence_transformers,
}


def build_embedder(cfg: EmbedderConfig) -> Embedder:
    """The embedder a config names."""
    try:
        factory = EMBEDDERS[cfg.provider]
    except KeyError:
        raise ConfigError(
            f"unknown embedder provider {cfg.provider!r}; use one of {sorted(EMBEDDERS)}"
        ) from None
    return factory(cfg)


def _sqlite(cfg: MemoryConfig, dims: int) -> Store:
    from engramdb.store.sqlite import SQLiteStore

    return SQLiteStore(cfg.store_path(), dims=dims, synchronous=cfg.store.synchronous)


def _postgres(cfg: MemoryConfig, dims: int) -> Store:
    from engramdb.store.postgres import PostgresStore

    if not cfg.store.dsn:
        raise ConfigError("store provider 'postgres' needs store.dsn (postgresql://...)")
    return PostgresStore(cfg.store.dsn, dims=dims)


STORES: dict[str, Callable[[MemoryConfig, int], Store]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
}


def build_store(cfg: MemoryConfig, dims: int) -> Store:
    """The store a config names, for vectors of ``dims``."""
    try:
        factory = STORES[cfg.store.provider]
    except KeyError:
        raise ConfigError(
            f"unknown store provider {cfg.store.provider!r}; use one of {sorted(STORES)}"
        ) from None
    return factory(cfg, dims)


def build_llm(cfg: MemoryConfig) -> LLM | None:
    """The configured LLM, or None for the offline default."""
    if cfg.llm is None:
        return None
    from engramdb.llm.registry import build_llm as build

    return build(cfg.llm)


def build_extractor(cfg: MemoryConfig, llm: LLM | None) -> Extractor:
    """The LLM extractor when an LLM is given, else the offline rule extractor."""
    if llm is None:
        return RuleExtractor()
    return LLMExtractor(llm, categories=cfg.categories, custom_instructions=cfg.custom_instructions)
