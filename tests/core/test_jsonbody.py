from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_webhook_trigger.core.errors import BadRequest, ConfigError, UnsupportedMediaType
from airflow_webhook_trigger.core.jsonbody import NO_BODY, NoBody, parse_json, parse_media_type, read_body

MiB = 1 << 20


def _nested(depth: int, open_: str = "[", close: str = "]") -> bytes:
    return (open_ * depth + close * depth).encode()


def _nested_objects(depth: int) -> bytes:
    return ('{"a":' * depth + "0" + "}" * depth).encode()


# -- parse_json: accepted documents ----------------------------------------------------

VALID = [
    (b"{}", {}),
    (b"[]", []),
    (b"0", 0),
    (b"-0", 0),
    (b"123", 123),
    (b"-17", -17),
    (b"1.5", 1.5),
    (b"-1.5e3", -1500.0),
    (b"1E2", 100.0),
    (b"2e-3", 0.002),
    (b"1e-400", 0.0),  # underflow is a zero, not an error
    (b"1e308", 1e308),
    (b"1.7976931348623157e308", 1.7976931348623157e308),
    (b"9223372036854775807", 2**63 - 1),
    (b"-9223372036854775808", -(2**63)),
    (b"123456789012345678", 123456789012345678),
    (b"0.1234567890123456789012", 0.1234567890123456789012),
    (b'"s"', "s"),
    (b'""', ""),
    (b"true", True),
    (b"false", False),
    (b"null", None),
    (b' \t\r\n{"a" : [1, 2, {"b": null}]}\n ', {"a": [1, 2, {"b": None}]}),
    ('"café 日本 🎉"'.encode(), "café 日本 🎉"),
    (b'"\\u00e9\\n\\t\\"\\\\\\/\\b\\f\\r"', 'é\n\t"\\/\b\f\r'),
    (b'"\\ud83d\\ude00"', "😀"),  # a valid surrogate pair
    (b'"\\uD83D\\uDE00"', "😀"),
    (b'"\\\\ud800"', "\\ud800"),  # an escaped backslash, then text: no surrogate
    (b'"\\\\\\ud83d\\ude00"', "\\😀"),
    (b'"\\ufffd\\uffff\\u0001"', "\ufffd\uffff\x01"),
    (b'"\\u2028"', "\u2028"),
    (b'{"a": "[[[[{{{{", "b": "]]]]}}}}"}', {"a": "[[[[{{{{", "b": "]]]]}}}}"}),
    (b'{"a\\"[": "\\\\", "b": ["\\"]"]}', {'a"[': "\\", "b": ['"]']}),
    (b'{"": 1, " ": 2}', {"": 1, " ": 2}),
    (b'{"a": 1, "A": 2}', {"a": 1, "A": 2}),
    (b'[{"a": 1}, {"a": 1}]', [{"a": 1}, {"a": 1}]),  # same key in sibling objects
    (b'{"a": {"a": {"a": 1}}}', {"a": {"a": {"a": 1}}}),  # same key at other levels
    (b'{"id": "3e4f1234567890123456789a"}', {"id": "3e4f1234567890123456789a"}),
    (b"\xef\xbb\xbf{}", {}),  # one UTF-8 BOM is ignored (RFC 8259 §8.1)
    (b'\xef\xbb\xbf"x"', "x"),
]


@pytest.mark.parametrize(("raw", "expected"), VALID, ids=[repr(r)[:40] for r, _ in VALID])
def test_parse_json_valid_document_parses(raw: bytes, expected: object) -> None:
    value = parse_json(raw)
    assert value == expected
    assert type(value) is type(expected)


def test_parse_json_big_number_document_keeps_types() -> None:
    # A document that switches the number hooks on still returns ints and floats.
    raw = b'{"id": 1234567890123456789, "x": 1.5e3, "n": 7, "f": 0.25}'
    value = parse_json(raw)
    assert value == {"id": 1234567890123456789, "x": 1500.0, "n": 7, "f": 0.25}
    assert isinstance(value, dict)
    assert [type(v) for v in value.values()] == [int, float, int, float]


