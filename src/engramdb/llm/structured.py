"""Turning an LLM's reply into a validated pydantic model, and the JSON-schema helpers the
providers share.

:func:`parse_structured` is pure and total: for any string it returns a valid model or
raises :class:`MalformedReply`, never another exception. It forgives what models really
send: ``<think>`` blocks (closed or cut off), code fences, prose around the JSON, trailing
commas, single-quoted strings, Python literals, a bare array where the model has one list
field, and a reply wrapped in one extra key. It does not guess the end of truncated JSON:
a cut-off fact would be stored wrong, so that is a malformed reply (and gets a repair try).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any, TypeVar, get_origin

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from engramdb.llm.base import LLM, ChatMessage, Usage
from engramdb.llm.errors import ExtractionError, MalformedReply

T = TypeVar("T", bound=BaseModel)

__all__ = [
    "ExtractionError",
    "MalformedReply",
    "complete_structured",
    "inline_refs",
    "parse_structured",
    "schema_instructions",
    "schema_name_for",
    "strict_schema",
]

_TAGS = "think|thinking|reasoning|thought"
_CLOSED_THINK = re.compile(rf"<({_TAGS})\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_OPEN_THINK = re.compile(rf"<({_TAGS})\b[^>]*>", re.IGNORECASE)
_CLOSE_THINK = re.compile(rf"</({_TAGS})\s*>", re.IGNORECASE)
# An unterminated fence (reply cut off) runs to the end of the text.
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_DECODER = json.JSONDecoder(strict=False)  # strict=False: raw newlines inside strings
# Bounds that keep hostile replies cheap: decode attempts per text, repair passes, and the
# length the pure-Python repair pass will look at.
_MAX_STARTS = 48
_MAX_REPAIR_STARTS = 4
_MAX_REPAIR_CHARS = 200_000
_REPAIR_SHOWN = 8_000


def _thinking_variants(text: str) -> list[str]:
    """The reply with reasoning removed; two readings when a think block never closed."""
    text = _CLOSED_THINK.sub(" ", text)
    closes = list(_CLOSE_THINK.finditer(text))
    if closes:
        # A close tag with no opener: the chat template put the opener in the prompt.
        text = text[closes[-1].end() :]
    opener = _OPEN_THINK.search(text)
    if opener is None:
        return [text]
    # Cut off mid-thought: prefer what came before; else the JSON may sit inside it.
    return [text[: opener.start()], text[: opener.start()] + text[opener.end() :]]


def _texts_to_search(text: str) -> Iterator[str]:
    for variant in _thinking_variants(text):
        fences = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(variant)]
        fences.sort(key=lambda f: f[0] not in ("json", "json5", "jsonc"))
        for _, body in fences:
            yield body
        yield variant


def _scan_repair(text: str) -> str:
    """Fix what breaks ``json.loads`` in LLM output, outside double-quoted strings only:
    trailing commas, single-quoted keys/values, and Python's True/False/None.

    A ``'`` opens a string only where JSON expects a value or key (after ``{[,:``) and
    closes only before ``:,}]`` — so apostrophes in prose or in words stay untouched."""
    out: list[str] = []
    i, n = 0, len(text)
    last = ""  # last significant character emitted outside strings
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i, last = j + 1, '"'
            continue
        if c == "'" and last in "{[,:":
            j = i + 1
            chunk: list[str] = []
            while j < n:
                if text[j] == "\\" and j + 1 < n:
                    chunk.append(text[j : j + 2] if text[j + 1] != "'" else "'")
                    j += 2
                    continue
                if text[j] == "'":
                    k = j + 1
                    while k < n and text[k] in " \t\r\n":
                        k += 1
                    if k >= n or text[k] in ":,}]":
                        break
                chunk.append('\\"' if text[j] == '"' else text[j])
                j += 1
            out.append('"' + "".join(chunk) + '"')
            i, last = j + 1, '"'
            continue
        if c == ",":
            k = i + 1
            while k < n and text[k] in " \t\r\n":
                k += 1
            if k < n and text[k] in "}]":
                i += 1
                continue
        if c in "TFN" and last in "[,:":
            for word, lit in (("True", "true"), ("False", "false"), ("None", "null")):
                end = i + len(word)
                if text.startswith(word, i) and (end >= n or not text[end].isalnum()):
                    out.append(lit)
                    i, last = end, "e"
                    break
            else:
                out.append(c)
                i, last = i + 1, c
            continue
        out.append(c)
        if not c.isspace():
            last = c
        i += 1
    return "".join(out)


def _decode_at(text: str, start: int) -> Any:
    try:
        return _DECODER.raw_decode(text, start)[0]
    except (ValueError, RecursionError):
        return _NOTHING


_NOTHING = object()


def _json_values(text: str) -> Iterator[Any]:
    """Every JSON object or array found in ``text``: decoded as is, then repaired."""
    starts = [m.start() for m in re.finditer(r"[{\[]", text)][:_MAX_STARTS]
    # An array counts only as the first thing in the text: one inside a broken object
    # (the reply cut off after it) must not pass for the whole reply.
    starts = [s for i, s in enumerate(starts) if i == 0 or text[s] == "{"]
    for start in starts:
        value = _decode_at(text, start)
        if value is not _NOTHING:
            yield value
    if len(text) > _MAX_REPAIR_CHARS:
        return
    for start in [s for s in starts if text[s] == "{"][:_MAX_REPAIR_STARTS]:
        try:
            repaired = _scan_repair(text[start:])
        except RecursionError:  # pragma: no cover - the scanner is iterative
            continue
        value = _decode_at(repaired, 0)
        if value is not _NOTHING:
            yield value


def _single_list_field(model: type[BaseModel]) -> str | None:
    """The field a bare JSON array fills: the model's only list field, or its only
    required one (``facts`` beside optional ``entities``/``relations``)."""
    fields = [(n, f) for n, f in model.model_fields.items() if get_origin(f.annotation) is list]
    if len(fields) != 1:
        fields = [(n, f) for n, f in fields if f.is_required()]
    return fields[0][0] if len(fields) == 1 else None


def _describe(exc: PydanticValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - 5
    return "; ".join(parts) + (f"; and {more} more errors" if more > 0 else "")


def _validate(value: Any, model: type[T]) -> tuple[T | None, str]:
    attempts: list[Any] = []
    if isinstance(value, dict):
        attempts.append(value)
        if len(value) == 1:
            inner = next(iter(value.values()))
            if isinstance(inner, dict):
                attempts.append(inner)  # {"ModelName": {...}} or {"result": {...}}
    elif isinstance(value, list):
        field = _single_list_field(model)
        if field is None:
            return None, "the reply is a JSON array, expected an object"
        attempts.append({field: value})
    else:
        return None, f"the reply is a JSON {type(value).__name__}, expected an object"
    first_error = ""
    for candidate in attempts:
        try:
            return model.model_validate(candidate), ""
        except PydanticValidationError as exc:
            first_error = first_error or f"does not match {model.__name__}: {_describe(exc)}"
        except (ValueError, TypeError) as exc:
            first_error = first_error or f"does not match {model.__name__}: {exc}"
    return None, first_error


def parse_structured(text: str, model: type[T]) -> T:
    """The first JSON object in ``text`` that validates as ``model``.

    >>> from pydantic import BaseModel
    >>> class City(BaseModel):
    ...     name: str
    >>> parse_structured('<think>hmm</think>Sure! ```json\\n{"name": "Oslo",}\\n```', City)
    City(name='Oslo')

    Raises :class:`MalformedReply` (carrying the raw text) when nothing validates.
    """
    if not isinstance(text, str):
        raise MalformedReply(f"the reply is {type(text).__name__}, not text", repr(text))
    if not text.strip():
        raise MalformedReply("the reply is empty", text)
    reason = ""
    seen: set[str] = set()
    for candidate in _texts_to_search(text):
        if candidate in seen:
            continue
        seen.add(candidate)
        for value in _json_values(candidate):
            result, why = _validate(value, model)
            if result is not None:
                return result
            reason = reason or why
    raise MalformedReply(reason or "no JSON object found", text)


# -- JSON schema helpers shared by the providers ------------------------------------------


def schema_name_for(model: type[BaseModel], name: str | None = None) -> str:
    """A name OpenAI and Anthropic accept (``[a-zA-Z0-9_-]{1,64}``)."""
    cleaned = re.sub(r"[^a-zA-Z0-9_-]", "_", name or model.__name__)[:64]
    return cleaned or "reply"


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every local ``$ref`` replaced by its definition and ``$defs`` dropped,
    for endpoints and prompts that do not follow refs. A recursive schema is returned as is.
    """
    defs: dict[str, Any] = schema.get("$defs", {})

    def walk(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                key = ref.removeprefix("#/$defs/")
                if key in stack or key not in defs:
                    raise _Recursive
                merged = {k: v for k, v in node.items() if k != "$ref"}
                return {**walk(defs[key], (*stack, key)), **merged}
            return {k: walk(v, stack) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v, stack) for v in node]
        return node

    try:
        result: dict[str, Any] = walk(schema, ())
    except _Recursive:
        return copy.deepcopy(schema)
    return result


