"""The docs site builds with ``mkdocs build --strict`` and its generated pages cover the code.

The reference pages are generated from ``MemoryConfig`` and the server's OpenAPI document at
build time (``docs/gen_reference.py``, wired in by ``docs/hooks.py``); these tests fail when a
new config field or route would be missing from them, or when a page would warn.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

from engramdb.config import MemoryConfig
from engramdb.server.settings import ServerSettings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return load("gen_reference")


def dotted_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        out.append(key)
        for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out += dotted_fields(arg, f"{key}.")
    return out


def test_config_reference_lists_every_field(gen: ModuleType) -> None:
    page = gen.config_reference()
    keys = dotted_fields(MemoryConfig)
    assert {"retrieval.fusion", "llm.model", "store.synchronous"} <= set(keys)
    for key in keys:
        assert f"| `{key}` |" in page, key
    for name in ServerSettings.model_fields:
        assert f"| `{name}` |" in page, name
    assert "| `ENGRAMDB_RATE_LIMIT` | `rate_limit` |" in page
    assert "| `deep` | `candidates=200` |" in page


def test_rest_reference_lists_every_route(gen: ModuleType) -> None:
    spec: dict[str, Any] = gen.openapi_spec()
    page = gen.rest_reference(spec)
    for path, ops in spec["paths"].items():
        for method in ops:
            assert f"### `{method.upper()} {path}`" in page
    for name in spec["components"]["schemas"]:
        assert f"### {name}\n" in page
    assert "/v3/memories/add/" in page  # the Mem0 MemoryClient routes are documented too


def test_benchmarks_come_from_the_readme() -> None:
    pytest.importorskip("mkdocs")
    hooks = load("hooks")
    section = hooks.readme_section("Benchmarks")
    assert "recall@10" in section and "## " not in section.replace("### ", "")
    assert "<!-- README:Benchmarks -->" in (DOCS / "benchmarks.md").read_text()


def test_python_snippets_in_docs_are_valid_python() -> None:
    for page in DOCS.glob("*.md"):
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S)):
            compile(block, f"{page.name}[{i}]", "exec")


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr
    config = (tmp_path / "reference" / "configuration" / "index.html").read_text()
    assert "retrieval.fusion" in config
    rest = (tmp_path / "reference" / "rest" / "index.html").read_text()
    assert "/v1/search" in rest
    bench = (tmp_path / "benchmarks" / "index.html").read_text()
    assert "recall@10" in bench
