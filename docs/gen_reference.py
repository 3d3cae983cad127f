"""Reference pages generated from the code, so they cannot drift from it.

- :func:`config_reference`: every field of :class:`engramdb.MemoryConfig` (recursively), with
  type, default and description, plus the retrieval presets and the server settings.
- :func:`rest_reference`: every route of the server's OpenAPI document (``create_app``), with
  parameters, request body, answers, and the schemas they use.

Used by ``docs/hooks.py`` at ``mkdocs build`` time; run directly to print one page:
``python docs/gen_reference.py config|rest``.
"""

from __future__ import annotations

import inspect
import json
import sys
import tempfile
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

# -- shared ---------------------------------------------------------------------------------


def _cell(text: Any) -> str:
    """Text safe inside one markdown table cell (no raw HTML, no column breaks)."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat.replace("<", "&lt;").replace(">", "&gt;")


def _code(text: Any) -> str:
    """Text as inline code inside a table cell."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return f"`{flat}`" if flat else ""


# -- configuration --------------------------------------------------------------------------


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " or ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is not None:
        inner = ", ".join(_type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _model_of(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *typing.get_args(annotation)]
    for c in candidates:
        if inspect.isclass(c) and issubclass(c, BaseModel):
            return c
    return None


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "(see below)"
        return _code(json.dumps(value))
    if field.default is PydanticUndefined:
        return "required"
    return _code(json.dumps(field.default, default=str))


def _model_section(model: type[BaseModel], path: str, out: list[str], level: int) -> None:
    doc = inspect.cleandoc(model.__doc__ or "").replace(":class:", "").replace(":data:", "")
    out += [f"{'#' * level} `{path}`" if path else f"{'#' * level} Top level", ""]
    if doc:
        out += [doc.replace("~engramdb.", ""), ""]
    out += ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        key = f"{path}.{name}" if path else name
        sub = _model_of(field.annotation)
        description = field.description or ""
        if sub is not None:
            nested.append((key, sub))
            description = (description + "; " if description else "") + f"see `{key}` below"
        out.append(
            f"| `{key}` | {_code(_type_name(field.annotation))} | {_default(field)} | "
            f"{_cell(description)} |"
        )
    out.append("")
    for key, sub in nested:
        _model_section(sub, key, out, level + 1 if level < 4 else level)


def config_reference() -> str:
    """The configuration reference page, from the pydantic models."""
    from engramdb.config import RETRIEVAL_PRESETS, MemoryConfig
    from engramdb.server.settings import ENV_VARS, ServerSettings

    out = [
        "# Configuration reference",
        "",
        "<!-- Generated from engramdb.MemoryConfig by docs/gen_reference.py: do not edit. -->",
        "",
        "One pydantic model, `engramdb.MemoryConfig`, configures a `Memory`. Give it as a dict,",
        "a `.json`/`.toml` file path, or a model: `Memory.from_config({...})`,",
        '`Memory(config="engramdb.toml")`. Unknown keys are an error (`ConfigError`), so a typo',
        "never goes unnoticed. Keys below are dotted paths into that dict.",
        "",
        "```toml",
        "# engramdb.toml",
        'home = "./data"',
        "[retrieval]",
        'preset = "hybrid"',
        "[llm]",
        'provider = "openai"',
        'model = "gpt-4o-mini"',
        "```",
        "",
    ]
    _model_section(MemoryConfig, "", out, 2)
    out += [
        "## Retrieval presets",
        "",
        "`retrieval.preset` fills in these fields; fields given beside it win.",
        "",
        "| preset | sets |",
        "| --- | --- |",
    ]
    for name, values in RETRIEVAL_PRESETS.items():
        sets = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in values.items()) or "the defaults"
        out.append(f"| `{name}` | {sets} |")
    out += [
        "",
        "## Server settings",
        "",
        "`engramdb serve` reads these from the environment (`ServerSettings.from_env`); in",
        "Python pass `ServerSettings(...)` to `create_app`.",
        "",
        "| variable | field | type | default | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    env_of = {field: var for var, field in ENV_VARS.items()}
    for name, field in ServerSettings.model_fields.items():
        var = env_of.get(name, "")
        out.append(
            f"| {_code(var)} | `{name}` | {_code(_type_name(field.annotation))} | "
            f"{_default(field)} | {_cell(field.description or '')} |"
        )
    out.append("")
    return "\n".join(out)


# -- REST -----------------------------------------------------------------------------------


def _schema_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_schema_type(s) for s in schema[key])
    kind = schema.get("type")
    if kind == "array":
        inner = _schema_type(schema.get("items", {}))
        return f"array of ({inner})" if " or " in inner else f"array of {inner}"
    if "enum" in schema:
        return " or ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        inner = _schema_type(extra) if isinstance(extra, dict) and extra else "any"
        return f"object of {inner}"
    return str(kind) if kind else "any"


