from __future__ import annotations

import contextlib
import itertools
import json
import re
import subprocess
import sys
import time
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_webhook_trigger.core.errors import BadRequest, ConfigError
from airflow_webhook_trigger.core.query_string import QueryLimits, parse_query

# --- qs README examples (https://github.com/ljharb/qs#parsing-objects, #parsing-arrays)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a=c", {"a": "c"}),
        ("foo[bar]=baz", {"foo": {"bar": "baz"}}),
        ("a%5Bb%5D=c", {"a": {"b": "c"}}),
        ("foo[bar][baz]=foobarbaz", {"foo": {"bar": {"baz": "foobarbaz"}}}),
        ("a[]=b&a[]=c", {"a": ["b", "c"]}),
        ("a[1]=c&a[0]=b", {"a": ["b", "c"]}),
        ("a[1]=b&a[15]=c", {"a": ["b", "c"]}),
        ("a[]=&a[]=b", {"a": ["", "b"]}),
        ("a[0]=b&a[1]=&a[2]=c", {"a": ["b", "", "c"]}),
        ("a[0]=b&a[b]=c", {"a": {"0": "b", "b": "c"}}),
        ("a[][b]=c", {"a": [{"b": "c"}]}),
        ("a=b&a=c", {"a": ["b", "c"]}),
        ("query[0][a]=1", {"query": [{"a": "1"}]}),
        ("a", {"a": ""}),
        ("a==b", {"a": "=b"}),
        ("+a+=+b+", {" a ": " b "}),
        ("%E2%82%AC=%F0%9F%98%80", {"€": "😀"}),
        ("%ZZ=%ED%A0%80", {"%ZZ": "%ED%A0%80"}),
        ("a[b][c][d][e][f]=1", {"a": {"b": {"c": {"d": {"e": {"f": "1"}}}}}}),
        ("a[20]=x", {"a": ["x"]}),
    ],
)
def test_parse_query_qs_readme_example_matches(raw: str, expected: dict[str, object]) -> None:
    assert parse_query(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a=1", {"a": "1"}),
        ("a[b]=1", {"a": {"b": "1"}}),
        ("query[0][a]=1", {"query": [{"a": "1"}]}),
        ("x[]=1&x[]=2", {"x": ["1", "2"]}),
        ("c[1]=x", {"c": ["x"]}),
        ("a=1&a[b]=2", {"a": ["1", {"b": "2"}]}),
    ],
)
def test_parse_query_product_contract_example_matches(raw: str, expected: dict[str, object]) -> None:
    assert parse_query(raw) == expected


# --- rule 1/2: input, splitting, key/value split


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        ("&", {}),
        ("&&a=1&&", {"a": "1"}),
        ("a=1;b=2", {"a": "1;b=2"}),
        ("?a=1", {"?a": "1"}),
        ("=x", {}),
        ("=", {}),
        ("a=", {"a": ""}),
        ("a[=]=x", {"a": {"=": "x"}}),
        ("a=b]=c", {"a=b]": "c"}),
        ("a]=b", {"a]": "b"}),
        ("a%5B=%5D=x", {"a": {"=": "x"}}),
        ("a%5b%5d=x&a%5B%5D=y", {"a": ["x", "y"]}),
        ("a[b]=c=d", {"a": {"b": "c=d"}}),
        ("a=%5B", {"a": "["}),
        ("a&b", {"a": "", "b": ""}),
    ],
)
def test_parse_query_split_rules_give_expected_tree(raw: str, expected: dict[str, object]) -> None:
    assert parse_query(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a=1", {"a": "1"}),
        (b"", {}),
        ("\u20ac=\u00e9".encode(), {"\u20ac": "\u00e9"}),
        ("k=\u00e9", {"k": "\u00e9"}),
        ("k=\u00e9%C3%A9", {"k": "\u00e9\u00e9"}),
    ],
)
def test_parse_query_utf8_input_is_decoded(raw: str | bytes, expected: dict[str, object]) -> None:
    assert parse_query(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [b"a=\xe9", b"\xff", b"a=\xc3", b"a=\xed\xa0\x80", b"k=\xc0\xaf", "a=\ud800", "\udcff=1"],
)
def test_parse_query_not_utf8_raises_bad_request(raw: str | bytes) -> None:
    with pytest.raises(BadRequest, match=r"^query string is not valid UTF-8$"):
        parse_query(raw)


