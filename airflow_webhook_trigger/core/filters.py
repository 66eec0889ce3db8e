"""Filters: conditions on the parsed request that must all hold for a run to start.

A webhook's ``filter`` is a list of conditions, each naming one value of
the request (``header: NAME``, ``query: PATH`` or ``body: PATH``, paths as in
:mod:`airflow_webhook_trigger.core.paths`) and one operator::

    filter:
      - {header: X-GitHub-Event, equals: push}
      - {body: ref, equals: refs/heads/main}
      - {body: type, in: [payment_intent.succeeded]}
      - {body: deleted, exists: false}
      - {body: ref, matches: "refs/heads/(main|release-.*)"}

Typing, decided once for every operator:

- Header and query values are always strings, so ``equals``, ``in`` and ``not_in`` on a
  header or the query take strings only (``equals: 1`` is refused: write ``"1"``).
- Body values compare by JSON type: a string equals only a string, a boolean only a
  boolean, ``null`` only ``null``, and a number only a number, by value (``1`` equals
  ``1.0``; ``true`` never equals ``1``). An object or array never equals a scalar. A form
  body holds strings, like the query.
- A missing value fails every operator but ``exists: false`` (``not_in`` included); a JSON
  ``null`` is a value, so it exists. A repeated header is judged by its values joined
  with ``", "`` (RFC 9110 §5.3), as delivery keys and trigger variables read it.

``matches`` runs on RE2 (``google-re2``), whose time is linear in the value's length
whatever the pattern: a pattern comes from whoever may write a webhook, and Python's
backtracking ``re`` holds the GIL (the whole api-server) for as long as it tries. The
pattern must match the whole value (``fullmatch``, as ``\\A(?:pattern)\\z`` would). RE2's
syntax is Python's less what needs backtracking: no backreferences (``\\1``,
``(?P=n)``), lookarounds (``(?=``, ``(?!``, ``(?<=``, ``(?<!``), conditionals, possessive
quantifiers or atomic groups, no ``(?x)``, ``\\z`` for Python's ``\\Z``, and a repeat count
of at most 1000. ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII (``\\pN``, ``\\pL`` are
Unicode's). A pattern RE2 refuses is a :class:`ConfigError`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol, TypeAlias

import re2

from airflow_webhook_trigger.core.errors import ConfigError
from airflow_webhook_trigger.core.paths import ABSENT, Segment, parse_path, render_path
from airflow_webhook_trigger.core.request import Headers
from airflow_webhook_trigger.core.selectors import HEADER_NAME_RE, select

__all__ = [
    "MAX_CONDITIONS",
    "MAX_MATCH_SUBJECT",
    "MAX_PATTERN_LENGTH",
    "MAX_VALUES",
    "Condition",
    "FilterFailure",
    "filter_document",
    "first_failure",
    "parse_filter",
]

log = logging.getLogger(__name__)

Source: TypeAlias = Literal["header", "query", "body"]
Operator: TypeAlias = Literal["equals", "in", "not_in", "exists", "matches"]

SOURCES: Final[tuple[Source, ...]] = ("header", "query", "body")
OPERATORS: Final[tuple[Operator, ...]] = ("equals", "in", "not_in", "exists", "matches")
#: most conditions in one filter
MAX_CONDITIONS: Final = 32
#: most values in an ``in`` / ``not_in`` list
MAX_VALUES: Final = 256
#: most characters in a ``matches`` pattern
MAX_PATTERN_LENGTH: Final = 256
#: longest string ``matches`` looks at; longer values fail the condition
MAX_MATCH_SUBJECT: Final = 4096

# Credentials are auth's business; a filter on them would copy them into reasons and records.
_CREDENTIAL_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SHOWN: Final = 80
#: memory RE2 may use for one pattern (its compiled program and its DFA caches); a bigger
#: program is refused at compile time, a full cache makes RE2 fall back to its NFA (still linear)
_MAX_MEMORY: Final = 1 << 20


class Regex(Protocol):
    """A compiled RE2 pattern: the part of ``re2._Regexp`` filters use."""

    @property
    def pattern(self) -> str: ...

    def fullmatch(self, text: str) -> object: ...


@dataclass(frozen=True)
class Condition:
    """One validated condition of a filter.

    :param source: which part of the request is read
    :param path: the header name as configured, or the canonical text of the path
    :param segments: the parsed path; ``()`` for a header
    :param op: the operator
    :param value: a JSON scalar for ``equals``; a tuple of them for ``in`` / ``not_in``;
        a bool for ``exists``; the pattern for ``matches``
    """

    source: Source
    path: str
    segments: tuple[Segment, ...]
    op: Operator
    value: object
    _regex: Regex | None = field(default=None, compare=False, repr=False)
    # Python's == says True == 1; two configurations that differ so must not compare equal.
    _typed: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_typed", json.dumps(self.value, default=repr))


def parse_filter(value: object, where: str = "filter", *, stored: bool = False) -> tuple[Condition, ...]:
    """Validate a webhook's ``filter`` document.

    :param value: the list of conditions from YAML or JSON; ``None`` or ``[]`` is no filter
    :param where: the document's location, for messages
    :param stored: read back from the store: a ``matches`` pattern stored before patterns
        ran on RE2, and refused by it, is kept as a condition that never holds (fail
        closed, with a warning) rather than making the whole webhook unreadable
    :return: the conditions, in order
    :raises ConfigError: a condition is malformed; the message names it, e.g.
        ``filter[1]: give exactly one of header, query, body``
    """
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise _err(where, "must be a list of conditions")
    if len(value) > MAX_CONDITIONS:
        raise _err(where, f"has {len(value)} conditions, at most {MAX_CONDITIONS}")
    return tuple(_condition(item, f"{where}[{i}]", stored) for i, item in enumerate(value))


def filter_document(conditions: Sequence[Condition]) -> list[dict[str, object]]:
    """The declarative form of a filter: ``parse_filter(filter_document(c)) == c``.

    :param conditions: as returned by :func:`parse_filter`
    :return: one mapping per condition
    """
    out: list[dict[str, object]] = []
    for cond in conditions:
        value = list(cond.value) if isinstance(cond.value, tuple) else cond.value
        out.append({cond.source: cond.path, cond.op: value})
    return out


@dataclass(frozen=True)
class FilterFailure:
    """Why a request's filter left it out, told two ways.

    ``reason`` goes to the caller, who may be anyone: which condition failed, never a
    configured value (a filter may be a shared-secret check) nor the value seen.
    ``detail`` goes to the delivery record, for operators: the value seen and the one expected.
    """

    reason: str
    detail: str


def first_failure(
    conditions: Sequence[Condition], headers: Headers, query: object, body: object
) -> FilterFailure | None:
    """Judge a request by its filter; never raises.

    :param conditions: as returned by :func:`parse_filter`
    :param headers: the request's headers
    :param query: the parsed query (``dict`` of strings, lists and dicts)
    :param body: the parsed body: any JSON value, ``None`` when empty, or a form's ``dict``
    :return: ``None`` if every condition holds, else the first failure, e.g. reason
        ``"condition 2 (body ref equals) does not hold"``, detail
        ``"body ref is 'refs/heads/dev', not 'refs/heads/main'"``
    """
    for number, cond in enumerate(conditions, start=1):
        actual = select(cond.source, cond.path, cond.segments, headers=headers, query=query, body=body)
        why = _judge(cond, actual)
        if why is not None:
            return FilterFailure(
                reason=f"condition {number} ({cond.source} {cond.path} {cond.op}) does not hold",
                detail=f"{cond.source} {cond.path} {why}",
            )
    return None


# --------------------------------------------------------------------------- parsing


def _err(where: str, why: str) -> ConfigError:
    return ConfigError(f"{where}: {why}")


def _condition(item: object, where: str, stored: bool = False) -> Condition:
    if not isinstance(item, Mapping):
        raise _err(where, "must be a mapping")
    for key in item:
        if not isinstance(key, str):
            raise _err(where, f"key {key!r} must be a string")
    allowed = (*SOURCES, *OPERATORS)
    unknown = sorted(set(item) - set(allowed))
    if unknown:
        raise _err(where, f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    sources = [s for s in SOURCES if s in item]
    if len(sources) != 1:
        raise _err(where, f"give exactly one of {', '.join(SOURCES)}")
    ops = [o for o in OPERATORS if o in item]
    if len(ops) != 1:
        raise _err(where, f"give exactly one of {', '.join(OPERATORS)}")
    source, op = sources[0], ops[0]
    path, segments = _target(source, item[source], f"{where}.{source}")
    raw, here = item[op], f"{where}.{op}"
    regex = None
    if op == "equals":
        value: object = _scalar(raw, source, here)
    elif op in ("in", "not_in"):
        value = _scalars(raw, source, here)
    elif op == "exists":
        if not isinstance(raw, bool):
            raise _err(here, "must be true or false")
        value = raw
    else:
        try:
            regex = _pattern(raw, here)
        except ConfigError as exc:
            if not (stored and isinstance(raw, str)):
                raise
            log.warning("%s; until it is changed, the condition never holds", exc)
            value = raw
        else:
            value = regex.pattern
    return Condition(source, path, segments, op, value, regex)


def _target(source: Source, raw: object, where: str) -> tuple[str, tuple[Segment, ...]]:
    if not isinstance(raw, str):
        raise _err(where, "must be a string")
    if source == "header":
        if not HEADER_NAME_RE.match(raw):
            raise _err(where, f"{raw[:_SHOWN]!r} is not a valid header name")
        if raw.lower() in _CREDENTIAL_HEADERS:
            raise _err(where, f"{raw} holds credentials and cannot be filtered on (auth checks it)")
        return raw, ()
    try:
        segments = parse_path(raw)
    except ConfigError as exc:
        raise _err(where, str(exc)) from None
    return render_path(segments), segments


def _scalar(raw: object, source: Source, where: str) -> object:
    if source != "body" and not isinstance(raw, str):
        raise _err(where, f"{source} values are strings: quote it ({json.dumps(str(raw)[:_SHOWN])})")
    if raw is None or isinstance(raw, str | bool | int):
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise _err(where, "must be a finite number")
        return raw
    kind = "a list" if isinstance(raw, list | tuple) else "a mapping" if isinstance(raw, Mapping) else None
    raise _err(where, f"must be a string, number, boolean or null, not {kind or type(raw).__name__}")


def _scalars(raw: object, source: Source, where: str) -> tuple[object, ...]:
    if not isinstance(raw, list | tuple) or not raw:
        raise _err(where, "must be a non-empty list")
    if len(raw) > MAX_VALUES:
        raise _err(where, f"has {len(raw)} values, at most {MAX_VALUES}")
    return tuple(_scalar(v, source, f"{where}[{i}]") for i, v in enumerate(raw))


def _pattern(raw: object, where: str) -> Regex:
    if not isinstance(raw, str) or not raw:
        raise _err(where, "must be a non-empty pattern string")
    if len(raw) > MAX_PATTERN_LENGTH:
        raise _err(where, f"pattern is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return _compile(raw)
    except re2.error as exc:
        why = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise _err(
            where,
            f"{raw!r} is not a regular expression RE2 accepts: {why} (RE2 has no backreferences, "
            "lookarounds, possessive quantifiers or atomic groups, and repeats at most {1000})",
        ) from None


def _compile(pattern: str) -> Regex:
    options = re2.Options()
    options.log_errors = False  # the message is the caller's; RE2 would also print it to stderr
    options.max_mem = _MAX_MEMORY
    regex: Regex = re2.compile(pattern, options)
    return regex


# --------------------------------------------------------------------------- judging


def _judge(cond: Condition, actual: object) -> str | None:
    if cond.op == "exists":
        if cond.value is (actual is ABSENT):
            return "is missing" if cond.value else "is present"
        return None
    if actual is ABSENT:
        return "is missing"
    if cond.op == "equals":
        return None if _same(actual, cond.value) else f"is {_show(actual)}, not {_show(cond.value)}"
    if cond.op in ("in", "not_in"):
        options = cond.value if isinstance(cond.value, tuple) else ()
        found = any(_same(actual, option) for option in options)
        if found == (cond.op == "in"):
            return None
        which = "not one of" if cond.op == "in" else "one of the excluded"
        return f"is {_show(actual)}, {which} {_show(list(options))}"
    if not isinstance(actual, str):
        return f"is {_show(actual)}, not a string to match"
    if len(actual) > MAX_MATCH_SUBJECT:
        return f"is too long to match ({len(actual)} characters, at most {MAX_MATCH_SUBJECT})"
    try:
        if cond._regex is not None and cond._regex.fullmatch(actual):
            return None
    except UnicodeEncodeError:  # a lone surrogate (from a %-escape or a header): no UTF-8 to match
        return f"is {_show(actual)}, which is not valid Unicode to match"
    return f"is {_show(actual)}, which does not match {_show(cond.value)}"


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _same(actual: object, expected: object) -> bool:
    return _kind(actual) == _kind(expected) and actual == expected


def _show(value: object) -> str:
    parts: list[str] = []
    _render(value, parts, [_SHOWN + 1])
    text = "".join(parts)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _render(value: object, parts: list[str], budget: list[int]) -> None:
    # repr-like, but stops once the budget is spent: a body can be megabytes, and each
    # level of nesting spends at least one character, so the recursion is bounded too.
    if budget[0] <= 0:
        return
    if isinstance(value, str):
        text = repr(value[: budget[0]])
    elif isinstance(value, dict | list | tuple):
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        parts.append(opening)
        budget[0] -= 1
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for i, (key, item) in enumerate(items):
            if budget[0] <= 0:
                return
            if i:
                parts.append(", ")
                budget[0] -= 2
            if isinstance(value, dict):
                _render(key, parts, budget)
                parts.append(": ")
                budget[0] -= 2
            _render(item, parts, budget)
        text = closing
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        text = f"<an integer of {value.bit_length()} bits>"  # str() refuses > 4300 digits
    else:
        text = repr(value)
    parts.append(text)
    budget[0] -= len(text)
