from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_webhook_trigger.core.errors import ConfigError
from airflow_webhook_trigger.core.paths import (
    ABSENT,
    MAX_PATH_LENGTH,
    MAX_SEGMENTS,
    Absent,
    Segment,
    extract,
    lookup,
    parse_path,
    render_path,
)

# -- parse_path ------------------------------------------------------------------------

PARSED = [
    ("a", ("a",)),
    ("b.c", ("b", "c")),
    ("query[0]", ("query", 0)),
    ("query[0].a", ("query", 0, "a")),
    ("a[0][1]", ("a", 0, 1)),
    ("a[10].b[2]", ("a", 10, "b", 2)),
    ("a.0", ("a", "0")),  # digits after a dot: a key
    ("0", ("0",)),
    ("[0]", (0,)),  # a top-level array
    ("[0].a", (0, "a")),
    ("[12345678901234567890]", (12345678901234567890,)),
    ('["a b"]', ("a b",)),
    ('[""]', ("",)),
    ('a["x.y"]', ("a", "x.y")),
    ('a["x.y"].z', ("a", "x.y", "z")),
    ('a["0"]', ("a", "0")),
    ('a["[0]"]', ("a", "[0]")),
    ('a["q\\"uote"]', ("a", 'q"uote')),
    ('a["back\\\\slash"]', ("a", "back\\slash")),
    ('a["\\u00e9\\n\\t"]', ("a", "é\n\t")),
    ('a["\\ud83d\\ude00"]', ("a", "😀")),
    ('a["tab\u00a0nbsp"]', ("a", "tab\u00a0nbsp")),
    ('["a"]', ("a",)),  # quoted although it could be bare
    ("X-Request-Id", ("X-Request-Id",)),
    ("café.日本", ("café", "日本")),
    ("a-b_c:d/e@f", ("a-b_c:d/e@f",)),
    ("back\\slash", ("back\\slash",)),
    ("$.a", ("$", "a")),
    ("a[0][0][0]", ("a", 0, 0, 0)),
]


@pytest.mark.parametrize(("text", "segments"), PARSED)
def test_parse_path_valid_segments(text: str, segments: tuple[Segment, ...]) -> None:
    assert parse_path(text) == segments


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "path is empty"),
        (".", "offset 0"),
        (".a", "offset 0"),
        ("a.", "offset 2: expected a key after '.'"),
        ("a..b", "offset 2"),
        ("a b", "offset 1"),
        (" a", "offset 0"),
        ("a ", "offset 1"),
        ("a\tb", "offset 1"),
        ("a\nb", "offset 1"),
        ("a\x00b", "offset 1"),
        ("a]", "offset 1"),
        ('a"', "offset 1"),
        ('"a"', "offset 0"),
        ("a[", "offset 1"),
        ("a[]", "offset 1"),
        ("a[01]", "no leading zero"),
        ("a[00]", "no leading zero"),
        ("a[-1]", "no sign"),
        ("a[+1]", "no sign"),
        ("a[1.5]", "no leading zero"),
        ("a[ 0]", "offset 1"),
        ("a[0 ]", "offset 1"),
        ("a[x]", 'quoted key ["..."]'),
        ("a['x']", 'quoted key ["..."]'),
        ('a["x"', 'a JSON string then "]"'),
        ('a["x]', 'a JSON string then "]"'),
        ('a["\\x"]', 'a JSON string then "]"'),
        ('a["\\u12"]', 'a JSON string then "]"'),
        ('a["tab\there"]', 'a JSON string then "]"'),  # raw control character
        ('a["x"]y', "offset 6"),
        ("a[0]b", "offset 4: expected '.' or '['"),
        ("a.[0]", "offset 2"),
        ('a.["x"]', "offset 2"),
        ("a[\u0660]", "no leading zero"),  # an Arabic-Indic digit is not an index
        ('a["\\ud800"]', "lone surrogate"),
        ("a.\ud800", "lone surrogate"),
    ],
)
def test_parse_path_malformed_config_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_path(text)
    assert message in str(info.value)


def test_parse_path_malformed_message_hints_quoting() -> None:
    with pytest.raises(ConfigError, match=r'written quoted, like \["a b"\]'):
        parse_path("a b")


def test_parse_path_length_limit() -> None:
    assert parse_path("a" * MAX_PATH_LENGTH) == ("a" * MAX_PATH_LENGTH,)
    with pytest.raises(ConfigError, match="longer than 1024 characters"):
        parse_path("a" * (MAX_PATH_LENGTH + 1))


def test_parse_path_segment_limit() -> None:
    assert len(parse_path(".".join(["a"] * MAX_SEGMENTS))) == MAX_SEGMENTS
    assert len(parse_path("a" + "[0]" * (MAX_SEGMENTS - 1))) == MAX_SEGMENTS
    with pytest.raises(ConfigError, match="more than 64 segments"):
        parse_path(".".join(["a"] * (MAX_SEGMENTS + 1)))
    with pytest.raises(ConfigError, match="more than 64 segments"):
        parse_path("[0]" * (MAX_SEGMENTS + 1))