# --- rule 3: decoding


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a=b+c", {"a": "b c"}),
        ("a=b%2Bc", {"a": "b+c"}),
        ("a=%2b%2B", {"a": "++"}),
        ("a=%25", {"a": "%"}),
        ("a=%2525", {"a": "%25"}),
        ("a=%c3%a9", {"a": "\u00e9"}),
        ("a=%ZZ+b", {"a": "%ZZ b"}),
        ("a=%", {"a": "%"}),
        ("a=%4", {"a": "%4"}),
        ("a=%41%", {"a": "%41%"}),
        ("a=%E9", {"a": "%E9"}),
        ("a=%C0%AF", {"a": "%C0%AF"}),
        ("a=%ED%A0%80%41", {"a": "%ED%A0%80%41"}),
        ("a=%E2%82", {"a": "%E2%82"}),
        ("%61=1", {"a": "1"}),
        ("a%20b=1", {"a b": "1"}),
        ("%ZZ[b]=1", {"%ZZ": {"b": "1"}}),
        ("a%5Bb%ZZ%5D=1", {"a": {"b%ZZ": "1"}}),
        ("%26=%3D", {"&": "="}),
        ("%=1", {"%": "1"}),
        ("+=1", {" ": "1"}),
        ("%EF%BF%BE=1", {"\ufffe": "1"}),
    ],
)
def test_parse_query_decoding_follows_qs_decode(raw: str, expected: dict[str, object]) -> None:
    assert parse_query(raw) == expected


# --- rule 4: grouping by decoded key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a=1&a=2&a=3", {"a": ["1", "2", "3"]}),
        ("a=1&b=2&a=3", {"a": ["1", "3"], "b": "2"}),
        ("a=1&%61=2", {"a": ["1", "2"]}),
        ("a=&a=", {"a": ["", ""]}),
        ("a&a", {"a": ["", ""]}),
        ("a[b]=1&a[b]=2", {"a": {"b": ["1", "2"]}}),
        ("a[0]=1&a[0]=2", {"a": [["1", "2"]]}),
        ("b=1&a=2", {"b": "1", "a": "2"}),
    ],
)
def test_parse_query_repeated_key_collects_list(raw: str, expected: dict[str, object]) -> None:
    assert parse_query(raw) == expected


def test_parse_query_key_order_is_first_appearance() -> None:
    assert list(parse_query("z=1&0=2&a=3&z=4")) == ["z", "0", "a"]


# --- rule 5: key grammar


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a[b=1", {"a[b": "1"}),
        ("a]=1", {"a]": "1"}),
        ("a[b]c=1", {"a[b]c": "1"}),
        ("a[b][c]d=1", {"a[b][c]d": "1"}),
        ("a[b[c]]=1", {"a[b[c]]": "1"}),
        ("a[[b]]=1", {"a[[b]]": "1"}),
        ("a[b]]=1", {"a[b]]": "1"}),
        ("a[=1", {"a[": "1"}),
        ("[=1", {"[": "1"}),
        ("[a]=1", {"a": "1"}),
        ("[a][b]=1", {"a": {"b": "1"}}),
        ("[0]=1", {"0": "1"}),
        ("[]=1", {"[]": "1"}),
        ("[][a]=1", {"[][a]": "1"}),
        ("[a]=1&a=2", {"a": ["1", "2"]}),
        ("a]b[c]=1", {"a]b": {"c": "1"}}),
        ("a[ b ]=1", {"a": {" b ": "1"}}),
        ("a[]b=1", {"a[]b": "1"}),
        ("a[b][c][d][e][f][g]x=1", {"a[b][c][d][e][f][g]x": "1"}),
    ],
)
def test_parse_query_key_grammar_gives_expected_tree(raw: str, expected: dict[str, object]) -> None:
    assert parse_query(raw) == expected


