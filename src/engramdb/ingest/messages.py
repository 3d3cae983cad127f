"""Validate and normalise what ``add()`` accepts into a list of :class:`Message`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engramdb.errors import ValidationError

ROLES = ("user", "assistant", "system", "tool")
MAX_MESSAGE_CHARS = 100_000


@dataclass(frozen=True)
class Message:
    """One chat message: its text, and any image references it carried."""

    role: str
    content: str
    name: str | None = None
    images: tuple[str, ...] = field(default=())


def _content(raw: Any, where: str) -> tuple[str, tuple[str, ...]]:
    if isinstance(raw, str):
        return raw, ()
    if isinstance(raw, list):
        # OpenAI content parts: [{"type": "text", "text": ...}, {"type": "image_url", ...}]
        texts: list[str] = []
        images: list[str] = []
        for i, part in enumerate(raw):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type") == "text":
                if not isinstance(part.get("text"), str):
                    raise ValidationError(f"{where} part {i} has no text string")
                texts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") == "image_url":
                url = part.get("image_url")
                url = url.get("url") if isinstance(url, dict) else url
                if not isinstance(url, str) or not url:
                    raise ValidationError(f"{where} part {i} has no image url")
                images.append(url)
            else:
                raise ValidationError(f"{where} part {i} is not a text or image_url part")
        return "\n".join(texts), tuple(images)
    raise ValidationError(f"{where} content must be a string or a list of parts")


def parse_messages(messages: Any) -> list[Message]:
    """Accept a string, a ``{"role", "content"}`` dict, or a list of either.

    >>> parse_messages("I like tea")
    [Message(role='user', content='I like tea', name=None, images=())]
    """
    if isinstance(messages, str | dict):
        items: list[Any] = [messages]
    elif isinstance(messages, list | tuple):
        items = list(messages)
    else:
        raise ValidationError(
            f"messages must be a string, a message dict or a list of them, "
            f"not {type(messages).__name__}"
        )
    if not items:
        raise ValidationError("messages is empty: nothing to remember")
    out: list[Message] = []
    for i, item in enumerate(items):
        where = f"message {i}"
        images: tuple[str, ...]
        if isinstance(item, str):
            role, text, images, name = "user", item, (), None
        elif isinstance(item, dict):
            role = item.get("role", "user")
            if role not in ROLES:
                raise ValidationError(f"{where} has role {role!r}; use one of {', '.join(ROLES)}")
            if "content" not in item:
                raise ValidationError(f"{where} has no 'content'")
            text, images = _content(item["content"], where)
            name = item.get("name") if isinstance(item.get("name"), str) else None
        else:
            raise ValidationError(f"{where} must be a string or a dict, not {type(item).__name__}")
        text = text.strip()
        if not text and not images:
            raise ValidationError(f"{where} is empty")
        if len(text) > MAX_MESSAGE_CHARS:
            raise ValidationError(
                f"{where} has {len(text)} characters; the limit is {MAX_MESSAGE_CHARS}"
            )
        out.append(Message(role=role, content=text, name=name, images=images))
    return out
