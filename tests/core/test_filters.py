from __future__ import annotations

import contextlib
import json
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_webhook_trigger.core.errors import ConfigError
from airflow_webhook_trigger.core.filters import (
    MAX_MATCH_SUBJECT,
    Condition,
    filter_document,
    first_failure,
    parse_filter,
)
from airflow_webhook_trigger.core.request import Headers

# -- parse_filter: valid documents -----------------------------------------------------

VALID = [
    (
        {"header": "X-GitHub-Event", "equals": "push"},
        Condition("header", "X-GitHub-Event", (), "equals", "push"),
    ),
    (
        {"body": "ref", "equals": "refs/heads/main"},
        Condition("body", "ref", ("ref",), "equals", "refs/heads/main"),
    ),
    ({"body": "a[0].b", "equals": 1.5}, Condition("body", "a[0].b", ("a", 0, "b"), "equals", 1.5)),
    ({"body": "deleted", "equals": False}, Condition("body", "deleted", ("deleted",), "equals", False)),
    ({"body": "x", "equals": None}, Condition("body", "x", ("x",), "equals", None)),
    ({"body": "type", "in": ["a", "b"]}, Condition("body", "type", ("type",), "in", ("a", "b"))),
    ({"query": "env", "not_in": ["dev"]}, Condition("query", "env", ("env",), "not_in", ("dev",))),
    ({"body": "x", "exists": False}, Condition("body", "x", ("x",), "exists", False)),
    ({"body": "v", "matches": r"v\d+\.\d+"}, Condition("body", "v", ("v",), "matches", r"v\d+\.\d+")),
    ({"body": '["a"]', "exists": True}, Condition("body", "a", ("a",), "exists", True)),  # canonical path
]


@pytest.mark.parametrize(("doc", "expected"), VALID)
def test_parse_filter_valid_document_gives_condition(doc: dict[str, object], expected: Condition) -> None:
    assert parse_filter([doc]) == (expected,)


@pytest.mark.parametrize("empty", [None, [], ()])
def test_parse_filter_empty_gives_no_conditions(empty: object) -> None:
    assert parse_filter(empty) == ()


def test_parse_filter_true_and_one_are_different_conditions() -> None:
    as_bool = parse_filter([{"body": "a", "equals": True}])
    as_int = parse_filter([{"body": "a", "equals": 1}])
    assert as_bool != as_int
    assert parse_filter([{"body": "a", "in": [True]}]) != parse_filter([{"body": "a", "in": [1]}])


# -- parse_filter: invalid documents ---------------------------------------------------