# -- parse_json: rejected documents ----------------------------------------------------

INVALID = [
    # (raw, a fragment of the message)
    (b"", "empty"),
    (b" \t\r\n", "empty"),
    (b"\xef\xbb\xbf", "empty"),
    (b'{"a": 1, "a": 2}', "duplicate object key 'a'"),
    (b'{"x": {"a": 1, "b": 0, "a": 1}}', "duplicate object key 'a'"),
    (b'[{"a": 1, "a": 1}]', "duplicate object key"),
    (b'{"\\u0061": 1, "a": 2}', "duplicate object key 'a'"),  # same key once unescaped
    (b"NaN", "NaN"),
    (b"[NaN]", "NaN"),
    (b"Infinity", "Infinity"),
    (b"-Infinity", "-Infinity"),
    (b'{"a": Infinity}', "Infinity"),
    (b"1e400", "too large"),
    (b"-1e400", "too large"),
    (b"[1E+999]", "too large"),
    (b"1" + b"0" * 400, "oversized integer"),
    (b"1" + b"0" * 400 + b".0", "too large"),
    (b"9223372036854775808", "oversized integer"),
    (b"-9223372036854775809", "oversized integer"),
    (b"12345678901234567890", "oversized integer"),
    (b'{"n": 99999999999999999999}', "oversized integer"),
    (b'"\\ud800"', "unpaired surrogate"),
    (b'"\\udc00"', "unpaired surrogate"),
    (b'"\\uDFFF"', "unpaired surrogate"),
    (b'"\\ud800\\u0041"', "unpaired surrogate"),
    (b'"\\ude00\\ud83d"', "unpaired surrogate"),  # low then high: not a pair
    (b'"\\ud83d\\ud83d\\ude00"', "unpaired surrogate"),
    (b'"\\\\\\ud800"', "unpaired surrogate"),  # escaped backslash, then a real escape
    (b'{"\\ud800": 1}', "unpaired surrogate"),
    (b'"\xff"', "not valid UTF-8 (byte 1)"),
    (b'"\xc0\xaf"', "not valid UTF-8"),  # overlong "/"
    (b'"\xed\xa0\x80"', "not valid UTF-8"),  # an encoded surrogate
    (b'"\xe2\x82"', "not valid UTF-8"),  # truncated sequence
    (b'"\xf4\x90\x80\x80"', "not valid UTF-8"),  # above U+10FFFF
    (b'\xef\xbb\xbf"\xff"', "not valid UTF-8 (byte 4)"),  # offset counts the BOM
    ("{}".encode("utf-16"), "UTF-16"),
    ("{}".encode("utf-16-le"), "NUL"),
    ("{}".encode("utf-16-be"), "NUL"),
    ("{}".encode("utf-32"), "UTF-16 or UTF-32"),
    ("{}".encode("utf-32-be"), "NUL"),
    (b"[\x00]", "NUL"),
    (b"\xef\xbb\xbf\xef\xbb\xbf{}", "byte order mark"),
    (b'"a\x01b"', "Invalid control character"),
    (b'"a\nb"', "Invalid control character"),
    (b'"a\tb"', "Invalid control character"),
    (b'"a\x1fb"', "Invalid control character"),
    (b"{} x", "Extra data"),
    (b"{}{}", "Extra data"),
    (b"[] []", "Extra data"),
    (b"1 2", "Extra data"),
    (b"[1,]", "Expecting value"),
    (b'{"a": 1,}', "Expecting property name"),
    (b"{'a': 1}", "Expecting property name"),
    (b"{a: 1}", "Expecting property name"),
    (b"[1 2]", "Expecting ',' delimiter"),
    (b"// c\n{}", "Expecting value"),
    (b"01", "Extra data"),
    (b"+1", "Expecting value"),
    (b".5", "Expecting value"),
    (b"1.", "Extra data"),
    (b"0x1", "Extra data"),
    (b"tru", "Expecting value"),
    (b"None", "Expecting value"),
    (b'"unterminated', "Unterminated string"),
    (b'"\\x"', "Invalid \\escape"),
    (b'"\\u12"', "Invalid \\uXXXX escape"),
    (b"[", "Expecting value"),
    (b"]", "Expecting value"),
    (b"[[[]]", "Expecting ',' delimiter"),
    (b"[]]", "Extra data"),
    (b"{]", "Expecting property name"),
    (b'{"a": [}', "Expecting value"),
    (b'["a" "b"]', "Expecting ',' delimiter"),
]


