from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_webhook_trigger.core.errors import BadRequest, ConfigError
from airflow_webhook_trigger.core.paths import ABSENT, extract, lookup, parse_path
from airflow_webhook_trigger.core.sample import SampleParse, paths_from_sample, paths_from_tree

# -- the seed's examples, verbatim -----------------------------------------------------


def test_paths_from_sample_seed_url_query() -> None:
    assert paths_from_sample("http://localhost:13000/api/webhook:trigger/1hfmkioou0d?query=1") == SampleParse(
        part="query", paths=("query",)
    )


def test_paths_from_sample_seed_json_body() -> None:
    assert paths_from_sample('{"a": 1, "b": {"c": 2}}') == SampleParse(part="body", paths=("a", "b", "b.c"))


def test_paths_from_sample_seed_query_array() -> None:
    assert paths_from_sample("?query[0][a]=1") == SampleParse(
        part="query", paths=("query", "query[0]", "query[0].a")
    )


# -- recognition -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "part", "paths"),
    [
        # JSON bodies
        ("[1, [2, 3]]", "body", ("[0]", "[1]", "[1][0]", "[1][1]")),
        ("{}", "body", ()),
        ("[]", "body", ()),
        ('  \n{"a": {"b": [{"c": null}]}}\n ', "body", ("a", "a.b", "a.b[0]", "a.b[0].c")),
        ('{"x.y": 1, "a b": {"": 2}}', "body", ('["x.y"]', '["a b"]', '["a b"][""]')),
        ('{"0": [1]}', "body", ("0", "0[0]")),
        ('\ufeff{"a": 1}', "body", ("a",)),
        # URLs
        ("https://example.com/hook?a=1&b[c]=2", "query", ("a", "b", "b.c")),
        ("HTTP://EXAMPLE.COM/?a=1", "query", ("a",)),
        ("http://localhost:13000/api/webhook:trigger/x", "query", ()),  # no query: no paths
        ("http://example.com/hook?a=1#frag", "query", ("a",)),
        ("http://example.com/hook#frag?a=1", "query", ()),  # the ? is in the fragment
        ("/api/hook?x=1", "query", ("x",)),
        ("/api/hook", "query", ()),
        ("//example.com/hook?x=1", "query", ("x",)),
        ("localhost:13000/hook?x=1", "query", ("x",)),
        ("http://example.com/?next=https://a.example/?b=1", "query", ("next",)),
        ("http://example.com/hook?", "query", ()),
        # query strings
        ("?a=1", "query", ("a",)),
        ("a=1&b=2", "query", ("a", "b")),
        ("a[b][c]=1", "query", ("a", "a.b", "a.b.c")),
        ("x[]=1&x[]=2", "query", ("x", "x[0]", "x[1]")),
        ("a=1&a=2", "query", ("a", "a[0]", "a[1]")),
        ("next=https://example.com/?x=1&a=1", "query", ("next", "a")),
        ("a=1#frag", "query", ("a",)),
        ("?", "query", ()),
        ("a%20b=1", "query", ('["a b"]',)),
        ("X-Request-Id=1", "query", ("X-Request-Id",)),
        ("123", "query", ("123",)),  # JSON, but not an object or array
        ('"text"', "query", ('["\\"text\\""]',)),
        ("?[a]=1", "query", ("a",)),
    ],
)
def test_paths_from_sample_recognised(text: str, part: str, paths: tuple[str, ...]) -> None:
    assert paths_from_sample(text) == SampleParse(part=part, paths=paths)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "sample is empty"),
        ("  \n\t", "sample is empty"),
        ('{"a": 1,}', "invalid JSON sample: JSON body is malformed"),
        ('{"a": 1, "a": 2}', "duplicate object key"),
        ("[a]=1", "write its leading '\\?'"),
        ("[" * 100 + "]" * 100, "more than 64 levels"),
        ('{"a": NaN}', "NaN"),
        ('{"\ud800": 1}', "not valid UTF-8"),
    ],
)
def test_paths_from_sample_invalid_bad_request(text: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        paths_from_sample(text)


def test_paths_from_sample_query_limit_bad_request() -> None:
    with pytest.raises(BadRequest, match="query_max_params"):
        paths_from_sample("&".join(f"k{i}=1" for i in range(1001)))


def test_paths_from_sample_long_arrays_truncated() -> None:
    body = json.dumps({"items": [{"sku": i} for i in range(10)]})
    assert paths_from_sample(body, max_array_items=2).paths == (
        "items",
        "items[0]",
        "items[0].sku",
        "items[1]",
        "items[1].sku",
    )
    assert len(paths_from_sample(body).paths) == 1 + 5 * 2


def test_paths_from_sample_paths_over_the_limits_left_out() -> None:
    long_key = "k" * 1100
    body = json.dumps({"a": 1, long_key: {"b": 2}, "c": 3})
    assert paths_from_sample(body).paths == ("a", "c")


def test_paths_from_sample_paths_are_canonical_and_parse() -> None:
    body = json.dumps({"a b": [{"x.y": {"": [1]}}], "z": {"0": 1}})
    result = paths_from_sample(body)
    assert result.paths == (
        '["a b"]',
        '["a b"][0]',
        '["a b"][0]["x.y"]',
        '["a b"][0]["x.y"][""]',
        '["a b"][0]["x.y"][""][0]',
        "z",
        "z.0",
    )
    for path in result.paths:
        assert lookup(json.loads(body), parse_path(path)) is not ABSENT


def test_sample_parse_is_frozen() -> None:
    result = SampleParse(part="query", paths=("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.part = "body"  # type: ignore[misc]


# -- paths_from_tree -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tree", "paths"),
    [
        ({"a": 1, "b": {"c": 2}}, [("a",), ("b",), ("b", "c")]),
        ({"query": [{"a": "1"}]}, [("query",), ("query", 0), ("query", 0, "a")]),
        ({"a": {"b": {}}, "c": []}, [("a",), ("a", "b"), ("c",)]),
        ([{"a": 1}, 2], [(0,), (0, "a"), (1,)]),
        ({}, []),
        ([], []),
        ("scalar", []),
        (None, []),
        ({"a": [[1, 2], [3]]}, [("a",), ("a", 0), ("a", 0, 0), ("a", 0, 1), ("a", 1), ("a", 1, 0)]),
    ],
)
def test_paths_from_tree_depth_first_parents_first(tree: object, paths: list[tuple[object, ...]]) -> None:
    assert paths_from_tree(tree) == paths


def test_paths_from_tree_max_array_items() -> None:
    tree = {"a": list(range(10))}
    assert paths_from_tree(tree, max_array_items=3) == [("a",), ("a", 0), ("a", 1), ("a", 2)]
    assert paths_from_tree(tree, max_array_items=0) == [("a",)]
    assert len(paths_from_tree(tree)) == 1 + 5
    # Selecting the array's own path keeps all of it.
    assert extract(tree, paths_from_tree(tree, max_array_items=0)) == tree


def test_paths_from_tree_negative_max_array_items_config_error() -> None:
    with pytest.raises(ConfigError):
        paths_from_tree({}, max_array_items=-1)


def test_paths_from_tree_very_deep_tree_no_recursion_error() -> None:
    tree: object = 1
    for _ in range(5000):
        tree = {"a": tree}
    assert len(paths_from_tree(tree)) == 5000


_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=5)
)
_JSON_TREES = st.recursive(
    _JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=8)
        | st.dictionaries(
            st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=4), children, max_size=5
        )
    ),
    max_leaves=20,
)