INVALID = [
    ("nope", "filter: must be a list of conditions"),
    ([{"body": "a", "exists": True}] * 33, "filter: has 33 conditions, at most 32"),
    (["x"], "filter[0]: must be a mapping"),
    ([{1: "a"}], "filter[0]: key 1 must be a string"),
    ([{"body": "a", "exists": True, "bogus": 1}], "filter[0]: unknown key(s) bogus (allowed: body, equals,"),
    ([{"body": "a", "exists": True}, {"exists": True}], "filter[1]: give exactly one of header, query, body"),
    ([{"body": "a", "header": "X", "exists": True}], "filter[0]: give exactly one of header, query, body"),
    ([{"body": "a"}], "filter[0]: give exactly one of equals, in, not_in, exists, matches"),
    ([{"body": "a", "equals": 1, "in": [1]}], "filter[0]: give exactly one of equals, in,"),
    ([{"header": 5, "equals": "x"}], "filter[0].header: must be a string"),
    ([{"header": "X Y", "equals": "x"}], "filter[0].header: 'X Y' is not a valid header name"),
    ([{"header": "a" * 129, "equals": "x"}], "filter[0].header:"),
    ([{"header": "Authorization", "exists": True}], "filter[0].header: Authorization holds credentials"),
    ([{"body": "", "equals": "x"}], "filter[0].body: path is empty"),
    ([{"query": "a..b", "equals": "x"}], "filter[0].query: path 'a..b' is malformed"),
    (
        [{"body": "a", "equals": [1]}],
        "filter[0].equals: must be a string, number, boolean or null, not a list",
    ),
    (
        [{"body": "a", "equals": {"k": 1}}],
        "filter[0].equals: must be a string, number, boolean or null, not a",
    ),
    ([{"body": "a", "equals": float("nan")}], "filter[0].equals: must be a finite number"),
    ([{"header": "X-N", "equals": 1}], 'filter[0].equals: header values are strings: quote it ("1")'),
    ([{"query": "n", "equals": None}], "filter[0].equals: query values are strings"),
    ([{"query": "n", "in": ["a", 2]}], "filter[0].in[1]: query values are strings"),
    ([{"body": "a", "in": []}], "filter[0].in: must be a non-empty list"),
    ([{"body": "a", "not_in": "x"}], "filter[0].not_in: must be a non-empty list"),
    ([{"body": "a", "in": list(range(257))}], "filter[0].in: has 257 values, at most 256"),
    ([{"body": "a", "in": [[1]]}], "filter[0].in[0]: must be a string, number"),
    ([{"body": "a", "exists": 1}], "filter[0].exists: must be true or false"),
    ([{"body": "a", "exists": "yes"}], "filter[0].exists: must be true or false"),
    ([{"body": "a", "matches": 5}], "filter[0].matches: must be a non-empty pattern string"),
    ([{"body": "a", "matches": "a" * 257}], "filter[0].matches: pattern is longer than 256"),
    (
        [{"body": "a", "matches": "(unclosed"}],
        "filter[0].matches: '(unclosed' is not a regular expression RE2",
    ),
]


@pytest.mark.parametrize(("doc", "message"), INVALID)
def test_parse_filter_invalid_document_names_location(doc: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_filter(doc)
    assert str(info.value).startswith(message)


def test_parse_filter_where_prefixes_message() -> None:
    with pytest.raises(ConfigError, match=r"^webhooks\[2\]\.filter\[0\]: give exactly one of header"):
        parse_filter([{"equals": 1}], where="webhooks[2].filter")


# -- matches: RE2 ------------------------------------------------------------------------

ACCEPTED = [
    r"refs/heads/(main|release-.*)",
    r"[a-z]+_[0-9]{1,4}",
    r"v\d+\.\d+",
    r"v\d+\.\d+\.\d+",
    r"v\d+(\.\d+)?",
    r"(a|b)+",
    r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}",
    r"[^/]+/[^/]+/.*",
    r"(?i)push|pull_request",
    r"(?P<name>[a-z]+)-\pN+",
    # backtracking engines take exponential or polynomial time on these; RE2 is linear
    r"(a+)+",
    r"(a*)*",
    r"(\w+\s?)*",
    r"(a|aa)+",
    r"(\d{1,3}\.){3}\d{1,3}",
    r".*.*",
    r".*.*x",  # issue #28: accepted by the old guard although the README said refused
    r".*.*.*x",
    r".*-.*-.*",
    r".*.*.{64}x",
    r"[ab]*a[ab]{1000}",  # RE2's own worst kind: a DFA too big for its memory, run as an NFA
    r"(?:[a-z]{1,1000}|\w{1,1000}|.{1,1000})*y",
]

REFUSED = [
    (r"(a)\1", "invalid escape sequence: \\1"),
    (r"(?P<x>a)(?P=x)", "invalid perl operator: (?P"),
    (r"(a)?(?(1)b|c)", "invalid perl operator: (?("),
    (r"(?=a).*", "invalid perl operator: (?="),
    (r"(?!a).*", "invalid perl operator: (?!"),
    (r"(?<=a)b", "invalid perl operator: (?<="),
    (r"(?<!a)b", "invalid perl operator: (?<!"),
    # issue #28: a fixed repeat inside a lookahead, cubic on Python's re (seconds at 4 KiB)
    (r".*.*(?=\w{300}\W)x", "invalid perl operator: (?="),
    (r"a++", "bad repetition operator: ++"),
    (r"(?>a)", "invalid perl operator: (?>"),
    (r"a{1001}", "invalid repetition size: {1001}"),
    (r"(?:a{100}){100}", "invalid repetition size: {100}"),
    (r"\Z", "invalid escape sequence: \\Z"),
    (r"\pL{1000}", "pattern too large"),
]


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_parse_filter_ordinary_pattern_is_accepted(pattern: str) -> None:
    (cond,) = parse_filter([{"body": "a", "matches": pattern}])
    assert cond.value == pattern