@pytest.mark.parametrize(("raw", "message"), INVALID, ids=[repr(r)[:40] for r, _ in INVALID])
def test_parse_json_invalid_document_bad_request(raw: bytes, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_json(raw)
    assert message in info.value.detail
    assert info.value.status_code == 400


def test_parse_json_syntax_error_message_has_position() -> None:
    with pytest.raises(BadRequest, match=r"Expecting value \(line 2, column 7, char 15\)"):
        parse_json(b'{"a": 1,\n "b": }')


def test_parse_json_error_message_does_not_echo_large_input() -> None:
    key = "k" * 10_000
    cases = [
        json.dumps({key: 1}).encode()[:-1] + b', "' + key.encode() + b'": 2}',
        b'{"a": "' + b"x" * 10_000 + b'" ' + b"y" * 10_000 + b"}",
        b"1" * 10_000,
        b'"' + b"z" * 10_000,
    ]
    for raw in cases:
        with pytest.raises(BadRequest) as info:
            parse_json(raw)
        assert len(info.value.detail) < 200


# -- parse_json: depth ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [_nested(64), _nested(64, "[", "]"), _nested_objects(64), b"[" * 32 + _nested_objects(32) + b"]" * 32],
    ids=["arrays", "arrays again", "objects", "mixed"],
)
def test_parse_json_depth_64_parses(raw: bytes) -> None:
    parse_json(raw)


@pytest.mark.parametrize(
    "raw",
    [
        _nested(65),
        _nested_objects(65),
        b"[" * 33 + _nested_objects(32) + b"]" * 33,
        b"[" + _nested(65) + b"]",
    ],
    ids=["arrays", "objects", "mixed", "inside"],
)
def test_parse_json_depth_65_bad_request_naming_setting(raw: bytes) -> None:
    with pytest.raises(BadRequest, match=r"more than 64 levels.*webhook_trigger\.json_max_depth"):
        parse_json(raw)


def test_parse_json_depth_counts_only_structure_not_strings() -> None:
    deep_text = json.dumps({"a": "[" * 1000 + "{" * 1000, "b": "]" * 1000, "c": '\\"[[[["'})
    assert parse_json(deep_text.encode())["b"] == "]" * 1000  # type: ignore[index]


def test_parse_json_depth_escaped_quotes_do_not_hide_brackets() -> None:
    # Each string ends in an escaped backslash: the quote after it is real.
    raw = b'["\\\\", ' * 65 + b"1" + b"]" * 65
    with pytest.raises(BadRequest, match="more than 64 levels"):
        parse_json(raw)
    raw = b'["\\\\", ' * 64 + b"1" + b"]" * 64
    assert isinstance(parse_json(raw), list)


def test_parse_json_custom_max_depth_applies() -> None:
    assert parse_json(b"[[1]]", max_depth=2) == [[1]]
    with pytest.raises(BadRequest, match="more than 2 levels"):
        parse_json(b"[[[1]]]", max_depth=2)
    assert parse_json(b"7", max_depth=0) == 7
    with pytest.raises(BadRequest, match="more than 0 levels"):
        parse_json(b"[]", max_depth=0)
    assert parse_json(_nested(300), max_depth=512) is not None