class _Recursive(Exception):
    pass


def strict_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """A copy of ``schema`` OpenAI's ``strict`` mode accepts, or None if it cannot be made so.

    Strict mode wants every object closed (``additionalProperties: false``) with all its
    properties required, and no ``default``. Optional fields stay optional in meaning:
    pydantic makes ``X | None`` nullable, so the model answers ``null``. A free-form dict
    (an object without ``properties``) has no strict form, hence None.
    """

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) for k, v in node.items() if k != "default"}
        if node.get("type") == "object":
            props = node.get("properties")
            if not isinstance(props, dict) or node.get("additionalProperties") not in (
                None,
                False,
            ):
                raise _Recursive
            out["required"] = list(props)
            out["additionalProperties"] = False
        return out

    try:
        result: dict[str, Any] = walk(schema)
    except _Recursive:
        return None
    return result


def schema_instructions(schema: dict[str, Any]) -> str:
    """Text telling a model without schema support what to reply."""
    return (
        "Reply with one JSON object that validates against this JSON Schema. "
        "No prose, no code fences.\n"
        + json.dumps(inline_refs(schema), separators=(",", ":"), ensure_ascii=False)
    )


# -- one call, one repair -----------------------------------------------------------------


def _repair_messages(messages: list[ChatMessage], error: MalformedReply) -> list[ChatMessage]:
    bad = error.raw[:_REPAIR_SHOWN]
    return [
        *messages,
        # Anthropic rejects empty text blocks, so an empty reply is shown as a placeholder.
        ChatMessage("assistant", bad.strip() or "(empty reply)"),
        ChatMessage(
            "user",
            f"That reply could not be used: {error.reason}. Reply again with only the "
            "corrected JSON object matching the schema: no prose, no code fences.",
        ),
    ]


async def complete_structured(
    llm: LLM,
    messages: list[ChatMessage],
    model: type[T],
    *,
    usage: Usage | None = None,
    schema_name: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> T:
    """Ask ``llm`` for a ``model``; if the reply is malformed, ask once more showing the
    error and the bad reply. Raises :class:`ExtractionError` if that fails too.

    Every completed call is counted in ``usage``. Transport failures (:class:`LLMTimeout`,
    :class:`LLMError`) propagate unchanged: the provider already retried them.
    """
    name = schema_name_for(model, schema_name)

    async def ask(msgs: list[ChatMessage]) -> str:
        completion = await llm.complete(
            msgs, schema=model, schema_name=name, temperature=temperature, max_tokens=max_tokens
        )
        if usage is not None:
            usage.add(completion)
        return completion.text

    reply = await ask(messages)
    try:
        return parse_structured(reply, model)
    except MalformedReply as first:
        reply = await ask(_repair_messages(messages, first))
        try:
            return parse_structured(reply, model)
        except MalformedReply as second:
            raise ExtractionError(llm.provider, second.raw, second.reason) from second