# --- rule 6: segment meaning


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a[0]=x", {"a": ["x"]}),
        ("a[01]=x", {"a": {"01": "x"}}),
        ("a[00]=x", {"a": {"00": "x"}}),
        ("a[-1]=x", {"a": {"-1": "x"}}),
        ("a[%2B1]=x", {"a": {"+1": "x"}}),
        ("a[+1]=x", {"a": {" 1": "x"}}),
        ("a[ 1]=x", {"a": {" 1": "x"}}),
        ("a[1_0]=x", {"a": {"1_0": "x"}}),
        ("a[1.0]=x", {"a": {"1.0": "x"}}),
        ("a[\uff11]=x", {"a": {"\uff11": "x"}}),
        ("a[\u0661]=x", {"a": {"\u0661": "x"}}),
        ("a[0x1]=x", {"a": {"0x1": "x"}}),
        ("0=x", {"0": "x"}),
        ("0[0]=x", {"0": ["x"]}),
        ("a[1]=c&a[0]=b", {"a": ["b", "c"]}),
        ("a[2]=c&a[]=d", {"a": ["d", "c"]}),
        ("a[2]=c&a[]=d&a[]=e", {"a": ["d", "e", "c"]}),
        ("a[]=d&a[2]=c", {"a": ["d", "c"]}),
        ("a[20]=x&a[3]=y", {"a": ["y", "x"]}),
        ("a[][]=1", {"a": [["1"]]}),
        ("a[][]=1&a[][]=2", {"a": [["1", "2"]]}),
        ("a[0][]=1&a[0][]=2", {"a": [["1", "2"]]}),
        ("a[b][]=1&a[b][]=2", {"a": {"b": ["1", "2"]}}),
        ("a[][0]=1", {"a": [["1"]]}),
        ("a[0][0][0]=1", {"a": [[["1"]]]}),
    ],
)
def test_parse_query_segment_meaning_gives_expected_tree(raw: str, expected: dict[str, object]) -> None:
    assert parse_query(raw) == expected


# --- rule 7: merging


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # object + object
        ("a[b]=1&a[c]=2", {"a": {"b": "1", "c": "2"}}),
        ("a[b][c]=1&a[b][d]=2", {"a": {"b": {"c": "1", "d": "2"}}}),
        # array + array, index-wise
        ("a[0]=1&a[1]=2", {"a": ["1", "2"]}),
        ("a[0]=1&a[]=2", {"a": ["1", "2"]}),
        ("a[0][b]=1&a[0][c]=2", {"a": [{"b": "1", "c": "2"}]}),
        ("a[][b]=1&a[][c]=2", {"a": [{"b": "1", "c": "2"}]}),
        ("a[0][b]=1&a[0]=2", {"a": [{"b": "1"}, "2"]}),
        ("a[0]=1&a[0][b]=2", {"a": ["1", {"b": "2"}]}),
        ("a[5]=1&a[5][b]=2", {"a": ["1", {"b": "2"}]}),
        ("a[5]=1&a[5]x=2", {"a": ["1"], "a[5]x": "2"}),
        ("a[0][0]=1&a[0][]=2", {"a": [["1", "2"]]}),
        # array + object, object + array
        ("a[0]=b&a[b]=c", {"a": {"0": "b", "b": "c"}}),
        ("a[b]=c&a[0]=b", {"a": {"b": "c", "0": "b"}}),
        ("a[]=1&a[]=2&a[x]=3", {"a": {"0": "1", "1": "2", "x": "3"}}),
        ("a[3]=1&a[x]=2", {"a": {"3": "1", "x": "2"}}),
        ("a[x]=2&a[3]=1&a[3]=4", {"a": {"x": "2", "3": ["1", "4"]}}),
        ("a[0]=1&a[x]=2&a[0]=3", {"a": {"0": ["1", "3"], "x": "2"}}),
        # string target + container source
        ("a=1&a[b]=2", {"a": ["1", {"b": "2"}]}),
        ("a=1&a[]=2", {"a": ["1", "2"]}),
        ("a=1&a[]=2&a[]=3", {"a": ["1", "2", "3"]}),
        ("a=1&a=2&a[]=3", {"a": ["1", "2", "3"]}),
        ("a=1&a[2]=x&a[1]=y", {"a": ["1", "y", "x"]}),
        ("a=&a[b]=2", {"a": ["", {"b": "2"}]}),
        # object target + string source (qs: {"b": "2", "1": true})
        ("a[b]=2&a=1", {"a": [{"b": "2"}, "1"]}),
        ("a[b]=2&[a]=", {"a": [{"b": "2"}, ""]}),
        # array target + string source
        ("a[]=1&a=2", {"a": ["1", "2"]}),
        ("a[3]=1&a=2", {"a": ["1", "2"]}),
        ("a[]=1&a=", {"a": ["1", ""]}),
        # string + string
        ("a=1&[a]=2", {"a": ["1", "2"]}),
        ("[a]=1&a=", {"a": ["1", ""]}),
        ("a[b]=1&[a][b]=2", {"a": {"b": ["1", "2"]}}),
        # repeated wrap keeps every value
        (
            "a=1&a[x]=2&a[y]=3&[a]=4&a[z]=5",
            {"a": {"0": {"0": "1", "1": {"x": "2"}, "y": "3"}, "1": "4", "z": "5"}},
        ),
    ],
)
def test_parse_query_merge_rules_give_expected_tree(raw: str, expected: dict[str, object]) -> None:
    assert parse_query(raw) == expected