def test_parse_path_long_message_is_truncated() -> None:
    with pytest.raises(ConfigError) as info:
        parse_path("a" * 1000 + " ")
    assert len(str(info.value)) < 300


@given(st.text(max_size=40))
def test_parse_path_arbitrary_text_segments_or_config_error(text: str) -> None:
    try:
        segments = parse_path(text)
    except ConfigError:
        return
    assert 1 <= len(segments) <= MAX_SEGMENTS
    assert parse_path(render_path(segments)) == segments


@given(st.text(alphabet='ab0._[]" \\\\u', max_size=20))
def test_parse_path_grammar_text_segments_or_config_error(text: str) -> None:
    try:
        segments = parse_path(text)
    except ConfigError:
        return
    assert parse_path(render_path(segments)) == segments


# -- render_path -----------------------------------------------------------------------

RENDERED = [
    (("a",), "a"),
    (("b", "c"), "b.c"),
    (("query", 0), "query[0]"),
    (("query", 0, "a"), "query[0].a"),
    ((0,), "[0]"),
    ((0, 1, "x"), "[0][1].x"),
    (("a", "0"), "a.0"),
    (("0",), "0"),
    (("a b",), '["a b"]'),
    (("",), '[""]'),
    (("a", "x.y"), 'a["x.y"]'),
    (("a", "[0]"), 'a["[0]"]'),
    (("a", 'q"'), 'a["q\\""]'),
    (("a", "\n"), 'a["\\n"]'),
    (("a", "\x00"), 'a["\\u0000"]'),
    (("a", "\x7f"), 'a["\x7f"]'),
    (("a", "\u00a0"), 'a["\u00a0"]'),
    (("a", "é😀"), "a.é😀"),
    (("X-Request-Id",), "X-Request-Id"),
    (("back\\slash",), "back\\slash"),
]


@pytest.mark.parametrize(("segments", "text"), RENDERED)
def test_render_path_canonical_text(segments: tuple[Segment, ...], text: str) -> None:
    assert render_path(segments) == text
    assert parse_path(text) == segments


def test_render_path_accepts_any_sequence() -> None:
    assert render_path(["a", 0]) == "a[0]"


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ((), "path is empty"),
        (("a", -1), "negative"),
        (("a", True), "neither a key"),
        (("a", 1.5), "neither a key"),
        (("a", None), "neither a key"),
        (("a", b"b"), "neither a key"),
        (("a", "\udc00"), "lone surrogate"),
        (("a" * (MAX_PATH_LENGTH + 1),), "longer than 1024"),
        (("a",) * (MAX_SEGMENTS + 1), "more than 64 segments"),
    ],
)
def test_render_path_invalid_config_error(segments: Sequence[object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        render_path(segments)  # type: ignore[arg-type]


_SEGMENT = (
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
    | st.text(alphabet='a0.[]" \\\t', max_size=6)
    | st.integers(min_value=0, max_value=10**30)
)


@settings(max_examples=500)
@given(st.lists(_SEGMENT, min_size=1, max_size=MAX_SEGMENTS).map(tuple))
def test_render_path_round_trip_equal(segments: tuple[Segment, ...]) -> None:
    try:
        text = render_path(segments)
    except ConfigError:
        # Only the length limit can refuse a well-typed path.
        assert sum(len(str(s)) for s in segments) > MAX_PATH_LENGTH // 8
        return
    assert parse_path(text) == segments
    assert render_path(parse_path(text)) == text


# -- lookup ----------------------------------------------------------------------------

TREE = {
    "a": 1,
    "b": {"c": 2, "n": None, "0": "zero-key"},
    "query": [{"a": "1"}, {"b": "2"}],
    "": "empty-key",
    "x.y": "dotted",
    "f": False,
}


@pytest.mark.parametrize(
    ("segments", "value"),
    [
        (("a",), 1),
        (("b",), TREE["b"]),
        (("b", "c"), 2),
        (("b", "n"), None),  # present, and null
        (("b", "0"), "zero-key"),
        (("query",), TREE["query"]),
        (("query", 0), {"a": "1"}),
        (("query", 0, "a"), "1"),
        (("query", 1, "b"), "2"),
        (("",), "empty-key"),
        (("x.y",), "dotted"),
        (("f",), False),
        ((), TREE),
    ],
)
def test_lookup_present_value(segments: tuple[Segment, ...], value: object) -> None:
    assert lookup(TREE, segments) == value


@pytest.mark.parametrize(
    "segments",
    [
        ("zz",),
        ("a", "b"),  # into a scalar
        ("a", 0),
        ("b", 0),  # an index into an object, even with key "0"
        ("query", "0"),  # a key into an array
        ("query", 2),
        ("query", -1),  # never counted from the end
        ("query", True),
        ("query", 0, "b"),
        ("b", "n", "x"),  # into null
        ("f", "x"),
        ("x", "y"),
    ],
)
def test_lookup_missing_absent(segments: tuple[Segment, ...]) -> None:
    assert lookup(TREE, segments) is ABSENT


def test_lookup_top_level_array() -> None:
    assert lookup([{"a": 1}], (0, "a")) == 1
    assert lookup([{"a": 1}], ("0",)) is ABSENT
    assert lookup("scalar", ("a",)) is ABSENT


def test_absent_is_a_typed_singleton() -> None:
    assert isinstance(ABSENT, Absent)
    assert repr(ABSENT) == "ABSENT"
    assert ABSENT is not None


# -- extract ---------------------------------------------------------------------------

BODY: dict[str, Any] = {
    "a": 1,
    "b": {"c": 2, "d": 3},
    "items": [{"sku": "x", "qty": 1}, {"sku": "y"}, {"sku": "z", "qty": 3}],
}


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        ([("a",)], {"a": 1}),
        ([("b", "c")], {"b": {"c": 2}}),
        ([("b",)], {"b": {"c": 2, "d": 3}}),
        ([("b",), ("b", "c")], {"b": {"c": 2, "d": 3}}),  # overlapping
        ([("b", "c"), ("b",)], {"b": {"c": 2, "d": 3}}),
        ([("a",), ("zz",)], {"a": 1}),  # absent paths omitted
        ([("zz",)], {}),  # nothing present
        ([], {}),
        ([("b", "zz")], {}),  # a container with nothing chosen present is left out
        ([("a",), ("a",)], {"a": 1}),
        ([("items", 0, "sku")], {"items": [{"sku": "x"}]}),
        ([("items", 2, "qty")], {"items": [None, None, {"qty": 3}]}),  # positions kept
        ([("items", 1, "qty")], {}),
        ([("items", 1, "qty"), ("items", 2, "sku")], {"items": [None, None, {"sku": "z"}]}),
        ([("items", 7)], {}),  # beyond the source: never padded past its length
        ([("items", 2), ("items", 0, "qty")], {"items": [{"qty": 1}, None, BODY["items"][2]]}),
        ([("items", "0")], {}),
        ([("b", 0)], {}),
        ([("a", "x")], {}),
        ([("items", True)], {}),  # not an index, and no collision with 1
        ([("items", True), ("items", 1)], {"items": [None, {"sku": "y"}]}),
        ([("items", -1)], {}),
        ([("items", 1.0)], {}),
        ([()], BODY),  # the empty path: the whole tree
    ],
)
def test_extract_chosen_paths(paths: list[tuple[Segment, ...]], expected: object) -> None:
    assert extract(BODY, paths) == expected


