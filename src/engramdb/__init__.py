"""engramdb: long-term memory for AI agents, embedded and offline by default.

>>> from engramdb import Memory
"""

from engramdb.aio import AsyncMemory
from engramdb.client import AsyncClient, Client
from engramdb.config import MemoryConfig, RetrievalConfig
from engramdb.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    EmbedderError,
    EngramError,
    EntityNotFoundError,
    FilterError,
    MemoryNotFoundError,
    SchemaVersionError,
    ScopeError,
    StoreError,
    ValidationError,
)
from engramdb.llm.errors import ExtractionError, LLMError, LLMTimeout
from engramdb.memory import Memory

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "AsyncMemory",
    "AuthError",
    "Client",
    "ConfigError",
    "ConflictError",
    "EmbedderError",
    "EngramError",
    "EntityNotFoundError",
    "ExtractionError",
    "FilterError",
    "LLMError",
    "LLMTimeout",
    "Memory",
    "MemoryConfig",
    "MemoryNotFoundError",
    "RetrievalConfig",
    "SchemaVersionError",
    "ScopeError",
    "StoreError",
    "ValidationError",
    "__version__",
]