@given(
    st.dictionaries(
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=4), _JSON_TREES, max_size=5
    ),
    st.integers(0, 6),
)
def test_paths_from_tree_extract_all_paths_gives_tree_back(tree: dict[str, object], max_items: int) -> None:
    paths = paths_from_tree(tree, max_array_items=max_items)
    assert extract(tree, paths) == tree
    for path in paths:
        assert lookup(tree, path) is not ABSENT
    position = {path: i for i, path in enumerate(paths)}
    assert len(position) == len(paths)
    for path, i in position.items():  # each parent listed before its children
        if len(path) > 1:
            assert position[path[:-1]] < i


_STRICT_TREES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=5),
    lambda children: (
        st.lists(children, max_size=8)
        | st.dictionaries(
            st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=4), children, max_size=5
        )
    ),
    max_leaves=20,
)


@given(
    st.dictionaries(
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=4),
        _STRICT_TREES,
        min_size=1,
        max_size=5,
    )
)
def test_paths_from_sample_json_paths_parse_and_are_present(tree: dict[str, object]) -> None:
    result = paths_from_sample(json.dumps(tree))
    assert result.part == "body"
    assert result.paths == tuple(p for p in (_render(s) for s in paths_from_tree(tree)) if p is not None)
    for path in result.paths:
        assert lookup(tree, parse_path(path)) is not ABSENT


@given(st.text(max_size=60))
def test_paths_from_sample_arbitrary_text_result_or_bad_request(text: str) -> None:
    try:
        result = paths_from_sample(text)
    except BadRequest:
        return
    assert result.part in ("query", "body")
    for path in result.paths:
        parse_path(path)


def _render(segments: tuple[object, ...]) -> str | None:
    from airflow_webhook_trigger.core.paths import render_path

    try:
        return render_path(segments)  # type: ignore[arg-type]
    except ConfigError:
        return None


def test_paths_from_form_sample_are_body_paths() -> None:
    parsed = paths_from_sample("command=%2Fdeploy&text=v2&user[name]=ann", form=True)
    assert parsed.part == "body"
    assert list(parsed.paths) == ["command", "text", "user", "user.name"]
