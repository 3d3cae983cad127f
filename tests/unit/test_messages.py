"""What add() accepts as messages, and how each malformed shape is rejected."""

from __future__ import annotations

from typing import Any

import pytest

from engramdb.errors import ValidationError
from engramdb.ingest.messages import MAX_MESSAGE_CHARS, ROLES, Message, parse_messages


def test_string_is_one_user_message() -> None:
    assert parse_messages("I like tea") == [Message("user", "I like tea")]


def test_text_is_stripped() -> None:
    assert parse_messages("  I like tea \n") == [Message("user", "I like tea")]


def test_dict_message() -> None:
    assert parse_messages({"role": "assistant", "content": "Noted."}) == [
        Message("assistant", "Noted.")
    ]


def test_dict_without_role_defaults_to_user() -> None:
    assert parse_messages({"content": "hi"}) == [Message("user", "hi")]


@pytest.mark.parametrize("role", ROLES)
def test_every_role(role: str) -> None:
    assert parse_messages([{"role": role, "content": "x"}])[0].role == role


def test_list_of_mixed_items_keeps_order() -> None:
    out = parse_messages(
        ["one", {"role": "assistant", "content": "two"}, {"role": "user", "content": "three"}]
    )
    assert [(m.role, m.content) for m in out] == [
        ("user", "one"),
        ("assistant", "two"),
        ("user", "three"),
    ]


def test_tuple_is_accepted() -> None:
    assert len(parse_messages(("a", "b"))) == 2


def test_name_is_kept_when_a_string() -> None:
    assert parse_messages({"role": "user", "content": "x", "name": "Al"})[0].name == "Al"
    assert parse_messages({"role": "user", "content": "x", "name": 3})[0].name is None


def test_content_parts() -> None:
    msg = parse_messages(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look at"},
                "this",
                {"type": "image_url", "image_url": {"url": "https://x/a.png"}},
                {"type": "image_url", "image_url": "https://x/b.png"},
            ],
        }
    )[0]
    assert msg.content == "look at\nthis"
    assert msg.images == ("https://x/a.png", "https://x/b.png")


def test_image_only_message_is_kept() -> None:
    msg = parse_messages(
        {"content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]}
    )[0]
    assert msg.content == ""
    assert msg.images == ("data:image/png;base64,AA",)


def test_long_message_at_limit_is_accepted() -> None:
    assert len(parse_messages("x" * MAX_MESSAGE_CHARS)[0].content) == MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([], "empty"),
        ((), "empty"),
        ("", "message 0 is empty"),
        ("   \n\t", "message 0 is empty"),
        (["ok", ""], "message 1 is empty"),
        ({"role": "user", "content": ""}, "message 0 is empty"),
        ({"role": "user"}, "message 0 has no 'content'"),
        ({"role": "robot", "content": "x"}, "'robot'"),
        (["ok", {"role": "System", "content": "x"}], "message 1 has role 'System'"),
        ({"role": "user", "content": 5}, "content must be a string"),
        ({"role": "user", "content": None}, "content must be a string"),
        ({"role": "user", "content": [{"type": "audio"}]}, "part 0"),
        ({"role": "user", "content": [{"type": "text"}]}, "part 0 has no text"),
        ({"role": "user", "content": [{"type": "image_url"}]}, "part 0 has no image url"),
        ({"role": "user", "content": [5]}, "part 0"),
        ({"role": "user", "content": []}, "message 0 is empty"),
        (["ok", 5], "message 1 must be a string or a dict"),
        (None, "not NoneType"),
        (5, "not int"),
        (b"bytes", "not bytes"),
        ("x" * (MAX_MESSAGE_CHARS + 1), "limit"),
    ],
)
def test_malformed_messages(messages: Any, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_messages(messages)
    assert fragment in str(info.value)
