"""Strict JSON request bodies, parsed from raw bytes.

Both HTTP adapters hand the raw body here (never a framework's ``get_json()``), so a
malformed body gets the same 400 everywhere. The policy, stricter than ``json.loads``:

- **Encoding**: UTF-8 only (RFC 8259 §8.1), decoded strictly: invalid sequences and
  encoded surrogates are rejected. One leading UTF-8 byte order mark is ignored, as §8.1
  allows; UTF-16 and UTF-32 (with or without a BOM) are rejected.
- **Depth**: containers nested more than ``max_depth`` levels deep (``[]`` is one level;
  setting ``webhook_trigger.json_max_depth``) are rejected *before* ``json.loads`` runs, by
  a bounded pre-scan, so no ``RecursionError`` can happen.
- **Objects**: duplicate keys are rejected (RFC 8259 §4 leaves them undefined, and
  parsers disagree on which value wins: a signature checker and the DAG must not see
  different documents).
- **Numbers**: ``NaN``, ``Infinity`` and ``-Infinity`` are rejected (not JSON, §6);
  integers outside the signed 64-bit range and numbers that overflow a double to infinity
  (``1e400``) are rejected (§6 interoperability: they would not survive a trip through
  the metadata DB or another language's parser).
- **Strings**: ``\\u`` escapes leaving a lone surrogate (``"\\ud800"``) are rejected
  (§8.2): such a string cannot be encoded as UTF-8 later. Valid pairs are fine.
- **Top level**: any JSON value (RFC 8259 §2), not only objects and arrays.

Every failure is :class:`~airflow_webhook_trigger.core.errors.BadRequest` with a message that
never echoes the input beyond a short excerpt; nothing else escapes.

One ``json.loads`` pass does the work (an ``object_pairs_hook`` for duplicates, a
``parse_constant`` that refuses); the depth, number and surrogate checks run only when a
cheap byte scan says they can matter. How the scans work and what they cost:
docs/decisions/0014-strict-json-bodies.md.
"""

from __future__ import annotations

import enum
import json
import math
import re
from typing import Final, NoReturn

from airflow_webhook_trigger.core.errors import BadRequest, ConfigError, UnsupportedMediaType
from airflow_webhook_trigger.core.query_string import QueryLimits, parse_query

__all__ = ["NO_BODY", "NoBody", "parse_json", "parse_media_type", "read_body"]

#: the highest ``max_depth`` accepted: keeps ``json.loads`` far below the recursion limit
MAX_DEPTH_LIMIT: Final = 512

_BOM: Final = b"\xef\xbb\xbf"
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_EXCERPT: Final = 40

# Pre-scan tables. Brackets map to "[" / "]" (depth ignores the kind of container: a
# mismatched pair is json.loads' to report); all bytes but brackets and quotes go.
_BRACKETS: Final = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS_OR_QUOTES: Final = bytes(b for b in range(256) if b not in b'[]{}"')
# Escaped backslashes and escaped quotes, consumed left to right so that a run of
# backslashes keeps its parity: every quote left is a string delimiter.
_QUOTE_ESCAPES: Final = re.compile(rb'\\[\\"]')
# Digits become "0" and "E" becomes "e": two substring searches find \d{19} and \d[eE].
_NUMBER_SHAPE: Final = bytes.maketrans(b"123456789E", b"000000000e")
_LONG_DIGITS: Final = b"0" * 19
_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
# Valid documents only: consume every escape left to right (parity again); valid
# surrogate pairs and all other escapes go. A backslash left over starts a \uD800-\uDFFF
# escape that is not part of a pair.
_PAIRED_ESCAPES: Final = re.compile(
    rb"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    rb"|u(?![dD][89a-fA-F])|[^u])"
)

_TCHAR: Final = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"  # RFC 9110 §5.6.2 token
_MEDIA_TYPE: Final = re.compile(rf"[ \t]*({_TCHAR})/({_TCHAR})[ \t]*")
_PARAMETER: Final = re.compile(
    rf";[ \t]*(?:({_TCHAR})=(?:({_TCHAR})|\"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]"
    r"|\\[\t \x21-\x7e\x80-\xff])*)\"))?[ \t]*"
)
_QUOTED_PAIR: Final = re.compile(r"\\(.)", re.DOTALL)


class NoBody(enum.Enum):
    """Type of :data:`NO_BODY`: the request had an empty body."""

    NO_BODY = "NO_BODY"

    def __repr__(self) -> str:
        return "NO_BODY"


#: returned by :func:`read_body` for an empty body (distinct from a JSON ``null``)
NO_BODY: Final = NoBody.NO_BODY