# --- limits


@pytest.mark.parametrize(
    ("raw", "limits", "config_key"),
    [
        ("a" * 65537, QueryLimits(), "query_max_length"),
        (b"a" * 65537, QueryLimits(), "query_max_length"),
        ("abcd", QueryLimits(max_length=3), "query_max_length"),
        ("", QueryLimits(max_length=0, max_params=0), None),
        ("a", QueryLimits(max_length=0), "query_max_length"),
        ("&".join(["a=1"] * 1001), QueryLimits(), "query_max_params"),
        ("&".join(f"k{i}" for i in range(1001)), QueryLimits(), "query_max_params"),
        ("a=1&b=2&c=3", QueryLimits(max_params=2), "query_max_params"),
        ("a=1&&&b=2&&", QueryLimits(max_params=2), None),
        ("a", QueryLimits(max_params=0), "query_max_params"),
        ("&&&", QueryLimits(max_params=0), None),
        ("a[b][c][d][e][f][g]=1", QueryLimits(), "query_max_depth"),
        ("[a][b][c][d][e][f]=1", QueryLimits(), "query_max_depth"),
        ("a[][][][][][]=1", QueryLimits(), "query_max_depth"),
        ("a[b][c][d][e][f]=1", QueryLimits(), None),
        ("[a][b][c][d][e]=1", QueryLimits(), None),
        ("a[b]=1", QueryLimits(max_depth=0), "query_max_depth"),
        ("[a]=1", QueryLimits(max_depth=0), "query_max_depth"),
        ("a[b=1", QueryLimits(max_depth=0), None),
        ("a[b][c]=1", QueryLimits(max_depth=1), "query_max_depth"),
        ("a[b]=1", QueryLimits(max_depth=1), None),
        ("a" + "[b]" * 32 + "=1", QueryLimits(max_depth=32), None),
        ("a" + "[b]" * 33 + "=1", QueryLimits(max_depth=32), "query_max_depth"),
        ("a[21]=1", QueryLimits(), "query_max_array_index"),
        ("a[999999999]=1", QueryLimits(), "query_max_array_index"),
        ("a[" + "9" * 60000 + "]=1", QueryLimits(), "query_max_array_index"),
        ("a[b][21]=1", QueryLimits(), "query_max_array_index"),
        ("a[21][b]=1", QueryLimits(), "query_max_array_index"),
        ("[21]=1", QueryLimits(), None),
        ("a[20]=1", QueryLimits(), None),
        ("a[021]=1", QueryLimits(), None),
        ("a[0]=1", QueryLimits(max_array_index=0), None),
        ("a[1]=1", QueryLimits(max_array_index=0), "query_max_array_index"),
        ("a[100]=1", QueryLimits(max_array_index=100), None),
        ("a[101]=1", QueryLimits(max_array_index=100), "query_max_array_index"),
        ("a[1000]=1", QueryLimits(max_array_index=999), "query_max_array_index"),
        ("&".join(["a[]=1"] * 1000), QueryLimits(), None),
        ("&".join(["a=1"] * 1000), QueryLimits(), None),
    ],
)
def test_parse_query_limit_raises_naming_config_key(
    raw: str | bytes, limits: QueryLimits, config_key: str | None
) -> None:
    if config_key is None:
        assert isinstance(parse_query(raw, limits), dict)
        return
    with pytest.raises(BadRequest, match=rf"\(limit: webhook_trigger\.{config_key}\)$") as info:
        parse_query(raw, limits)
    assert info.value.status_code == 400


