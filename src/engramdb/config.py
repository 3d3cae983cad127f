"""The one configuration model: from kwargs, a dict, a JSON/TOML file or the environment.

>>> cfg = MemoryConfig.model_validate({"embedder": {"provider": "local"}})
>>> cfg.store.provider
'sqlite'
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engramdb.errors import ConfigError
from engramdb.models import DEFAULT_CATEGORIES, DEFAULT_TENANT

StructuredMode = Literal["json_schema", "json_object", "json_object_schema", "prompt"]


class LLMSettings(BaseModel):
    """How to reach one LLM. ``provider`` is a registry name ("openai", "anthropic",
    "ollama", "groq", ...); presets fill ``base_url`` and ``api_key_env`` when not given.

    The API key is read from ``api_key``, else from the ``api_key_env`` variable (only when
    a provider is built, never at import).
    """

    model_config = ConfigDict(extra="forbid")

    provider: str = "openai"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = Field(None, repr=False)
    api_key_env: str | None = None
    api_version: str | None = Field(
        None, description="Azure 'api-version' query value; Anthropic 'anthropic-version'"
    )
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0, description="retries after the first attempt")
    backoff_s: float = Field(0.5, ge=0, description="first retry delay; doubles each retry")
    max_backoff_s: float = Field(30.0, ge=0, description="cap on one delay, Retry-After too")
    temperature: float = 0.0
    max_tokens: int | None = Field(None, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)
    structured_output: StructuredMode | None = Field(
        None, description="override the preset's structured-output mechanism"
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "provider-specific extras: merged into the request body for HTTP providers "
            "(a None value removes a key, e.g. {'temperature': None, "
            "'max_completion_tokens': 2000} for reasoning models), passed to "
            "llama_cpp.Llama for 'local' and to litellm.acompletion for 'litellm'"
        ),
    )

    def resolve_api_key(self, default_env: str | None = None) -> str | None:
        """``api_key``, else the value of ``api_key_env`` (or ``default_env``), else None."""
        if self.api_key:
            return self.api_key
        env = self.api_key_env or default_env
        return os.environ.get(env) if env else None


_STRICT = ConfigDict(extra="forbid")


class StoreConfig(BaseModel):
    """Where memories live. ``sqlite`` (default) keeps one file under the home directory."""

    model_config = _STRICT
    provider: str = "sqlite"
    path: str | None = Field(None, description="SQLite file; default <home>/memories.db")
    dsn: str | None = Field(None, description="Postgres DSN (provider 'postgres')")
    synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL",
        description="NORMAL survives a crash of the process; FULL also survives power loss",
    )


class EmbedderConfig(BaseModel):
    """Which embedder turns text into vectors."""

    model_config = _STRICT
    provider: str = "local"
    model: str | None = Field(
        None, description="model name (openai) or path (sentence-transformers)"
    )
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. Ollama's")
    api_key: str | None = None
    api_key_env: str | None = Field(None, description="environment variable holding the key")
    dims: int | None = Field(None, description="vector size, when the provider cannot tell")
    model_path: str | None = Field(None, description="local ONNX model file (provider 'local')")
    tokenizer_path: str | None = None
    timeout_s: float = 30.0


class DecayConfig(BaseModel):
    """Recency and importance weighting of search results (see :mod:`engramdb.retrieve.decay`).

    Off by default: on LoCoMo (bench/locomo.py --convs 0-4, categories 1-4) these defaults
    lowered recall@5 from 0.578 to 0.558 and MRR from 0.483 to 0.467: exact-recall questions
    want the most relevant memory whatever its age, and memories returned by earlier searches
    get fresher, so they crowd out others. Turn it on for assistants where recent and
    important memories should win ties.
    """

    model_config = _STRICT
    enabled: bool = False
    recency_weight: float = Field(0.3, ge=0, le=1, description="share of the score that decays")
    importance_weight: float = Field(
        0.2, ge=0, le=1, description="how far importance 0..1 moves the score (x 1-w .. 1+w)"
    )
    half_life_days: dict[str, float] = Field(
        default_factory=lambda: {
            "fact": 365.0,
            "preference": 365.0,
            "procedural": 180.0,
            "experience": 90.0,
            "episode": 30.0,
        },
        description="per memory_type: days after which the recency factor halves",
    )
    default_half_life_days: float = Field(180.0, gt=0)
    # Each reweighted candidate is read from the store (~30 us a row measured on SQLite), so
    # the pool is kept small: 30 candidates cost about 1 ms a search.
    pool: int = Field(30, ge=1, le=1000, description="fused candidates reweighted per search")

    @model_validator(mode="after")
    def _positive_half_lives(self) -> DecayConfig:
        bad = {k: v for k, v in self.half_life_days.items() if not v > 0}
        if bad:
            raise ValueError(f"half_life_days must be positive: {bad}")
        return self


class RetrievalConfig(BaseModel):
    """How search finds and ranks memories. Presets: see :data:`RETRIEVAL_PRESETS`.

    ``topic_query``: with the graph on, a search embeds the query without the names of
    entities linked to more memories than ``candidates`` (the user, a chat partner; see
    :func:`engramdb.retrieve.search.search_text`) and uses that one vector throughout: vector
    search, reported similarities, ``threshold`` and the feedback re-rank (``feedback``
    embeds its query the same way). Keyword and graph search still read the names.
    """

    model_config = _STRICT
    preset: str | None = None
    use_vector: bool = True
    use_keyword: bool = True
    candidates: int = Field(50, ge=1, le=1000, description="candidates per retriever")
    # Measured on LoCoMo (bench/locomo.py): min-max normalised score fusion beat RRF by ~0.07
    # recall@10 and was flat for vector weights 0.4-0.8, so the default is not a knife edge.
    fusion: Literal["rrf", "normalized"] = "normalized"
    rrf_k: int = Field(60, ge=1)
    vector_weight: float = Field(0.6, ge=0)
    keyword_weight: float = Field(1.0, ge=0)
    # Feedback re-rank (engramdb.retrieve.feedback documents the formula).
    use_feedback: bool = Field(True, description="re-rank by useful / not_useful feedback")
    feedback_weight: float = Field(
        1.0, ge=0, le=5, description="strength: one same-query judgement scales a score by e^±w"
    )
    # bench/learning.py on LoCoMo: at 0.75 a not_useful still sinks its hit for the same
    # question and for paraphrases (97% of trials), and touches 30 other questions of the
    # conversation instead of 75 at 0.6 (same-template questions about other things).
    feedback_similarity: float = Field(
        0.75, ge=0, lt=1, description="cosine between queries below which feedback does not apply"
    )
    decay: DecayConfig = Field(default_factory=DecayConfig)
    use_graph: bool = Field(True, description="fuse memories linked to the query's entities")
    graph_weight: float = Field(0.5, ge=0)
    graph_hops: int = Field(2, ge=0, le=3, description="relation hops from query entities")
    graph_mention_factor: float = Field(
        0.5,
        ge=0,
        le=1,
        description="graph score of a memory that only names an entity, relative to one "
        "about it (its speaker or a relation's subject)",
    )
    # bench/locomo.py: multi-hop recall@10 0.440 -> 0.481, overall 0.706 -> 0.737, every other
    # category up too.
    topic_query: bool = Field(
        True,
        description="search embeds the query without names linked to more memories than "
        "`candidates` (the user, a chat partner), which say little about the topic; "
        "similarities are to that text",
    )
    # Time-aware retrieval (retrieve/temporal.py): only queries about time are affected.
    temporal: bool = Field(True, description="extra candidate lists for queries about time")
    time_cue_weight: float = Field(
        0.3, ge=0, description="lift of candidates that mention a time, for 'when' queries"
    )
    time_window_weight: float = Field(
        0.6, ge=0, description="weight of memories inside a period the query names"
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset"):
            name = data["preset"]
            if name not in RETRIEVAL_PRESETS:
                raise ValueError(
                    f"unknown retrieval preset {name!r}; use one of {sorted(RETRIEVAL_PRESETS)}"
                )
            return {**RETRIEVAL_PRESETS[name], **data}
        return data


#: Named retrieval settings; explicit fields given beside a preset override it.
RETRIEVAL_PRESETS: dict[str, dict[str, Any]] = {
    "hybrid": {},
    "rrf": {"fusion": "rrf", "vector_weight": 1.0},
    "vector": {"use_keyword": False, "use_graph": False},
    "keyword": {"use_vector": False, "use_graph": False},
    "no_graph": {"use_graph": False},
    "deep": {"candidates": 200},
    "no-temporal": {"temporal": False},
}


class LifecycleConfig(BaseModel):
    """What :meth:`Memory.consolidate` treats as a duplicate or as stale."""

    model_config = _STRICT
    duplicate_similarity: float = Field(
        0.95, ge=0.9, le=1.0, description="cosine at or above which two memories may merge"
    )
    stale_importance: float = Field(
        0.3, ge=0, le=1, description="memories below this importance may be archived as stale"
    )
    stale_unused_days: float = Field(90, gt=0, description="... when not accessed for this long")
    stale_min_age_days: float = Field(180, gt=0, description="... and older than this")


class MemoryConfig(BaseModel):
    """Everything a :class:`~engramdb.Memory` can be configured with."""

    model_config = _STRICT
    home: str | None = Field(
        None, description="data directory; default $ENGRAMDB_HOME or ~/.engramdb"
    )
    tenant: str = DEFAULT_TENANT
    store: StoreConfig = Field(default_factory=StoreConfig)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    llm: LLMSettings | None = Field(
        None, description="LLM for extraction; none = the offline rule extractor"
    )
    vision: bool = Field(False, description="the LLM can describe images in messages")
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    custom_instructions: str | None = Field(
        None, description="extra guidance for the LLM extractor (what to remember or skip)"
    )
    categories: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CATEGORIES),
        description="categories the LLM extractor may assign",
    )

    def home_dir(self) -> Path:
        """The data directory (read from the environment only now, never at import)."""
        if self.home:
            return Path(self.home).expanduser()
        env = os.environ.get("ENGRAMDB_HOME")
        return Path(env).expanduser() if env else Path.home() / ".engramdb"

    def store_path(self) -> Path:
        """The SQLite file this config points at."""
        if self.store.path:
            return Path(self.store.path).expanduser()
        return self.home_dir() / "memories.db"

    @classmethod
    def load(cls, source: MemoryConfig | dict[str, Any] | str | Path | None) -> MemoryConfig:
        """Build from a config, a dict, or a ``.json``/``.toml`` file path."""
        if isinstance(source, MemoryConfig):
            return source
        if source is None:
            data: Any = {}
        elif isinstance(source, dict):
            data = source
        else:
            path = Path(source)
            try:
                text = path.read_text()
            except OSError as exc:
                raise ConfigError(f"cannot read config file {path}: {exc}") from exc
            try:
                data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
            except (ValueError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"config file {path} is not valid: {exc}") from exc
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"invalid engramdb config: {exc}") from exc