@pytest.mark.parametrize("max_depth", [-1, 513, 10**6, True])
def test_parse_json_max_depth_out_of_range_config_error(max_depth: int) -> None:
    with pytest.raises(ConfigError):
        parse_json(b"{}", max_depth=max_depth)


@pytest.mark.parametrize(
    "raw",
    [
        _nested(100_000),
        _nested_objects(100_000),
        b"[" * 100_000,
        b"]" * 100_000,
        b'{"a":' * 100_000,
        b"[" * 100_000 + b'"' + b"]" * 100_000,
        b"[" * 100_000 + b"}" * 100_000,
        b"[]" + b"[" * 100_000,
        b"[" * 65 + b"x",
    ],
    ids=["arrays", "objects", "open", "close", "open objects", "quote", "mismatched", "tail", "garbage"],
)
def test_parse_json_very_deep_input_bad_request_quickly(raw: bytes) -> None:
    start = time.perf_counter()
    with pytest.raises(BadRequest):
        parse_json(raw)
    assert time.perf_counter() - start < 2.0


def test_parse_json_unbalanced_within_limit_reports_position() -> None:
    with pytest.raises(BadRequest, match="char 5"):
        parse_json(b"[[1, ]")


# -- parse_json: complexity guard (not a benchmark) ----------------------------------