def parse_json(raw: bytes, *, max_depth: int = 64) -> object:
    """Parse a request body as strict JSON (policy in the module docstring).

    :param raw: the body exactly as received
    :param max_depth: most levels of nested arrays/objects accepted
        (``webhook_trigger.json_max_depth``), at most 512
    :return: the JSON value: ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``
        or ``None``
    :raises BadRequest: the body is not acceptable JSON; the message says why
    :raises ConfigError: ``max_depth`` is out of range (a programming error)
    """
    if isinstance(max_depth, bool) or not 0 <= max_depth <= MAX_DEPTH_LIMIT:
        raise ConfigError(f"max_depth must be between 0 and {MAX_DEPTH_LIMIT}, got {max_depth!r}")
    offset = 0
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
        offset = len(_BOM)
    if not raw.strip(b" \t\r\n"):
        raise BadRequest("JSON body is empty")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadRequest("JSON body must be UTF-8, not UTF-16 or UTF-32 (RFC 8259 §8.1)")
    if b"\x00" in raw:
        # Never in JSON text (control characters are escaped), always in UTF-16/32 of ASCII.
        raise BadRequest("JSON body holds a NUL byte: it must be UTF-8 text, not UTF-16 or UTF-32")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"JSON body is not valid UTF-8 (byte {exc.start + offset})") from None
    if text.startswith("\ufeff"):
        raise BadRequest("JSON body starts with more than one byte order mark")

    if len(raw) > max_depth:  # shorter cannot nest deeper
        _check_depth(_bracket_skeleton(raw), text, max_depth)
    # Only a literal with 19+ digits can leave the int64 range, only an exponent or 309+
    # digits can overflow a double; without one, json.loads' fast paths are exact. The
    # scan includes strings (hex ids often hold "3e"): a false alarm only costs the hooks.
    shape = raw.translate(_NUMBER_SHAPE)
    checked = _LONG_DIGITS in shape or b"0e" in shape
    try:
        value = (_CHECKED_DECODER if checked else _DECODER).decode(text)
    except json.JSONDecodeError as exc:
        raise _malformed(exc) from None
    except (ValueError, RecursionError, MemoryError):
        # Belt and braces: the pre-scan makes these unreachable in practice.
        raise BadRequest("JSON body is malformed") from None
    if (
        (b"\\ud" in raw or b"\\uD" in raw)
        and _SURROGATE_ESCAPE.search(raw) is not None
        and b"\\" in _PAIRED_ESCAPES.sub(b"", raw)
    ):
        raise BadRequest("JSON body has a \\u escape for an unpaired surrogate (RFC 8259 §8.2)")
    if b"\\u0000" in raw and _holds_nul(value):
        # valid JSON, but PostgreSQL's jsonb (the run's conf) cannot store it: refused here,
        # before any write, rather than failing the commit
        raise BadRequest("JSON body holds a NUL character (\\u0000), which cannot be stored")
    return value


