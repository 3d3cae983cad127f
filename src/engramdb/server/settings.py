"""``ServerSettings``: limits and key storage of ``engramdb serve``, from kwargs or the environment.

>>> ServerSettings(rate_limit=0).max_messages
100
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from engramdb.errors import ConfigError

#: Environment variable → settings field. Read by :meth:`ServerSettings.from_env` only.
ENV_VARS: dict[str, str] = {
    "ENGRAMDB_ADMIN_KEY": "admin_key",
    "ENGRAMDB_MAX_BODY_BYTES": "max_body_bytes",
    "ENGRAMDB_MAX_IMPORT_BYTES": "max_import_bytes",
    "ENGRAMDB_MAX_MESSAGES": "max_messages",
    "ENGRAMDB_MAX_QUERY_CHARS": "max_query_chars",
    "ENGRAMDB_RATE_LIMIT": "rate_limit",
    "ENGRAMDB_RATE_BURST": "rate_burst",
    "ENGRAMDB_WORKER_THREADS": "worker_threads",
}


class ServerSettings(BaseModel):
    """What the server enforces. Every field can also come from an ``ENGRAMDB_*`` variable."""

    model_config = ConfigDict(extra="forbid")

    admin_key: str | None = Field(
        None,
        description="the admin key; when unset, ENGRAMDB_ADMIN_KEY is read as the app is created",
    )
    max_body_bytes: int = Field(1_048_576, ge=1, description="largest request body (413)")
    max_import_bytes: int = Field(
        64 * 1_048_576, ge=1, description="largest body of POST /v1/import (413)"
    )
    max_messages: int = Field(100, ge=1, description="most messages in one add (422)")
    max_query_chars: int = Field(2_000, ge=1, description="longest search query (422)")
    rate_limit: float = Field(
        50.0, ge=0, description="sustained requests per second per key; 0 turns limiting off"
    )
    rate_burst: int = Field(100, ge=1, description="requests a key may make at once (429)")
    worker_threads: int | None = Field(
        None,
        ge=1,
        description="requests served at once (the thread pool running embedding and store "
        "work); default: anyio's 40",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ServerSettings:
        """Settings from ``ENGRAMDB_*`` variables (see :data:`ENV_VARS`); kwargs win."""
        env = os.environ if environ is None else environ
        data: dict[str, Any] = {
            name: env[var] for var, name in ENV_VARS.items() if env.get(var, "") != ""
        }
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(data)
        except PydanticValidationError as exc:
            raise ConfigError(f"invalid server settings: {exc}") from exc
