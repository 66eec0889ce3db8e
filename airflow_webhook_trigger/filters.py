"""Filters: conditions on the parsed request that must all hold for a run to start.

PRODUCT.md §11. A webhook's ``filter`` is a list of conditions, each naming one value of
the request (``header: NAME``, ``query: PATH`` or ``body: PATH``, paths as in
:mod:`airflow_webhook_trigger.paths`) and one operator::

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
  ``null`` is a value, so it exists. A repeated header is judged by its first value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

from airflow_webhook_trigger.errors import ConfigError
from airflow_webhook_trigger.paths import ABSENT, Segment, lookup, parse_path, render_path
from airflow_webhook_trigger.request import Headers

try:  # the stdlib's own regex parser: what re.compile builds is what gets checked
    import re._parser as _sre_parse  # Python >= 3.11
except ImportError:  # pragma: no cover - Python 3.10, where sre_parse is not yet deprecated
    import sre_parse as _sre_parse

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

# RFC 9110 §5.1: field names are tokens.
_HEADER_NAME: Final = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}\Z")
# Credentials are auth's business; a filter on them would copy them into reasons and records.
_CREDENTIAL_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SHOWN: Final = 80
_REPEATS: Final = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})
_ONE_CHARACTER: Final = frozenset({"LITERAL", "NOT_LITERAL", "IN"})
# Paths a backtracking match may explore, estimated by _paths(): two unbounded
# quantifiers over the same characters (``.*.*``) on a capped subject, measured at ~0.05 s.
_MAX_PATHS: Final = (MAX_MATCH_SUBJECT + 1) ** 2


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
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    # Python's == says True == 1; two configurations that differ so must not compare equal.
    _typed: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_typed", json.dumps(self.value, default=repr))


def parse_filter(value: object, where: str = "filter") -> tuple[Condition, ...]:
    """Validate a webhook's ``filter`` document.

    :param value: the list of conditions from YAML or JSON; ``None`` or ``[]`` is no filter
    :param where: the document's location, for messages
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
    return tuple(_condition(item, f"{where}[{i}]") for i, item in enumerate(value))


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
        if cond.source == "header":
            values = headers.get_all(cond.path)
            actual: object = values[0] if values else ABSENT
        else:
            actual = lookup(query if cond.source == "query" else body, cond.segments)
        why = _judge(cond, actual)
        if why is not None:
            return FilterFailure(
                reason=f"condition {number} ({cond.source} {cond.path} {cond.op}) does not hold",
                detail=f"{cond.source} {cond.path} {why}",
            )
    return None


# --------------------------------------------------------------------------- parsing

# Nodes of the stdlib regex parser are untyped: (opcode, argument) pairs, read by name.


def _err(where: str, why: str) -> ConfigError:
    return ConfigError(f"{where}: {why}")


def _condition(item: object, where: str) -> Condition:
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
        regex = _pattern(raw, here)
        value = regex.pattern
    return Condition(source, path, segments, op, value, regex)


def _target(source: Source, raw: object, where: str) -> tuple[str, tuple[Segment, ...]]:
    if not isinstance(raw, str):
        raise _err(where, "must be a string")
    if source == "header":
        if not _HEADER_NAME.match(raw):
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