def _holds_nul(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return True
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """Parse a ``Content-Type`` value (RFC 9110 §8.3.1) into its type and parameters.

    The type and parameter names are lower-cased; parameter values are unquoted and kept
    as sent. ``"Application/JSON; Charset=\\"utf-8\\""`` gives
    ``("application/json", {"charset": "utf-8"})``.

    :param value: the header value
    :return: ``(type "/" subtype, parameters)``
    :raises UnsupportedMediaType: the value is not a well-formed media type, or repeats a
        parameter
    """
    match = _MEDIA_TYPE.match(value)
    if match is None:
        raise UnsupportedMediaType("Content-Type is not a valid media type")
    media_type = f"{match[1]}/{match[2]}".lower()
    params: dict[str, str] = {}
    pos = match.end()
    while pos < len(value):
        param = _PARAMETER.match(value, pos)
        if param is None:
            raise UnsupportedMediaType("Content-Type has malformed parameters")
        pos = param.end()
        name = param[1]
        if name is None:  # an empty parameter: "a/b;" or "a/b; ; c=d" (allowed by the grammar)
            continue
        name = name.lower()
        if name in params:
            raise UnsupportedMediaType(f"Content-Type repeats the parameter {name!r}")
        token, quoted = param[2], param[3]
        params[name] = token if token is not None else _QUOTED_PAIR.sub(r"\1", quoted)
    return media_type, params


FORM_TYPE = "application/x-www-form-urlencoded"


def read_body(
    content_type: str | None,
    raw: bytes,
    *,
    max_depth: int = 64,
    query_limits: QueryLimits | None = None,
) -> object:
    """Read a webhook request body: empty, JSON, or an HTML form.

    An empty body gives :data:`NO_BODY` whatever the content type: senders' "ping" or
    test events often send no body with a JSON content type, and a sender with nothing to
    say should not need to pick one. A non-empty body must be ``application/json`` or any
    ``application/<x>+json`` (case-insensitive), then parses with :func:`parse_json`; or
    ``application/x-www-form-urlencoded`` (Slack's slash commands, Twilio), parsed like
    the query string, into the same kind of tree, within the same limits. A ``charset``
    parameter, if any, must be ``utf-8``.

    :param content_type: the ``Content-Type`` header, or ``None`` when absent
    :param raw: the body exactly as received
    :param max_depth: passed to :func:`parse_json`
    :param query_limits: the limits of a form body (the ``query_*`` settings)
    :return: :data:`NO_BODY`, the JSON value, or the form's tree
    :raises UnsupportedMediaType: a non-empty body is neither UTF-8 JSON nor a UTF-8 form
    :raises BadRequest: the body is not acceptable JSON, or a form past a limit
    """
    if not raw:
        return NO_BODY
    if content_type is None or not content_type.strip():
        raise UnsupportedMediaType("body must be application/json (no Content-Type was sent)")
    media_type, params = parse_media_type(content_type)
    form = media_type == FORM_TYPE
    if not form and not is_json_media_type(media_type):
        raise UnsupportedMediaType(
            f"body must be application/json or {FORM_TYPE}, not {_excerpt(media_type)}"
        )
    charset = params.get("charset")
    if charset is not None and charset.lower() != "utf-8":
        what = "form" if form else "JSON"
        raise UnsupportedMediaType(f"{what} body must be UTF-8, not charset={_excerpt(charset)}")
    if form:
        try:
            return parse_query(raw, query_limits or QueryLimits())
        except BadRequest as exc:
            raise BadRequest(f"form body (read as a query string): {exc.detail}") from None
    return parse_json(raw, max_depth=max_depth)


def is_json_media_type(media_type: str) -> bool:
    """``application/json`` or any ``application/<x>+json`` (RFC 6839 §3.1)."""
    kind, _, subtype = media_type.partition("/")
    if kind != "application":
        return False
    return subtype == "json" or (subtype.endswith("+json") and len(subtype) > len("+json"))


def _bracket_skeleton(raw: bytes) -> bytes:
    # The brackets outside strings, as "[" and "]". Exact for any valid prefix of a
    # document, which is all json.loads reads before it stops (see _check_depth).
    if b'\\"' in raw:  # else no quote is escaped, and backslashes do not matter
        raw = _QUOTE_ESCAPES.sub(b"", raw)
    # Dropping two adjacent quotes keeps the parity of every other quote, and empties
    # most strings, which now hold only the brackets they held.
    skeleton = raw.translate(_BRACKETS, _NOT_BRACKETS_OR_QUOTES).replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = b"".join(skeleton.split(b'"')[::2])
    return skeleton


def _check_depth(brackets: bytes, text: str, max_depth: int) -> None:
    passes = 0
    while brackets:
        # One pass removes exactly the innermost pairs, so an element of height h goes
        # in pass h: the pass count is the depth, and the work is bounded by max_depth.
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            break
        passes += 1
        if passes > max_depth:
            raise BadRequest(
                f"JSON body is nested more than {max_depth} levels deep (webhook_trigger.json_max_depth)"
            )
        brackets = shorter
    if not brackets:
        return
    # Unbalanced, so malformed. json.loads can go no deeper than the matched depth plus
    # the unmatched openers; if that is within the limit let it say where the error is.
    if passes + brackets.count(b"[") <= max_depth:
        try:
            _DECODER.decode(text)
        except json.JSONDecodeError as exc:
            raise _malformed(exc) from None
        except (ValueError, RecursionError, MemoryError):
            pass
    raise BadRequest("JSON body is malformed (unbalanced brackets)")


def _malformed(exc: json.JSONDecodeError) -> BadRequest:
    # exc.msg is a fixed phrase ("Expecting value", "Extra data"...): no input echoed.
    return BadRequest(
        f"JSON body is malformed: {exc.msg} (line {exc.lineno}, column {exc.colno}, char {exc.pos})"
    )


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise BadRequest(f"JSON body has a duplicate object key {_excerpt(key)}")
            seen.add(key)
    return obj


def _reject_constant(name: str) -> NoReturn:
    raise BadRequest(f"JSON body holds {name}, which is not valid JSON (RFC 8259 §6)")


def _int64(literal: str) -> int:
    # The length check first: int() of a huge literal is slow, or refused by Python.
    if len(literal) <= 20:
        number = int(literal)
        if _INT64_MIN <= number <= _INT64_MAX:
            return number
    digits = len(literal.lstrip("-"))
    raise BadRequest(f"JSON body has an oversized integer ({digits} digits; 64-bit signed at most)")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if math.isinf(number):
        raise BadRequest("JSON body has a number too large for a 64-bit float")
    return number


# Built once: json.loads with hooks would build a decoder and a scanner on every call.
# Shared between threads like json's own default decoder (the scanner keeps no state
# across calls but a key cache it clears).
_DECODER: Final = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_reject_constant)
_CHECKED_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_object,
    parse_constant=_reject_constant,
    parse_int=_int64,
    parse_float=_finite_float,
)


def _excerpt(text: str) -> str:
    if len(text) > _EXCERPT:
        return repr(text[:_EXCERPT]) + "..."
    return repr(text)