@pytest.mark.parametrize(("pattern", "why"), REFUSED)
def test_parse_filter_pattern_re2_refuses_is_config_error(pattern: str, why: str) -> None:
    with pytest.raises(ConfigError, match=r"^filter\[0\]\.matches: ") as info:
        parse_filter([{"body": "a", "matches": pattern}])
    message = str(info.value)
    assert why in message
    assert "is not a regular expression RE2 accepts" in message
    assert "no backreferences, lookarounds" in message


def test_parse_filter_stored_pattern_re2_refuses_never_holds(caplog: pytest.LogCaptureFixture) -> None:
    # stored before patterns ran on RE2: the webhook still loads, and its filter fails closed
    conditions = parse_filter([{"body": "a", "matches": "(?=a).*"}], stored=True)
    assert filter_document(conditions) == [{"body": "a", "matches": "(?=a).*"}]
    assert "invalid perl operator: (?=" in caplog.text and "never holds" in caplog.text
    for value in ("a", "ab", ""):
        failure = first_failure(conditions, Headers(), {}, {"a": value})
        assert failure is not None and failure.reason == "condition 1 (body a matches) does not hold"
    with pytest.raises(ConfigError, match="must be a non-empty pattern string"):
        parse_filter([{"body": "a", "matches": 5}], stored=True)


