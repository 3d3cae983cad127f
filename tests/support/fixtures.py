"""Pytest fixtures for the support helpers; ``tests/conftest.py`` imports them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.scripted_llm import ScriptedLLM


@pytest.fixture
def scripted_llm() -> Iterator[ScriptedLLM]:
    """A started :class:`ScriptedLLM` on a free port, stopped after the test."""
    with ScriptedLLM() as server:
        yield server
