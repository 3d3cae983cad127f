"""mkdocs hooks: add the generated reference pages and pull the benchmark tables from README.

Registered in ``mkdocs.yml`` (``hooks: [docs/hooks.py]``); the generators live in
``docs/gen_reference.py`` so tests can run them without mkdocs.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
README_MARKER = "<!-- README:"


def _generators() -> ModuleType:
    spec = importlib.util.spec_from_file_location("engramdb_docs_gen", DOCS / "gen_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def readme_section(title: str, readme: Path = ROOT / "README.md") -> str:
    """The body of README's ``## title`` section (up to the next ``## `` heading)."""
    text = readme.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if match is None:
        raise ValueError(f"README.md has no '## {title}' section")
    # Its subsections sit one level below the page title here.
    return match.group(1).strip() + "\n"


def on_files(files: Files, config: MkDocsConfig, **_: Any) -> Files:
    gen = _generators()
    for uri, content in (
        ("reference/configuration.md", gen.config_reference()),
        ("reference/rest.md", gen.rest_reference()),
    ):
        files.append(File.generated(config, uri, content=content))
    return files


def on_page_markdown(markdown: str, page: Page, **_: Any) -> str:
    """Replace ``<!-- README:Title -->`` with that README section."""

    def include(match: re.Match[str]) -> str:
        return readme_section(match.group(1))

    return re.sub(r"<!-- README:(.+?) -->", include, markdown)