@pytest.mark.parametrize(
    ("raw", "limits", "message"),
    [
        (
            "&".join(["a=1"] * 1001),
            QueryLimits(),
            "query string has more than 1000 parameters (limit: webhook_trigger.query_max_params)",
        ),
        (
            "a" * 11,
            QueryLimits(max_length=10),
            "query string is longer than 10 characters (limit: webhook_trigger.query_max_length)",
        ),
        (
            "a[b][c][d][e][f][g]=1",
            QueryLimits(),
            "query string key 'a[b][c][d][e][f][g]' has more than 5 bracket levels "
            "(limit: webhook_trigger.query_max_depth)",
        ),
        (
            "a[21]=1",
            QueryLimits(),
            "query string key 'a[21]' has an array index above 20 "
            "(limit: webhook_trigger.query_max_array_index)",
        ),
        (
            "a" * 100 + "[99]=1",
            QueryLimits(),
            f"query string key '{'a' * 64}...' has an array index above 20 "
            "(limit: webhook_trigger.query_max_array_index)",
        ),
    ],
)
def test_parse_query_limit_message_is_exact(raw: str, limits: QueryLimits, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_query(raw, limits)
    assert info.value.detail == message


def _nesting_attack(max_depth: int, max_params: int) -> str:
    """Alternate a string and an object at every spelling of ``a[0]...[0]``: each pair
    pushes what was there one level deeper."""
    parts: list[str] = []
    for level in range(max_depth + 1):
        for head in ("a", "[a]"):
            room = max_depth - level - (head == "[a]")
            if room < 0:
                continue
            for steps in itertools.islice(itertools.product(("[0]", "[]"), repeat=level), 1000):
                key = head + "".join(steps)
                parts.append(f"{key}=s")
                if room > 0:
                    parts.append(f"{key}[o{len(parts)}]=1")
                if len(parts) >= max_params:
                    return "&".join(parts[:max_params])
    return "&".join(parts)


@pytest.mark.parametrize(("max_depth", "max_params"), [(3, 1000), (5, 1000), (10, 1000), (32, 20000)])
def test_parse_query_repeated_conflicts_nesting_too_deep_raises(max_depth: int, max_params: int) -> None:
    limits = QueryLimits(max_depth=max_depth, max_params=max_params, max_length=10**6)
    raw = _nesting_attack(max_depth, max_params)
    bound = 2 * (max_depth + 1)
    with pytest.raises(BadRequest) as info:
        parse_query(raw, limits)
    assert info.value.detail == (
        f"query string values nest more than {bound} levels deep once merged, "
        "2 x (max depth + 1) (limit: webhook_trigger.query_max_depth)"
    )


@pytest.mark.parametrize(
    ("raw", "limits", "expected"),
    [
        ("a[b]=1&a=2", QueryLimits(max_depth=1), {"a": [{"b": "1"}, "2"]}),
        ("a=1&a[b]=2", QueryLimits(max_depth=1), {"a": ["1", {"b": "2"}]}),
        ("a[]=1&a[]=2", QueryLimits(max_depth=1), {"a": ["1", "2"]}),
        ("a[][]=1", QueryLimits(max_depth=2), {"a": [["1"]]}),
        (
            "a[b]=1&a=2&a[c][d]=3&a[0][e]=4",
            QueryLimits(max_depth=2),
            {"a": {"0": {"b": "1", "e": "4"}, "1": "2", "c": {"d": "3"}}},
        ),
        (
            "a=1&a[b][c][d][e][f]=2&a[b][c][d][e][f]=3",
            QueryLimits(),
            {"a": ["1", {"b": {"c": {"d": {"e": {"f": ["2", "3"]}}}}}]},
        ),
    ],
)
def test_parse_query_one_conflict_per_level_is_accepted(
    raw: str, limits: QueryLimits, expected: dict[str, object]
) -> None:
    assert parse_query(raw, limits) == expected


def test_parse_query_any_limit_overrun_raises_even_after_valid_keys() -> None:
    with pytest.raises(BadRequest, match="query_max_array_index"):
        parse_query("a=1&b[c]=2&d[21]=3&e=4")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_depth", -1),
        ("max_depth", 33),
        ("max_depth", True),
        ("max_array_index", -1),
        ("max_array_index", 1.5),
        ("max_params", "1000"),
        ("max_params", None),
        ("max_length", -65536),
    ],
)
def test_query_limits_invalid_value_raises_config_error(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"^webhook_trigger\.query_{field} has value "):
        QueryLimits(**{field: value})  # type: ignore[arg-type]


