"""LLM providers behind one Protocol, and structured-output parsing.

Build a provider from settings with :func:`build_llm`; ask it for a pydantic model with
:func:`complete_structured`; call either from sync code with :func:`run_sync`.
"""

from engramdb.llm.base import LLM, ChatMessage, Completion, LLMSettings, Usage
from engramdb.llm.errors import ExtractionError, LLMError, LLMTimeout, MalformedReply
from engramdb.llm.registry import build_llm
from engramdb.llm.structured import complete_structured, parse_structured
from engramdb.llm.sync import run_sync

__all__ = [
    "LLM",
    "ChatMessage",
    "Completion",
    "ExtractionError",
    "LLMError",
    "LLMSettings",
    "LLMTimeout",
    "MalformedReply",
    "Usage",
    "build_llm",
    "complete_structured",
    "parse_structured",
    "run_sync",
]