def _pattern(raw: object, where: str) -> re.Pattern[str]:
    if not isinstance(raw, str) or not raw:
        raise _err(where, "must be a non-empty pattern string")
    if len(raw) > MAX_PATTERN_LENGTH:
        raise _err(where, f"pattern is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        regex = re.compile(raw)
    except (re.error, RecursionError, OverflowError) as exc:
        raise _err(where, f"{raw!r} is not a valid regular expression: {exc}") from None
    # Python's re has no timeout and backtracks, so a pattern that can try exponentially
    # (or high-polynomially) many ways to match would hold a worker; refuse those here.
    try:
        paths = _paths(_sre_parse.parse(raw))
    except _Refused as exc:
        raise _err(where, f"{raw!r} {exc}") from None
    if paths > _MAX_PATHS:
        raise _err(
            where,
            f"{raw!r} could backtrack through too many ways to match (quantifiers over the same "
            "characters in a row, like .*.*.*): bound them ({1,64}) or separate them by a literal",
        )
    return regex


class _Refused(Exception):
    pass


def _paths(items: Any) -> int:
    """An upper bound on the ways a backtracking match of ``items`` can go.

    Rules (each quantifier is capped by :data:`MAX_MATCH_SUBJECT`):

    - refused: a backreference (``\\1``, ``(?P=n)``, ``(?(1)...)``: no linear bound), and a
      group repeated more than once that holds a quantifier or an alternation (``(a+)+``,
      ``(a*)*``, ``(\\w+\\s?)*``, ``(a|aa)+``: exponential). ``(\\.\\d+)?`` is fine: once.
      (The parser folds ``(a|b)+`` into the set ``[ab]+``, which is safe and accepted.)
    - a sequence multiplies its items' counts, alternatives add theirs;
    - but a run of single characters with one quantifier over a character class, followed
      right away by an ASCII punctuation literal the class cannot match (``\\d+\\.``,
      ``[a-z]+_``), can reach that literal only one way, so the count restarts there:
      ``v\\d+\\.\\d+\\.\\d+`` is linear, ``.*-.*-.*`` is cubic.
    """
    total, run, repeats, clean = 0, 1, 0, True
    before: Any = None  # the class of the item just before, if it was a clean quantifier
    for op, av in items:
        name = str(op)
        if name.startswith("GROUPREF"):
            raise _Refused("uses a backreference, which can take exponential time to match")
        if name == "LITERAL" and clean and repeats == 1 and before is not None and _excludes(before, av):
            total, run, repeats, before = total + run, 1, 0, None
            continue
        count, before = 1, None
        if name in _REPEATS:
            low, high, sub = av
            if high > 1 and _has_choice(sub):
                raise _Refused(
                    "repeats a group that holds a quantifier or an alternation, which can take "
                    "exponential time to match: flatten it, e.g. (a+)+ is a+"
                )
            inner = _paths(sub)
            if high > 1:
                count = (min(high, MAX_MATCH_SUBJECT) - low + 1) * inner
            else:
                count = (1 if low == 0 else 0) + inner
            repeats += 1
            sub_items = list(sub)
            if len(sub_items) == 1 and str(sub_items[0][0]) in _ONE_CHARACTER:
                before = sub_items[0]
            else:
                clean = False
        elif name == "SUBPATTERN":
            count = _paths(av[-1])
        elif name == "ATOMIC_GROUP":
            count = _paths(av)
        elif name in ("ASSERT", "ASSERT_NOT"):
            count = _paths(av[1])
        elif name == "BRANCH":
            count = sum(_paths(branch) for branch in av[1])
        if name not in _ONE_CHARACTER and name not in _REPEATS and name != "AT":
            clean = False
        run = min(run * count, _MAX_PATHS + 1)
    return min(total + run, _MAX_PATHS + 1)


def _has_choice(items: Any) -> bool:
    for op, av in items:
        name = str(op)
        if name in _REPEATS or name == "BRANCH":
            return True
        if name == "SUBPATTERN" and _has_choice(av[-1]):
            return True
        if name == "ATOMIC_GROUP" and _has_choice(av):
            return True
        if name in ("ASSERT", "ASSERT_NOT") and _has_choice(av[1]):
            return True
        if name == "GROUPREF_EXISTS":
            return True
    return False


def _excludes(item: Any, code: int) -> bool:
    """Whether a one-character matcher surely cannot match ``chr(code)``."""
    char = chr(code)
    # ASCII punctuation has no case variants, and no other character folds to it.
    if not (char.isascii() and char.isprintable() and not char.isalnum()):
        return False
    op, av = item
    name = str(op)
    if name == "LITERAL":
        return bool(av != code)
    if name == "NOT_LITERAL":
        return bool(av == code)
    if name != "IN":
        return False
    for entry_op, entry_av in av:
        entry = str(entry_op)
        if entry == "LITERAL" and entry_av != code:
            continue
        if entry == "RANGE" and not entry_av[0] <= code <= entry_av[1]:
            continue
        if entry == "CATEGORY" and str(entry_av) == "CATEGORY_DIGIT":
            continue
        if entry == "CATEGORY" and str(entry_av) == "CATEGORY_WORD" and char != "_":
            continue
        if entry == "CATEGORY" and str(entry_av) == "CATEGORY_SPACE" and char != " ":
            continue
        return False  # a negated set, another category, or the character itself
    return True


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
    if cond._regex is not None and cond._regex.fullmatch(actual):
        return None
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