def test_extract_seed_conf_example() -> None:
    query = {"query": [{"a": "1"}], "other": "x"}
    assert extract(query, [("query", 0, "a")]) == {"query": [{"a": "1"}]}
    body = {"a": 1, "b": {"c": 2}, "secret": "s"}
    assert extract(body, [("a",), ("b", "c")]) == {"a": 1, "b": {"c": 2}}


def test_extract_keys_in_path_order() -> None:
    assert list(extract({"a": 1, "b": 2, "c": 3}, [("c",), ("a",)])) == ["c", "a"]  # type: ignore[call-overload]


def test_extract_keeps_null_values() -> None:
    assert extract({"a": None, "b": [None]}, [("a",), ("b", 0)]) == {"a": None, "b": [None]}


def test_extract_top_level_array() -> None:
    assert extract([1, {"a": 2}], [(1, "a")]) == [None, {"a": 2}]
    assert extract([1, 2], [("a",)]) == []
    assert extract([1, 2], [(5,)]) == []


@pytest.mark.parametrize("tree", ["text", 1, None, True, 1.5])
def test_extract_scalar_tree_empty_object(tree: object) -> None:
    assert extract(tree, [("a",), (0,)]) == {}


def test_extract_does_not_change_the_source() -> None:
    source = copy.deepcopy(BODY)
    result = extract(source, [("b", "c"), ("items", 1)])
    assert source == BODY
    assert result is not source
    assert result["b"] is not source["b"]  # type: ignore[index]


def test_extract_deep_tree() -> None:
    tree: object = "leaf"
    for _ in range(64):
        tree = {"k": [tree]}
    path = ("k", 0) * 64
    assert extract(tree, [path]) == tree
    assert lookup(tree, path) == "leaf"


_JSON_TREES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=25,
)
_PATHS = st.lists(
    st.lists(st.sampled_from(["", "a", "b", "0"]) | st.integers(0, 4), max_size=4).map(tuple), max_size=6
)


@settings(max_examples=300)
@given(_JSON_TREES, _PATHS)
def test_extract_chosen_present_paths_keep_their_values(
    tree: object, paths: list[tuple[Segment, ...]]
) -> None:
    result = extract(tree, paths)
    for path in paths:
        value = lookup(tree, path)
        if value is not ABSENT:
            assert lookup(result, path) == value
    assert type(result) is (list if isinstance(tree, list) else dict) or () in paths