ADVERSARIAL = [
    "a" * MAX_MATCH_SUBJECT,
    "x" * MAX_MATCH_SUBJECT,
    "a" * (MAX_MATCH_SUBJECT - 1) + "!",
    "1" * (MAX_MATCH_SUBJECT - 1) + "x",
    "v" + "1." * (MAX_MATCH_SUBJECT // 2 - 1) + "x",
    "/" * MAX_MATCH_SUBJECT,
    "refs/heads/release-" + "-" * (MAX_MATCH_SUBJECT - 20),
    ("ab" * MAX_MATCH_SUBJECT)[: MAX_MATCH_SUBJECT - 1] + "\n",
]


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_first_failure_adversarial_subjects_on_accepted_patterns_finish(pattern: str) -> None:
    conditions = parse_filter([{"body": "a", "matches": pattern}])
    for subject in ADVERSARIAL:
        assert len(subject) <= MAX_MATCH_SUBJECT
        failure = first_failure(conditions, Headers(), {}, {"a": subject})
        assert failure is None or failure.detail.startswith("body a is ")


@pytest.mark.parametrize(
    ("pattern", "subject", "holds"),
    [
        (r".*.*x", "a" * 1023 + "x", True),
        (r".*.*x", "a" * 1024, False),
        (r"(a+)+", "a" * MAX_MATCH_SUBJECT, True),
        (r"(a+)+", "a" * (MAX_MATCH_SUBJECT - 1) + "!", False),
        (r".*.*.{64}x", "a" * (MAX_MATCH_SUBJECT - 1) + "x", True),
        (r"heads/dev", "refs/heads/dev", False),  # a full match, not a search
        (r"a|b", "ab", False),  # the whole pattern is anchored, not its first branch
        (r"a$", "a\n", False),  # no trailing newline slips through
        (r"\d+", "\u0661\u0662", False),  # \d is ASCII in RE2
        (r"\pN+", "\u0661\u0662", True),
        (r"(?i)é", "É", True),
        (r"caf.", "café", True),  # . is a character, not a byte
    ],
)
def test_first_failure_matches_semantics(pattern: str, subject: str, holds: bool) -> None:
    failure = first_failure(parse_filter([{"body": "a", "matches": pattern}]), Headers(), {}, {"a": subject})
    assert (failure is None) is holds


def test_first_failure_lone_surrogate_fails_the_match() -> None:
    conditions = parse_filter([{"body": "a", "matches": ".*"}])
    failure = first_failure(conditions, Headers(), {}, {"a": "x\ud800"})
    assert failure is not None
    assert failure.detail == "body a is 'x\\ud800', which is not valid Unicode to match"


# -- first_failure ---------------------------------------------------------------------

GITHUB_HEADERS = Headers([("X-GitHub-Event", "push"), ("Content-Type", "application/json")])
GITHUB_BODY = {"ref": "refs/heads/dev", "deleted": False, "repository": {"full_name": "o/r"}, "after": None}
STRIPE_BODY = {"id": "evt_1", "type": "ping", "data": {"object": {"amount": 1000, "livemode": True}}}
SLACK_FORM = {"command": "/deploy", "text": "prod now", "team_domain": "acme"}

EVALUATED = [
    # GitHub
    ([{"header": "x-github-event", "equals": "push"}], GITHUB_HEADERS, GITHUB_BODY, None),
    ([{"header": "X-GitHub-Event", "not_in": ["ping"]}], GITHUB_HEADERS, GITHUB_BODY, None),
    (
        [{"header": "X-GitHub-Delivery", "exists": True}],
        GITHUB_HEADERS,
        GITHUB_BODY,
        "header X-GitHub-Delivery is missing",
    ),
    (
        [{"header": "X-GitHub-Delivery", "not_in": ["x"]}],
        GITHUB_HEADERS,
        GITHUB_BODY,
        "header X-GitHub-Delivery is missing",
    ),
    (
        [{"body": "ref", "equals": "refs/heads/main"}],
        GITHUB_HEADERS,
        GITHUB_BODY,
        "body ref is 'refs/heads/dev', not 'refs/heads/main'",
    ),
    ([{"body": "ref", "matches": "refs/heads/(main|dev)"}], GITHUB_HEADERS, GITHUB_BODY, None),
    (
        [{"body": "ref", "matches": "heads/dev"}],  # a full match, not a search
        GITHUB_HEADERS,
        GITHUB_BODY,
        "body ref is 'refs/heads/dev', which does not match 'heads/dev'",
    ),
    ([{"body": "deleted", "equals": False}], GITHUB_HEADERS, GITHUB_BODY, None),
    ([{"body": "deleted", "equals": 0}], GITHUB_HEADERS, GITHUB_BODY, "body deleted is False, not 0"),
    ([{"body": "after", "exists": True}], GITHUB_HEADERS, GITHUB_BODY, None),  # null exists
    ([{"body": "after", "equals": None}], GITHUB_HEADERS, GITHUB_BODY, None),
    ([{"body": "after", "exists": False}], GITHUB_HEADERS, GITHUB_BODY, "body after is present"),
    ([{"body": "nope", "exists": False}], GITHUB_HEADERS, GITHUB_BODY, None),
    ([{"body": "nope", "equals": None}], GITHUB_HEADERS, GITHUB_BODY, "body nope is missing"),
    (
        [{"body": "repository", "equals": "o/r"}],
        GITHUB_HEADERS,
        GITHUB_BODY,
        "body repository is {'full_name': 'o/r'}, not 'o/r'",
    ),
    (
        [{"body": "repository", "matches": ".*"}],
        GITHUB_HEADERS,
        GITHUB_BODY,
        "body repository is {'full_name': 'o/r'}, not a string to match",
    ),
    (
        [{"header": "X-GitHub-Event", "equals": "push"}, {"body": "ref", "in": ["refs/heads/main"]}],
        GITHUB_HEADERS,
        GITHUB_BODY,
        "body ref is 'refs/heads/dev', not one of ['refs/heads/main']",
    ),
    # Stripe
    (
        [{"body": "type", "in": ["payment_intent.succeeded"]}],
        Headers(),
        STRIPE_BODY,
        "body type is 'ping', not one of ['payment_intent.succeeded']",
    ),
    (
        [{"body": "type", "not_in": ["ping", "x"]}],
        Headers(),
        STRIPE_BODY,
        "body type is 'ping', one of the excluded ['ping', 'x']",
    ),
    ([{"body": "data.object.amount", "equals": 1000.0}], Headers(), STRIPE_BODY, None),  # numbers by value
    (
        [{"body": "data.object.amount", "in": ["1000"]}],
        Headers(),
        STRIPE_BODY,
        "body data.object.amount is 1000, not one of ['1000']",
    ),
    (
        [{"body": "data.object.livemode", "equals": 1}],
        Headers(),
        STRIPE_BODY,
        "body data.object.livemode is True, not 1",
    ),
    ([{"body": "data.object.livemode", "in": [True]}], Headers(), STRIPE_BODY, None),
    ([{"body": "[0]", "exists": True}], Headers(), STRIPE_BODY, "body [0] is missing"),
    # Slack (form body)
    ([{"body": "command", "equals": "/deploy"}], Headers(), SLACK_FORM, None),
    ([{"body": "text", "matches": r"prod( now)?"}], Headers(), SLACK_FORM, None),
    (
        [{"body": "team_domain", "in": ["other"]}],
        Headers(),
        SLACK_FORM,
        "body team_domain is 'acme', not one of ['other']",
    ),
    # empty body
    ([{"body": "a", "exists": False}], Headers(), None, None),
    ([{"body": "a", "equals": "x"}], Headers(), None, "body a is missing"),
    ([], Headers(), None, None),
]


@pytest.mark.parametrize(("doc", "headers", "body", "expected"), EVALUATED)
def test_first_failure_table(doc: object, headers: Headers, body: object, expected: str | None) -> None:
    failure = first_failure(parse_filter(doc), headers, {}, body)
    assert (failure and failure.detail) == expected


QUERY = {"env": "prod", "tag": ["a", "b"], "user": {"name": "ann"}}


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"query": "env", "equals": "prod"}, None),
        ({"query": "env", "in": ["dev", "prod"]}, None),
        ({"query": "tag[1]", "equals": "b"}, None),
        ({"query": "tag", "equals": "a"}, "query tag is ['a', 'b'], not 'a'"),
        ({"query": "user.name", "matches": "[a-z]+"}, None),
        ({"query": "missing", "exists": True}, "query missing is missing"),
    ],
)
def test_first_failure_query_table(doc: dict[str, object], expected: str | None) -> None:
    failure = first_failure(parse_filter([doc]), Headers(), QUERY, None)
    assert (failure and failure.detail) == expected