def test_query_limits_defaults_match_qs_defaults() -> None:
    assert QueryLimits() == QueryLimits(max_depth=5, max_array_index=20, max_params=1000, max_length=65536)


def test_query_module_import_loads_no_framework() -> None:
    code = (
        "import sys, airflow_webhook_trigger.core.query_string; "
        "bad = [m for m in ('flask', 'fastapi', 'starlette', 'airflow') if m in sys.modules]; "
        "sys.exit(repr(bad) if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- properties


def _only_json_types(node: object) -> bool:
    if isinstance(node, str):
        return True
    if isinstance(node, list):
        return all(_only_json_types(item) for item in node)
    if isinstance(node, dict):
        return all(type(k) is str and _only_json_types(v) for k, v in node.items())
    return False


_query_alphabet = st.sampled_from("ab0129[]=&%+;?.-_ ") | st.characters()
_query_text = st.text(_query_alphabet, max_size=200)
_percent_text = st.lists(
    st.sampled_from(["a", "0", "[", "]", "[]", "=", "&", "%5B", "%5D", "%C3%A9", "%E9", "%ZZ"])
    | st.sampled_from(["%", "+", "[1]", "[21]", "[x]", "%ED%A0%80"]),
    max_size=60,
).map("".join)


@settings(max_examples=500)
@given(raw=_query_text | _percent_text)
def test_parse_query_any_text_returns_json_tree_or_bad_request(raw: str) -> None:
    try:
        result = parse_query(raw)
    except BadRequest:
        return
    assert isinstance(result, dict)
    assert _only_json_types(result)
    json.loads(json.dumps(result, ensure_ascii=False))


@settings(max_examples=300)
@given(raw=st.binary(max_size=200) | _percent_text.map(str.encode))
def test_parse_query_any_bytes_returns_json_tree_or_bad_request(raw: bytes) -> None:
    try:
        result = parse_query(raw)
    except BadRequest:
        return
    assert _only_json_types(result)
    json.dumps(result, ensure_ascii=False)


@settings(max_examples=200)
@given(
    raw=st.text(st.characters(codec=None, categories=["Cs", "L", "P"]), max_size=50),
    limits=st.builds(
        QueryLimits,
        max_depth=st.integers(0, 32),
        max_array_index=st.integers(0, 1000),
        max_params=st.integers(0, 50),
        max_length=st.integers(0, 100),
    ),
)
def test_parse_query_any_text_and_limits_raises_only_bad_request(raw: str, limits: QueryLimits) -> None:
    try:
        result = parse_query(raw, limits)
    except BadRequest:
        return
    assert _only_json_types(result)


_key_token = st.sampled_from(["a", "[a]", "[0]", "[1]", "[]", "[b]", "[", "]", "%5B", "0"])
_key_heavy = st.lists(
    st.tuples(st.lists(_key_token, min_size=1, max_size=12).map("".join), st.sampled_from(["", "=s"])),
    max_size=80,
).map(lambda pairs: "&".join(key + value for key, value in pairs))


@settings(max_examples=300)
@given(
    raw=_key_heavy,
    limits=st.builds(
        QueryLimits,
        max_depth=st.integers(0, 32),
        max_array_index=st.integers(0, 30),
        max_params=st.integers(0, 100),
    ),
)
def test_parse_query_bracket_heavy_input_returns_json_tree_or_bad_request(
    raw: str, limits: QueryLimits
) -> None:
    try:
        result = parse_query(raw, limits)
    except BadRequest:
        return
    assert _only_json_types(result)
    json.dumps(result)


_simple_key = st.text(st.characters(codec="utf-8", exclude_characters="[\x00"), min_size=1, max_size=20)
_simple_value = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)


