"""engramdb: long-term memory for AI agents, embedded and offline by default.

>>> from engramdb import Memory
"""

from engramdb.aio import AsyncMemory
from engramdb.config import MemoryConfig, RetrievalConfig
from engramdb.errors import (
    ConfigError,
    EmbedderError,
    EngramError,
    FilterError,
    MemoryNotFoundError,
    SchemaVersionError,
    ScopeError,
    StoreError,
    ValidationError,
)
from engramdb.memory import Memory

__version__ = "0.1.0"

__all__ = [
    "AsyncMemory",
    "ConfigError",
    "EmbedderError",
    "EngramError",
    "FilterError",
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
