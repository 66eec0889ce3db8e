"""Paths into a JSON tree: ``a``, ``b.c``, ``query[0]``, ``query[0].a``, ``a["x.y"]``.

A path is a sequence of segments: a ``str`` addresses an object key, an ``int`` an array
index. The text form::

    path    = first *( "." bare / "[" index "]" / "[" quoted "]" )
    first   = bare / "[" index "]" / "[" quoted "]"
    bare    = 1*( any character but "." "[" "]" '"', whitespace and control characters )
    index   = "0" / %x31-39 *DIGIT          ; canonical decimal: no sign, no leading zero
    quoted  = a JSON string (RFC 8259 §7), escapes included

So ``X-Request-Id`` and ``café`` are bare keys, and a bare key made of digits is still a
key (``a.0`` is key ``"0"``, ``a[0]`` is index 0). Keys that are empty or hold a dot,
bracket, quote, whitespace or control character are written quoted: ``["a b"]``,
``a["x.y"]``, ``[""]``. (Control characters are outside the bare form, a tightening of
the rule "anything but ``.[]"`` and whitespace", so that no path prints invisibly.) Keys
must be encodable as UTF-8: no lone surrogates. A path has 1 to 64 segments and at most
1024 characters.

:func:`render_path` writes the canonical text (bare keys where possible), and
``parse_path(render_path(s)) == s`` for every path within the limits.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Sequence
from typing import Final, TypeAlias, TypeGuard

from airflow_webhook_trigger.core.errors import ConfigError

__all__ = [
    "ABSENT",
    "MAX_PATH_LENGTH",
    "MAX_SEGMENTS",
    "Absent",
    "Segment",
    "extract",
    "lookup",
    "parse_path",
    "render_path",
]

#: an object key (``str``) or an array index (``int``, >= 0)
Segment: TypeAlias = str | int

#: most characters in a path's text
MAX_PATH_LENGTH: Final = 1024
#: most segments in a path
MAX_SEGMENTS: Final = 64

_BARE: Final = re.compile(r'[^.\[\]"\s\x00-\x1f\x7f-\x9f]+')
_INDEX: Final = re.compile(r"\[(0|[1-9][0-9]*)\]")
_QUOTED: Final = re.compile(r'\[("(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")\]')
_SHOWN: Final = 80


class Absent(enum.Enum):
    """Type of :data:`ABSENT`."""

    ABSENT = "ABSENT"

    def __repr__(self) -> str:
        return "ABSENT"


#: what :func:`lookup` returns when a path is not in the tree (a JSON ``null`` is ``None``)
ABSENT: Final = Absent.ABSENT


def parse_path(text: str) -> tuple[Segment, ...]:
    """Parse the text of a path (grammar in the module docstring).

    :param text: e.g. ``"query[0].a"``
    :return: the segments, e.g. ``("query", 0, "a")``
    :raises ConfigError: the path is empty, malformed or over a limit; the message says
        where
    """
    if not text:
        raise ConfigError("path is empty")
    if len(text) > MAX_PATH_LENGTH:
        raise ConfigError(f"path is longer than {MAX_PATH_LENGTH} characters")
    segments: list[Segment] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "[":
            pos = _bracketed(text, pos, segments)
        elif char == "." and segments:
            match = _BARE.match(text, pos + 1)
            if match is None:
                raise _malformed(text, pos + 1, "expected a key after '.'" + _hint(text[pos + 1 : pos + 2]))
            segments.append(match[0])
            pos = match.end()
        elif not segments:
            match = _BARE.match(text, pos)
            if match is None:
                raise _malformed(text, pos, "expected a key or '['" + _hint(char))
            segments.append(match[0])
            pos = match.end()
        else:
            raise _malformed(text, pos, "expected '.' or '[' after a segment" + _hint(char))
        if len(segments) > MAX_SEGMENTS:
            raise ConfigError(f"path has more than {MAX_SEGMENTS} segments")
    for segment in segments:
        if isinstance(segment, str):
            _check_encodable(segment)
    return tuple(segments)


def render_path(segments: Sequence[Segment]) -> str:
    """Write the canonical text of a path: bare keys where possible, others quoted.

    :param segments: object keys (``str``) and array indexes (``int`` >= 0)
    :return: text that :func:`parse_path` reads back as ``segments``
    :raises ConfigError: no segments, a segment of the wrong type, a negative index, a
        key that is not valid Unicode, or a result over a limit
    """
    if not segments:
        raise ConfigError("path is empty")
    if len(segments) > MAX_SEGMENTS:
        raise ConfigError(f"path has more than {MAX_SEGMENTS} segments")
    parts: list[str] = []
    for segment in segments:
        if isinstance(segment, bool) or not isinstance(segment, str | int):
            raise ConfigError(f"path segment {segment!r} is neither a key (str) nor an index (int)")
        if isinstance(segment, int):
            if segment < 0:
                raise ConfigError(f"path index {segment} is negative")
            parts.append(f"[{segment}]")
            continue
        _check_encodable(segment)
        if _BARE.fullmatch(segment):
            parts.append(f".{segment}" if parts else segment)
        else:
            parts.append(f"[{json.dumps(segment, ensure_ascii=False)}]")
    text = "".join(parts)
    if len(text) > MAX_PATH_LENGTH:
        raise ConfigError(f"path is longer than {MAX_PATH_LENGTH} characters")
    return text


def lookup(tree: object, segments: Sequence[Segment]) -> object:
    """The value at a path, or :data:`ABSENT`.

    Types are strict: a key only looks into a ``dict``, an index only into a ``list``
    (``a.0`` does not read ``a[0]``); a negative index is absent, never counted from the
    end.

    :param tree: a JSON tree (``dict``, ``list`` and scalars)
    :param segments: the path
    :return: the value (possibly ``None``, a JSON ``null``), or :data:`ABSENT`
    """
    node = tree
    for segment in segments:
        if isinstance(segment, str):
            if not isinstance(node, dict) or segment not in node:
                return ABSENT
            node = node[segment]
        elif _is_index(segment) and isinstance(node, list) and segment < len(node):
            node = node[segment]
        else:
            return ABSENT
    return node


def extract(tree: object, paths: Iterable[Sequence[Segment]]) -> object:
    """A new tree holding only the chosen paths that are present in ``tree``.

    - A chosen path brings its whole subtree; overlapping paths (``b`` and ``b.c``) are
      fine. The empty path chooses the whole tree.
    - Absent paths are simply left out, and so is a container none of whose chosen paths
      is present. (A path with a segment that is neither a key nor an index ``>= 0`` is
      never present.)
    - Object keys come in the order the paths are given (stable whatever order a sender
      uses).
    - Arrays keep positions: an array holding only index 3 of the source is
      ``[None, None, None, value]`` (never longer than the source array). A ``None``
      there is padding, not a value from the source.
    - If nothing is present the result is ``[]`` for an array tree and ``{}`` for
      anything else (a part with no fields present is an empty part, not an absent one).

    Containers on the way down are new; chosen subtrees are shared with ``tree``, not
    copied (the request's parsed body is not changed afterwards).

    :param tree: a JSON tree (``dict``, ``list`` and scalars)
    :param paths: the chosen paths, as segments
    :return: the pruned tree
    """
    root = _Choice()
    for path in paths:
        if not all(isinstance(s, str) or _is_index(s) for s in path):
            continue  # never present (and True would collide with 1 in the trie)
        node = root
        for segment in path:
            node = node.children.setdefault(segment, _Choice())
        node.whole = True
    picked = _pick(tree, root)
    if picked is ABSENT:
        return [] if isinstance(tree, list) else {}
    return picked


class _Choice:
    """A node of the trie of chosen paths."""

    __slots__ = ("children", "whole")

    def __init__(self) -> None:
        self.whole = False
        self.children: dict[Segment, _Choice] = {}


def _pick(value: object, choice: _Choice) -> object:
    # Recursion depth is bounded by the tree's depth (64 for bodies, 32 for queries).
    if choice.whole:
        return value
    if isinstance(value, dict):
        obj: dict[str, object] = {}
        for segment, below in choice.children.items():
            if isinstance(segment, str) and segment in value:
                sub = _pick(value[segment], below)
                if sub is not ABSENT:
                    obj[segment] = sub
        return obj if obj else ABSENT
    if isinstance(value, list):
        items: dict[int, object] = {}
        for segment, below in choice.children.items():
            if _is_index(segment) and segment < len(value):
                sub = _pick(value[segment], below)
                if sub is not ABSENT:
                    items[segment] = sub
        if not items:
            return ABSENT
        array: list[object] = [None] * (max(items) + 1)
        for index, sub in items.items():
            array[index] = sub
        return array
    return ABSENT


def _is_index(segment: object) -> TypeGuard[int]:
    return isinstance(segment, int) and not isinstance(segment, bool) and segment >= 0


def _bracketed(text: str, pos: int, segments: list[Segment]) -> int:
    match = _INDEX.match(text, pos)
    if match is not None:
        segments.append(int(match[1]))
        return match.end()
    match = _QUOTED.match(text, pos)
    if match is not None:
        segments.append(json.loads(match[1]))
        return match.end()
    following = text[pos + 1 : pos + 2]
    if following in ("-", "+") or following.isdigit():
        raise _malformed(text, pos, "an index is [0], [1], ...: digits, no sign, no leading zero")
    if following == '"':
        raise _malformed(text, pos, 'expected a JSON string then "]"')
    raise _malformed(text, pos, 'expected an index [0] or a quoted key ["..."]')


def _check_encodable(key: str) -> None:
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError("path key holds a lone surrogate, which is not valid Unicode") from None


def _hint(char: str) -> str:
    if char and (char in '.[]"' or char.isspace() or not char.isprintable()):
        return f' (a key holding {char!r} is written quoted, like ["a b"] or a["x.y"])'
    return ""


def _malformed(text: str, pos: int, why: str) -> ConfigError:
    shown = repr(text) if len(text) <= _SHOWN else repr(text[:_SHOWN]) + "..."
    return ConfigError(f"path {shown} is malformed at offset {pos}: {why}")