def _operation(path: str, method: str, op: dict[str, Any], out: list[str]) -> None:
    out += [f"### `{method.upper()} {path}`", ""]
    if op.get("summary"):
        out += [f"**{op['summary']}.**", ""]
    if op.get("description"):
        out += [inspect.cleandoc(op["description"]), ""]
    params = op.get("parameters", [])
    if params:
        out += ["| parameter | in | type | required | description |"]
        out += ["| --- | --- | --- | --- | --- |"]
        for p in params:
            out.append(
                f"| `{p['name']}` | {p['in']} | {_schema_type(p.get('schema', {}))} | "
                f"{'yes' if p.get('required') else 'no'} | {_cell(p.get('description', ''))} |"
            )
        out.append("")
    body = op.get("requestBody", {}).get("content", {})
    for media, content in body.items():
        out += [f"Body ({media}): {_schema_type(content.get('schema', {}))}", ""]
    by_schema: dict[str, list[str]] = {}
    for code, resp in op.get("responses", {}).items():
        schema = resp.get("content", {}).get("application/json", {}).get("schema", {})
        by_schema.setdefault(_schema_type(schema) if schema else "", []).append(f"`{code}`")
    if by_schema:
        answers = [
            " ".join(codes) + (f" {shown}" if shown else "") for shown, codes in by_schema.items()
        ]
        out += ["Answers: " + "; ".join(answers), ""]


def _schema_section(name: str, schema: dict[str, Any], out: list[str]) -> None:
    out += [f"### {name}", ""]
    if schema.get("description"):
        out += [_cell(schema["description"]), ""]
    props = schema.get("properties", {})
    if not props:
        out += [f"Type: {_schema_type(schema)}", ""]
        return
    required = set(schema.get("required", []))
    out += ["| field | type | required | default | description |"]
    out += ["| --- | --- | --- | --- | --- |"]
    for field, sub in props.items():
        default = _code(json.dumps(sub["default"])) if "default" in sub else ""
        out.append(
            f"| `{field}` | {_schema_type(sub)} | {'yes' if field in required else 'no'} | "
            f"{default} | {_cell(sub.get('description', ''))} |"
        )
    out.append("")


def openapi_spec() -> dict[str, Any]:
    """The server's OpenAPI document, from ``create_app`` on a throwaway store."""
    from engramdb import Memory
    from engramdb.server import ServerSettings, create_app

    with tempfile.TemporaryDirectory(prefix="engramdb-docs-") as home:
        memory = Memory(path=home)
        try:
            spec: dict[str, Any] = create_app(memory, ServerSettings(admin_key="docs")).openapi()
        finally:
            memory.close()
    return spec


def rest_reference(spec: dict[str, Any] | None = None) -> str:
    """The REST reference page, from the OpenAPI document."""
    spec = spec if spec is not None else openapi_spec()
    info = spec.get("info", {})
    out = [
        "# REST reference",
        "",
        "<!-- Generated from the server's /openapi.json by docs/gen_reference.py: do not edit. -->",
        "",
        f"engramdb server {info.get('version', '')}. A running server serves this document at",
        "`/openapi.json` and interactive docs at `/docs`.",
        "",
        inspect.cleandoc(info.get("description", "")),
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            tag = (op.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((path, method, op))
    for tag, ops in by_tag.items():
        out += [f"## {tag}", ""]
        for path, method, op in ops:
            _operation(path, method, op, out)
    out += ["## Schemas", ""]
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        _schema_section(name, schema, out)
    return "\n".join(out)


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "config"
    print(config_reference() if which == "config" else rest_reference())
