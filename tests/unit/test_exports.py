"""The public surface: one sorted ``__all__`` that lists every public name, and nothing else."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import types
from pathlib import Path

import engramdb
import engramdb.errors

#: The documented public API (update together with the docs when it changes).
DOCUMENTED = [
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


def test_all_is_sorted() -> None:
    assert engramdb.__all__ == sorted(engramdb.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(engramdb.__all__) == len(set(engramdb.__all__))


def test_all_matches_the_documented_list() -> None:
    assert set(engramdb.__all__) == set(DOCUMENTED)


def test_every_exported_name_is_importable() -> None:
    for name in engramdb.__all__:
        assert hasattr(engramdb, name), name
        ns: dict[str, object] = {}
        exec(f"from engramdb import {name}", ns)
        assert ns[name] is getattr(engramdb, name)


def test_star_import_gives_exactly_all() -> None:
    ns: dict[str, object] = {}
    exec("from engramdb import *", ns)
    assert set(ns) - {"__builtins__"} == set(engramdb.__all__)


def test_all_is_complete() -> None:
    # Every public, non-module attribute of the package is exported.
    public = {
        name
        for name, value in vars(engramdb).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(engramdb.__all__), sorted(public - set(engramdb.__all__))


def test_every_error_class_is_exported() -> None:
    errors = {
        name
        for name, value in vars(engramdb.errors).items()
        if inspect.isclass(value)
        and issubclass(value, Exception)
        and value.__module__ == "engramdb.errors"
    }
    assert errors <= set(engramdb.__all__), sorted(errors - set(engramdb.__all__))


def test_every_error_derives_from_engram_error() -> None:
    for name in engramdb.__all__:
        value = getattr(engramdb, name)
        if inspect.isclass(value) and issubclass(value, BaseException):
            assert issubclass(value, engramdb.EngramError), name


def test_version_is_a_string() -> None:
    assert isinstance(engramdb.__version__, str)
    assert engramdb.__version__.count(".") >= 1


def test_public_classes_have_docstrings() -> None:
    for name in engramdb.__all__:
        value = getattr(engramdb, name)
        if inspect.isclass(value):
            assert (value.__doc__ or "").strip(), name


def test_import_has_no_side_effects(tmp_path: Path) -> None:
    # Importing every module creates no directory and reads no data dir (house rule 6).
    home = tmp_path / "home"
    code = (
        "import pkgutil, importlib, engramdb\n"
        "for m in pkgutil.walk_packages(engramdb.__path__, 'engramdb.'):\n"
        "    if m.name.endswith('__main__'):\n"
        "        continue  # running it is the point of __main__\n"
        "    try:\n"
        "        importlib.import_module(m.name)\n"
        "    except ImportError:\n"
        "        pass  # optional extras\n"
    )
    env = {**os.environ, "HOME": str(home), "ENGRAMDB_HOME": str(home / ".engramdb")}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    assert not home.exists()
