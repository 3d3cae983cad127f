"""The filters language: parsing into a tree, scope extraction, and errors that name the culprit."""

from __future__ import annotations

from typing import Any

import pytest

from engramdb.errors import FilterError, ValidationError
from engramdb.filters import (
    OPERATORS,
    RECORD_FIELDS,
    And,
    Cond,
    Not,
    Or,
    parse,
    split_scope,
)


def test_none_and_empty_parse_to_none() -> None:
    assert parse(None) is None
    assert parse({}) is None


def test_bare_value_is_eq_on_metadata() -> None:
    assert parse({"city": "Lisbon"}) == Cond("city", "eq", "Lisbon", True)


def test_bare_value_on_record_field() -> None:
    assert parse({"user_id": "alice"}) == Cond("user_id", "eq", "alice", False)
    assert parse({"created_at": {"gte": "2024-01-01"}}) == Cond(
        "created_at", "gte", "2024-01-01", False
    )


def test_every_record_field_is_not_metadata() -> None:
    for name in RECORD_FIELDS:
        node = parse({name: "x"})
        assert node == Cond(name, "eq", "x", False)


def test_metadata_prefix_forces_metadata_even_for_record_names() -> None:
    assert parse({"metadata.user_id": "x"}) == Cond("user_id", "eq", "x", True)
    assert parse({"metadata.city": "x"}) == Cond("city", "eq", "x", True)


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "a", "a"),
        ("eq", None, None),
        ("eq", True, True),
        ("ne", 3, 3),
        ("gt", 1, 1),
        ("gte", 1.5, 1.5),
        ("lt", "2024-01-01", "2024-01-01"),
        ("lte", 10, 10),
        ("in", ["a", "b"], ("a", "b")),
        ("in", ("a",), ("a",)),
        ("nin", [1, 2], (1, 2)),
        ("contains", "tea", "tea"),
        ("contains", 3, 3),
        ("icontains", "TeA", "TeA"),
    ],
)
def test_every_operator(op: str, value: Any, expected: Any) -> None:
    assert parse({"k": {op: value}}) == Cond("k", op, expected, True)  # type: ignore[arg-type]


def test_operator_list_is_complete() -> None:
    assert {"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "icontains"} == set(
        OPERATORS
    )


@pytest.mark.parametrize("op", sorted(OPERATORS))
def test_dollar_prefixed_operators(op: str) -> None:
    value: Any = ["x"] if op in ("in", "nin") else "x"
    node = parse({"k": {"$" + op: value}})
    assert isinstance(node, Cond)
    assert node.op == op


def test_several_operators_on_one_field_are_anded() -> None:
    assert parse({"n": {"gte": 1, "lt": 5}}) == And(
        (Cond("n", "gte", 1, True), Cond("n", "lt", 5, True))
    )


def test_several_keys_are_anded_in_order() -> None:
    assert parse({"a": 1, "b": 2}) == And((Cond("a", "eq", 1, True), Cond("b", "eq", 2, True)))


def test_wildcard_means_field_exists() -> None:
    assert parse({"city": "*"}) == Cond("city", "ne", None, True)


def test_and_or_not() -> None:
    a, b = Cond("a", "eq", 1, True), Cond("b", "eq", 2, True)
    assert parse({"AND": [{"a": 1}, {"b": 2}]}) == And((a, b))
    assert parse({"OR": [{"a": 1}, {"b": 2}]}) == Or((a, b))
    assert parse({"NOT": {"a": 1}}) == Not(a)
    assert parse({"NOT": [{"a": 1}, {"b": 2}]}) == Not(And((a, b)))


def test_logical_keys_are_case_insensitive_and_dollar_prefixed() -> None:
    a, b = Cond("a", "eq", 1, True), Cond("b", "eq", 2, True)
    assert parse({"and": [{"a": 1}, {"b": 2}]}) == And((a, b))
    assert parse({"$or": [{"a": 1}, {"b": 2}]}) == Or((a, b))
    assert parse({"$not": {"a": 1}}) == Not(a)


def test_deep_nesting() -> None:
    f = {
        "OR": [
            {"AND": [{"a": 1}, {"NOT": {"b": {"in": [2, 3]}}}]},
            {"NOT": [{"OR": [{"c": {"contains": "x"}}, {"user_id": "u"}]}]},
        ],
        "d": {"icontains": "y"},
    }
    assert parse(f) == And(
        (
            Or(
                (
                    And((Cond("a", "eq", 1, True), Not(Cond("b", "in", (2, 3), True)))),
                    Not(
                        And(
                            (
                                Or(
                                    (
                                        Cond("c", "contains", "x", True),
                                        Cond("user_id", "eq", "u", False),
                                    )
                                ),
                            )
                        )
                    ),
                )
            ),
            Cond("d", "icontains", "y", True),
        )
    )