@given(params=st.dictionaries(_simple_key, _simple_value, max_size=20))
def test_parse_query_urlencoded_flat_dict_round_trips(params: dict[str, str]) -> None:
    assert parse_query(urlencode(params)) == params
    assert parse_query(urlencode(params).encode("ascii")) == params


@given(
    params=st.dictionaries(
        _simple_key, _simple_value | st.lists(_simple_value, min_size=2, max_size=5), max_size=10
    )
)
def test_parse_query_urlencoded_repeated_keys_round_trip(
    params: dict[str, str | list[str]],
) -> None:
    assert parse_query(urlencode(params, doseq=True)) == params


_segment_key = st.text(
    st.characters(codec="utf-8", exclude_characters="[]\x00"), min_size=1, max_size=8
).filter(lambda k: not re.fullmatch(r"0|[1-9][0-9]*", k))


def _tree(depth: int) -> st.SearchStrategy[object]:
    if depth == 0:
        return _simple_value
    child = _tree(depth - 1)
    return (
        _simple_value
        | st.dictionaries(_segment_key, child, min_size=1, max_size=3)
        | st.lists(child, min_size=1, max_size=4)
    )


def _render(prefix: str, node: object) -> list[str]:
    """A qs ``stringify`` with ``arrayFormat: 'indices'`` for the trees above."""
    if isinstance(node, str):
        return [f"{quote(prefix, safe='[]')}={quote(node, safe='')}"]
    pairs: list[tuple[object, object]] = []
    if isinstance(node, dict):
        pairs.extend(node.items())
    elif isinstance(node, list):
        pairs.extend(enumerate(node))
    return [part for key, child in pairs for part in _render(f"{prefix}[{key}]", child)]


@settings(max_examples=300)
@given(tree=st.dictionaries(_segment_key, _tree(5), min_size=1, max_size=4))
def test_parse_query_rendered_nested_tree_round_trips(tree: dict[str, object]) -> None:
    raw = "&".join(part for key, child in tree.items() for part in _render(key, child))
    assert parse_query(raw) == tree


# --- complexity guard: each adversarial ~60 KiB input parses (or is refused) well under 1 s


def _adversarial_inputs() -> list[tuple[str, str]]:
    deep = "a" + "[b]" * 20000
    return [
        ("deep brackets", deep + "=1"),
        ("deep literal", "a" + "[" * 30000 + "]" * 30000),
        ("many empty brackets", "a" + "[]" * 30000 + "=1"),
        ("max-depth keys", "&".join(f"k{i}[b][c][d][e][f]=1" for i in range(999))),
        ("append many", "&".join(["a[]=" + "x" * 50] * 1000)),
        ("append nested", "&".join(f"a[][k{i}]={i}" for i in range(1000))),
        ("huge index", "a[" + "9" * 60000 + "]=1"),
        ("many indices", "&".join(f"a[{i % 21}][k{i}]=1" for i in range(1000))),
        ("same key", "&".join(["a=" + "v" * 55] * 1000)),
        ("same key nested", "&".join(["a[b][c][d][e][f]=" + "v" * 40] * 1000)),
        ("spellings", "&".join(f"a={i}&[a]={i}&a[]={i}&a[k{i}]={i}" for i in range(250))),
        ("percent", "&".join(["%C3%A9" * 4 + "=" + "%E2%82%AC" * 4] * 1000)),
        ("bad percent", "&".join(["%ZZ" * 10 + "=" + "%E9" * 10] * 1000)),
        ("ampersands", "&" * 61000),
        ("one value", "a=" + "%41" * 20000),
        ("conflict nesting", _nesting_attack(5, 1000)),
        ("conflict nesting wide", "&".join(f"a[k{i}]=1&a=2&[a]=3" for i in range(333))),
    ]


@pytest.mark.parametrize(
    ("name", "raw"), _adversarial_inputs(), ids=[name for name, _ in _adversarial_inputs()]
)
def test_parse_query_adversarial_input_finishes_fast(name: str, raw: str) -> None:
    assert len(raw) <= 65536, name
    started = time.perf_counter()
    with contextlib.suppress(BadRequest):
        parse_query(raw)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("raw", ["a=%00", "a%00=1", "a[b%00]=1", "a=x\x00"])
def test_parse_query_nul_is_bad_request(raw: str) -> None:
    with pytest.raises(BadRequest, match="NUL"):
        parse_query(raw)