def test_first_failure_repeated_header_is_its_values_combined() -> None:
    # RFC 9110 §5.3, as delivery keys and trigger variables read it (no longer the first value)
    headers = Headers([("X-Event", "push"), ("x-event", "ping")])
    combined = parse_filter([{"header": "X-EVENT", "equals": "push, ping"}])
    assert first_failure(combined, headers, {}, None) is None
    failure = first_failure(parse_filter([{"header": "X-Event", "equals": "push"}]), headers, {}, None)
    assert failure is not None
    assert failure.detail == "header X-Event is 'push, ping', not 'push'"
    assert failure.reason == "condition 1 (header X-Event equals) does not hold"


def test_first_failure_long_value_is_truncated() -> None:
    failure = first_failure(parse_filter([{"body": "a", "equals": "x"}]), Headers(), {}, {"a": "y" * 10_000})
    assert failure is not None
    assert failure.detail == "body a is '" + "y" * 79 + "..., not 'x'"


def test_first_failure_huge_values_are_shown_bounded() -> None:
    body = {"a": list(range(100_000)), "b": 10**5000, "c": [[[[[]]]]] * 1000}
    for path in ("a", "b", "c"):
        failure = first_failure(parse_filter([{"body": path, "equals": "x"}]), Headers(), {}, body)
        assert failure is not None
        assert len(failure.detail) < 200 and len(failure.reason) < 200


def test_first_failure_subject_too_long_to_match() -> None:
    conditions = parse_filter([{"body": "a", "matches": "a*"}])
    assert first_failure(conditions, Headers(), {}, {"a": "a" * MAX_MATCH_SUBJECT}) is None
    failure = first_failure(conditions, Headers(), {}, {"a": "a" * (MAX_MATCH_SUBJECT + 1)})
    assert failure is not None
    assert failure.detail == f"body a is too long to match ({MAX_MATCH_SUBJECT + 1} characters, at most 4096)"