# -- scope split ------------------------------------------------------------------------


def test_split_scope_none() -> None:
    assert split_scope(None) == ({}, None)


def test_split_scope_single_condition() -> None:
    assert split_scope(parse({"user_id": "alice"})) == ({"user_id": "alice"}, None)


def test_split_scope_takes_all_three_and_keeps_the_rest() -> None:
    scope, rest = split_scope(
        parse({"user_id": "u", "agent_id": "a", "run_id": "r", "city": "Rome"})
    )
    assert scope == {"user_id": "u", "agent_id": "a", "run_id": "r"}
    assert rest == Cond("city", "eq", "Rome", True)


def test_split_scope_inside_top_level_and() -> None:
    scope, rest = split_scope(parse({"AND": [{"user_id": "u"}, {"a": 1}, {"b": 2}]}))
    assert scope == {"user_id": "u"}
    assert rest == And((Cond("a", "eq", 1, True), Cond("b", "eq", 2, True)))


@pytest.mark.parametrize(
    "filters",
    [
        {"user_id": {"ne": "u"}},
        {"user_id": {"in": ["u", "v"]}},
        {"OR": [{"user_id": "u"}, {"user_id": "v"}]},
        {"NOT": {"user_id": "u"}},
        {"metadata.user_id": "u"},
        {"user_id": 5},
        {"user_id": "*"},
    ],
)
def test_split_scope_leaves_non_equality_scope_conditions_as_filters(
    filters: dict[str, Any],
) -> None:
    node = parse(filters)
    assert split_scope(node) == ({}, node)


def test_split_scope_keeps_second_condition_on_same_field() -> None:
    scope, rest = split_scope(parse({"AND": [{"user_id": "u"}, {"user_id": "v"}]}))
    assert scope == {"user_id": "u"}
    assert rest == Cond("user_id", "eq", "v", False)


# -- errors -----------------------------------------------------------------------------


def _error(filters: Any) -> str:
    with pytest.raises(FilterError) as info:
        parse(filters)
    return str(info.value)


def test_filter_error_is_a_validation_error() -> None:
    assert issubclass(FilterError, ValidationError)
    assert issubclass(FilterError, ValueError)


@pytest.mark.parametrize("op", ["between", "$regex", "like", "EQ", "exists"])
def test_unknown_operator_is_named(op: str) -> None:
    msg = _error({"city": {op: "x"}})
    assert repr(op) in msg
    assert "operator" in msg
    assert "'city'" in msg


def test_unknown_operator_deep_inside_nesting_is_named() -> None:
    msg = _error({"OR": [{"a": 1}, {"NOT": {"b": {"approx": 2}}}]})
    assert "'approx'" in msg and "'b'" in msg


@pytest.mark.parametrize("field", ["bad field", "1abc", "a.b", "x" * 65, "métier!", ""])
def test_malformed_field_is_named(field: str) -> None:
    msg = _error({field: 1})
    assert repr(field) in msg
    assert "field" in msg


def test_malformed_metadata_key_is_named() -> None:
    msg = _error({"metadata.bad key": 1})
    assert "'metadata.bad key'" in msg


@pytest.mark.parametrize(
    ("filters", "fragment"),
    [
        ([{"a": 1}], "must be a dict"),
        ("a=1", "must be a dict"),
        ({1: "x"}, "not a string"),
        ({"a": {}}, "no operator"),
        ({"a": {"in": []}}, "non-empty list"),
        ({"a": {"in": "abc"}}, "non-empty list"),
        ({"a": {"nin": [[1]]}}, "scalar"),
        ({"a": {"eq": [1, 2]}}, "scalar"),
        ({"a": {"eq": {"x": 1}}}, "scalar"),
        ({"a": {"ne": {"x": 1}}}, "scalar"),
        ({"a": {"contains": True}}, "string or number"),
        ({"a": {"contains": None}}, "string or number"),
        ({"a": {"icontains": ["x"]}}, "string or number"),
        ({"a": {"gt": None}}, "number, string or time"),
        ({"a": {"lt": True}}, "number, string or time"),
        ({"a": {"gte": [1]}}, "number, string or time"),
        ({"AND": {"a": 1}}, "non-empty list"),
        ({"OR": []}, "non-empty list"),
        ({"AND": [1]}, "filter dicts"),
        ({"NOT": "a"}, "NOT takes"),
        ({"NOT": {}}, "empty filter dict"),
        ({"AND": [{}]}, "empty filter dict"),
    ],
)
def test_malformed_filters(filters: Any, fragment: str) -> None:
    assert fragment in _error(filters)


def test_nested_value_dict_without_known_operator_names_it() -> None:
    msg = _error({"a": {"eq": 1, "bogus": 2}})
    assert "'bogus'" in msg