ADVERSARIAL = {
    "open brackets": b"[" * MiB,
    "close brackets": b"]" * MiB,
    "deep then shallow": b"[" * (MiB // 2) + b"]" * (MiB // 2),
    "flat pairs": b"[" + b"[]," * (MiB // 3) + b"[]]",
    "64 deep, repeated": b"[" + (b"[" * 63 + b"]" * 63 + b",") * (MiB // 128) + b"[]]",
    "65 deep, repeated": b"[" + (b"[" * 64 + b"]" * 64 + b",") * (MiB // 130) + b"[]]",
    "escaped quotes": b'"' + b'\\"' * (MiB // 2),
    "escaped quotes, closed": b'"' + b'\\"' * (MiB // 2) + b'"',
    "backslashes": b"\\" * MiB,
    "string of backslashes": b'"' + b"\\" * (MiB - 2) + b'"',
    "quotes": b'"' * MiB,
    "digits": b"1" * MiB,
    "fraction digits": b"0." + b"1" * MiB,
    "exponent digits": b"1e" + b"1" * MiB,
    "negative exponent digits": b"1e-" + b"1" * MiB,
    "float digits": b"1" * (MiB // 2) + b"." + b"1" * (MiB // 2),
    "minus signs": b"-" * MiB,
    "ints": b"[" + b"1," * (MiB // 2) + b"1]",
    "big ints": b"[" + b"12345678901234567890," * (MiB // 21) + b"1]",
    "floats": b"[" + b"1.5e3," * (MiB // 6) + b"1]",
    "duplicate keys": b"{" + b'"a":1,' * (MiB // 6) + b'"a":1}',
    "distinct keys": b"{" + b",".join(b'"k%d":1' % i for i in range(MiB // 12)) + b"}",
    "lone surrogates": b'"' + b"\\ud800" * (MiB // 6) + b'"',
    "surrogate pairs": b'"' + b"\\ud83d\\ude00" * (MiB // 12) + b'"',
    "escaped backslash and u": b'"' + b"\\\\ud800" * (MiB // 7) + b'"',
    "empty strings": b"[" + b'"",' * (MiB // 3) + b'""]',
    "open objects": b'{"a":' * (MiB // 5),
    "long key": b'{"' + b"a" * MiB,
    "whitespace": b" " * MiB + b"1",
    "nul bytes": b"\x00" * MiB,
    "invalid utf-8": b'"' + b"\xff" * MiB + b'"',
    "multibyte": b'"' + "é".encode() * (MiB // 2) + b'"',
    "nan spam": b"[" + b"NaN," * (MiB // 4) + b"1]",
}


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    with contextlib.suppress(BadRequest, ValueError, RecursionError):
        fn()
    return time.perf_counter() - start


@pytest.mark.parametrize("raw", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_parse_json_adversarial_mib_finishes_quickly(raw: bytes) -> None:
    # A complexity guard, not a benchmark: anything super-linear takes minutes on 1 MiB.
    # Measured against json.loads on the same bytes so a loaded machine does not flake.
    elapsed = _seconds(lambda: parse_json(raw))
    assert elapsed < 2.0 + 4 * _seconds(lambda: json.loads(raw))


# -- parse_json: properties ------------------------------------------------------------

_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | _INT64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8", exclude_characters="\x00")),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8), children, max_size=5
        )
    ),
    max_leaves=40,
)
_JSONISH = st.text(alphabet='[]{}"\\,:0123456789eE-+. aunltrfsNIu\ud800\x00\xe9', max_size=60)


@given(st.binary(max_size=200))
def test_parse_json_arbitrary_bytes_value_or_bad_request(raw: bytes) -> None:
    with contextlib.suppress(BadRequest):
        parse_json(raw)


@settings(max_examples=500)
@given(_JSONISH)
def test_parse_json_jsonish_text_agrees_with_json_loads(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    try:
        value = parse_json(raw)
    except BadRequest:
        return
    # Whatever parse_json accepts, json.loads accepts too, with the same value.
    assert value == json.loads(raw.decode("utf-8"))


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def _strict_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    if len(dict(pairs)) != len(pairs):
        raise ValueError("duplicate")
    return dict(pairs)


_BRACKETY_TEXT = st.text(alphabet='[]{}"\\,:1a ', max_size=40)
_BRACKETY_JSON = st.recursive(
    st.integers(0, 9) | st.text(alphabet='[]{}"\\u', max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\', max_size=3), children, max_size=3)
    ),
    max_leaves=12,
).map(json.dumps)


@settings(max_examples=1000)
@given(_BRACKETY_TEXT | _BRACKETY_JSON)
def test_parse_json_depth_prescan_agrees_with_real_depth(text: str) -> None:
    # A differential check of the bracket pre-scan: with a small limit, parse_json
    # accepts exactly the documents json.loads accepts whose real depth is within it.
    try:
        reference = json.loads(text, object_pairs_hook=_strict_pairs)
    except ValueError:
        reference_ok = False
    else:
        reference_ok = _depth(reference) <= 3
    try:
        value = parse_json(text.encode(), max_depth=3)
    except BadRequest:
        assert not reference_ok
    else:
        assert reference_ok
        assert value == reference


@given(_JSON_VALUES, st.booleans())
def test_parse_json_round_trip_of_json_value_equal(value: object, ensure_ascii: bool) -> None:
    assert parse_json(json.dumps(value, ensure_ascii=ensure_ascii).encode()) == value


_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])


@settings(max_examples=500)
@given(st.text(alphabet=_SURROGATES | st.sampled_from('a\\"\U0001f600\xe9'), max_size=12))
def test_parse_json_surrogate_escapes_rejected_exactly_when_unpaired(text: str) -> None:
    # json.dumps escapes every surrogate, so this is a differential check of the escape
    # scanner against what json.loads decodes (it joins valid pairs, keeps lone ones).
    raw = json.dumps(text).encode()
    decoded = json.loads(raw)
    try:
        decoded.encode("utf-8")
    except UnicodeEncodeError:
        with pytest.raises(BadRequest, match="unpaired surrogate"):
            parse_json(raw)
    else:
        assert parse_json(raw) == decoded


@given(st.integers())
def test_parse_json_integer_accepted_exactly_within_int64(number: int) -> None:
    raw = str(number).encode()
    if -(2**63) <= number < 2**63:
        assert parse_json(raw) == number
    else:
        with pytest.raises(BadRequest, match="oversized integer"):
            parse_json(raw)


@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(min_value=-400, max_value=400))
def test_parse_json_float_accepted_exactly_when_finite(mantissa: float, exponent: int) -> None:
    literal = f"{mantissa!r}e{exponent}" if "e" not in repr(mantissa) else repr(mantissa)
    expected = float(literal)
    if math.isinf(expected):
        with pytest.raises(BadRequest, match="too large"):
            parse_json(literal.encode())
    else:
        assert parse_json(literal.encode()) == expected


# -- parse_media_type ------------------------------------------------------------------

MEDIA_TYPES = [
    ("application/json", ("application/json", {})),
    ("Application/JSON", ("application/json", {})),
    ("application/json; charset=utf-8", ("application/json", {"charset": "utf-8"})),
    ("application/json;charset=UTF-8", ("application/json", {"charset": "UTF-8"})),
    ('application/json; Charset="utf-8"', ("application/json", {"charset": "utf-8"})),
    ('a/b; x="q\\"uo\\\\te"', ("a/b", {"x": 'q"uo\\te'})),
    ('a/b; x=""', ("a/b", {"x": ""})),
    ("a/b;", ("a/b", {})),
    ("a/b; ; c=d", ("a/b", {"c": "d"})),
    ("  a/b \t; c=d ;e=f  ", ("a/b", {"c": "d", "e": "f"})),
    ("application/vnd.github+json", ("application/vnd.github+json", {})),
    ("multipart/form-data; boundary=----x", ("multipart/form-data", {"boundary": "----x"})),
]


@pytest.mark.parametrize(("value", "expected"), MEDIA_TYPES)
def test_parse_media_type_valid_parsed(value: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_media_type(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "application",
        "application/",
        "/json",
        "application/json garbage",
        "application/json; charset",
        "application/json; charset=",
        "application/json; charset = utf-8",
        'application/json; charset="utf-8',
        "application/json; charset=utf-8; charset=latin-1",
        "application/json; CHARSET=utf-8; charset=utf-8",
        "application/json, text/plain",
        "application/json\x00",
        "applica tion/json",
        "application/json; x=\u20ac",
        "text/plain; x=a b",
    ],
)
def test_parse_media_type_malformed_unsupported_media_type(value: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        parse_media_type(value)


@given(st.text(max_size=60))
def test_parse_media_type_arbitrary_text_result_or_415(value: str) -> None:
    try:
        media_type, params = parse_media_type(value)
    except UnsupportedMediaType:
        return
    assert media_type == media_type.lower()
    assert all(name == name.lower() for name in params)


# -- read_body ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", [None, "", "application/json", "text/plain", "garbage;;", "application/xml"]
)
def test_read_body_empty_body_no_body(content_type: str | None) -> None:
    assert read_body(content_type, b"") is NO_BODY


def test_read_body_no_body_is_a_typed_singleton() -> None:
    assert isinstance(NO_BODY, NoBody)
    assert repr(NO_BODY) == "NO_BODY"
    assert read_body("application/json", b"null") is None  # JSON null is not NO_BODY


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "APPLICATION/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/json; charset=Utf-8; foo=bar",
        "application/json;",
        " application/json ",
        "application/vnd.github+json",
        "application/cloudevents+json; charset=utf-8",
        "application/merge-patch+json",
        "application/problem+JSON",
    ],
)
def test_read_body_json_content_type_parsed(content_type: str) -> None:
    assert read_body(content_type, b'{"a": 1}') == {"a": 1}


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        (None, "body must be application/json"),
        ("", "body must be application/json"),
        ("   ", "body must be application/json"),
        (
            "text/plain",
            "body must be application/json or application/x-www-form-urlencoded, not 'text/plain'",
        ),
        ("text/json", "body must be application/json"),
        ("multipart/form-data; boundary=x", "body must be application/json"),
        ("application/+json", "body must be application/json"),
        ("application/jsonx", "body must be application/json"),
        ("application/json+xml", "body must be application/json"),
        ("application/octet-stream", "body must be application/json"),
        ("application/json; charset=latin-1", "must be UTF-8, not charset='latin-1'"),
        ("application/json; charset=utf-16", "must be UTF-8"),
        ("application/json; charset=utf8", "must be UTF-8"),
        ("application/json; charset=utf-8; charset=utf-8", "repeats the parameter 'charset'"),
        ("application/json garbage", "malformed parameters"),
        ("json", "not a valid media type"),
        ("application/json; charset", "malformed parameters"),
    ],
)
def test_read_body_other_content_type_unsupported_media_type(content_type: str | None, message: str) -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        read_body(content_type, b'{"a": 1}')
    assert message in info.value.detail
    assert info.value.status_code == 415


@pytest.mark.parametrize(
    ("content_type", "raw", "tree"),
    [
        ("application/x-www-form-urlencoded", b"a=1&b[c]=2", {"a": "1", "b": {"c": "2"}}),
        (
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            b"text=caf%C3%A9+au+lait",
            {"text": "café au lait"},
        ),
        ("application/x-www-form-urlencoded", b"x[]=1&x[]=2&x=3", {"x": ["1", "2", "3"]}),
        (
            "application/x-www-form-urlencoded",
            b"command=%2Fweather&text=94070",
            {"command": "/weather", "text": "94070"},
        ),
    ],
)
def test_read_body_form_parsed_like_a_query_string(content_type: str, raw: bytes, tree: object) -> None:
    assert read_body(content_type, raw) == tree


@pytest.mark.parametrize(
    ("content_type", "raw", "error", "message"),
    [
        (
            "application/x-www-form-urlencoded; charset=latin-1",
            b"a=1",
            UnsupportedMediaType,
            "form body must be UTF-8",
        ),
        ("application/x-www-form-urlencoded", b"a=\xff\xfe", BadRequest, "not valid UTF-8"),
        ("application/x-www-form-urlencoded", b"a[b][c][d][e][f][g]=1", BadRequest, "query_max_depth"),
        ("application/x-www-form-urlencoded", b"a[99]=1", BadRequest, "query_max_array_index"),
    ],
)
def test_read_body_form_limits_and_charset(content_type: str, raw: bytes, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        read_body(content_type, raw)
    assert message in info.value.detail  # type: ignore[attr-defined]


def test_read_body_form_uses_the_query_limits() -> None:
    from airflow_webhook_trigger.core.query_string import QueryLimits

    with pytest.raises(BadRequest, match=r"form body .*query_max_params"):
        read_body("application/x-www-form-urlencoded", b"a=1&b=2&c=3", query_limits=QueryLimits(max_params=2))


def test_read_body_malformed_json_bad_request_not_415() -> None:
    with pytest.raises(BadRequest):
        read_body("application/json", b'{"a": ')


def test_read_body_passes_max_depth() -> None:
    assert read_body("application/json", b"[[1]]", max_depth=2) == [[1]]
    with pytest.raises(BadRequest, match="more than 1 levels"):
        read_body("application/json", b"[[1]]", max_depth=1)


@given(st.none() | st.text(max_size=40), st.binary(max_size=80))
def test_read_body_arbitrary_input_only_our_errors(content_type: str | None, raw: bytes) -> None:
    with contextlib.suppress(BadRequest, UnsupportedMediaType):
        read_body(content_type, raw)


@pytest.mark.parametrize(
    "raw",
    [b'{"a": "x\\u0000y"}', b'{"a\\u0000": 1}', b'[[{"deep": ["\\u0000"]}]]', b'"\\u0000"'],
)
def test_parse_json_nul_escape_is_bad_request(raw: bytes) -> None:
    # valid JSON that PostgreSQL's jsonb cannot store: a 400 before any write, not a
    # failed commit
    with pytest.raises(BadRequest, match="NUL"):
        parse_json(raw)


def test_parse_json_escaped_backslash_before_u0000_is_not_a_nul() -> None:
    assert parse_json(b'{"a": "\\\\u0000"}') == {"a": "\\u0000"}