# -- round trip and properties ---------------------------------------------------------


def test_filter_document_round_trip_table() -> None:
    docs = [doc for doc, _ in VALID]
    conditions = parse_filter(docs)
    assert parse_filter(filter_document(conditions)) == conditions
    assert filter_document(conditions)[5] == {"body": "type", "in": ["a", "b"]}
    assert json.loads(json.dumps(filter_document(conditions))) == filter_document(conditions)


_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["a", "b", "ref", "0"]), inner)
    ),
    max_leaves=20,
)
_paths = st.sampled_from(["a", "b", "a.b", "a[0]", "[0]", "ref", 'a["x y"]', "b.0", "a[1].b"])


@st.composite
def _condition_docs(draw: st.DrawFn) -> dict[str, object]:
    source = draw(st.sampled_from(["header", "query", "body"]))
    target = draw(st.sampled_from(["X-Event", "content-type"])) if source == "header" else draw(_paths)
    op = draw(st.sampled_from(["equals", "in", "not_in", "exists", "matches"]))
    values = st.text() if source != "body" else _scalars
    if op == "equals":
        value: object = draw(values)
    elif op in ("in", "not_in"):
        value = draw(st.lists(values, min_size=1, max_size=5))
    elif op == "exists":
        value = draw(st.booleans())
    else:
        value = draw(st.sampled_from(ACCEPTED))
    return {source: target, op: value}


_headers = st.lists(st.tuples(st.sampled_from(["X-Event", "x-event", "Other"]), st.text()), max_size=4)


@given(st.lists(_condition_docs(), max_size=5), _headers, _json, _json)
def test_first_failure_never_raises(
    docs: list[dict[str, object]], headers: list[tuple[str, str]], query: object, body: object
) -> None:
    failure = first_failure(parse_filter(docs), Headers(headers), query, body)
    assert failure is None or isinstance(failure.reason, str)


@given(st.lists(_condition_docs(), max_size=5))
def test_filter_document_round_trips(docs: list[dict[str, object]]) -> None:
    conditions = parse_filter(docs)
    assert parse_filter(filter_document(conditions)) == conditions


@given(
    _json
    | st.lists(st.dictionaries(st.sampled_from(["body", "header", "equals", "matches", "in", "x"]), _json))
)
def test_parse_filter_junk_raises_only_config_error(doc: object) -> None:
    with contextlib.suppress(ConfigError):
        parse_filter(doc)


@given(st.text(alphabet="ab()[]{}*+?|\\.^$-,0123dws", max_size=24))
def test_parse_filter_any_pattern_is_accepted_or_refused(pattern: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # re's "possible nested set"
        try:
            (cond,) = parse_filter([{"body": "a", "matches": pattern}])
        except ConfigError:
            return
    for subject in ADVERSARIAL:
        failure = first_failure((cond,), Headers(), {}, {"a": subject})
        assert failure is None or isinstance(failure.reason, str)


@pytest.mark.parametrize(
    "condition",
    [
        {"header": "X-Token", "equals": "s3cret-token"},
        {"header": "X-Token", "in": ["s3cret-token", "other-s3cret"]},
        {"header": "X-Token", "not_in": ["guess"]},
        {"header": "X-Token", "matches": "s3cret-[a-z]+"},
    ],
)
def test_first_failure_shared_secret_filter_reason_reveals_no_value(condition: dict[str, object]) -> None:
    # a filter used as a shared-secret check: the caller must learn neither the expected
    # value nor (echoed back) its own guess; the record's detail keeps both for operators
    failure = first_failure(parse_filter([condition]), Headers([("X-Token", "guess")]), {}, None)
    assert failure is not None
    assert "s3cret" not in failure.reason and "guess" not in failure.reason
    assert failure.reason.startswith("condition 1 (header X-Token ")
    assert "guess" in failure.detail
