"""Parse a raw query string into a JSON tree, qs-style, within hard limits.

The reference is the npm ``qs`` library with its default options (the parser behind
Express's extended query parsing, https://github.com/ljharb/qs, ``lib/parse.js`` and
``lib/utils.js``). Where qs silently drops, truncates or re-shapes input past a limit,
we answer :class:`~airflow_webhook_trigger.core.errors.BadRequest` naming the limit and its
``[webhook_trigger]`` config key instead. Values are only ``str``, ``list`` and
``dict``, so the result is JSON-ready.

Rules, in the order they apply:

1. The length check comes first, on ``len(raw)`` (bytes for ``bytes``, characters for
   ``str``): over ``query_max_length`` is a 400. Then ``bytes`` are decoded as strict
   UTF-8 (never latin-1); undecodable bytes, or a ``str`` holding lone surrogates, are
   a 400 ("query string is not valid UTF-8"). A leading ``?`` is part of the first
   key (qs ``ignoreQueryPrefix: false``); adapters pass the query without it.
2. Split on ``&`` only, never ``;`` (qs ``delimiter: '&'``). Empty parts are skipped.
   More than ``query_max_params`` non-empty parts is a 400 before any other work
   (qs ``parameterLimit`` silently ignores the rest).
3. As qs does, ``%5B`` / ``%5D`` (any case) become ``[`` / ``]`` first. Then the key
   ends at the first ``]=`` if the part has one (``a[=]=x`` has key ``a[=]``), else at
   the first ``=``; no ``=`` means the value ``""`` (qs ``strictNullHandling: false``).
4. Key and value are decoded like qs ``utils.decode``: ``+`` becomes a space, then
   ``%XX`` escapes are decoded as UTF-8. If that fails (``%ZZ``, a lone ``%``, invalid
   UTF-8, an encoded surrogate) the string is kept with only ``+`` replaced, which is
   what qs's ``try { decodeURIComponent } catch`` does (rule 3's brackets stay
   replaced). A key empty after decoding is skipped (qs ``parseKeys`` returns nothing
   for it). Decoding happens before the key is parsed: ``a%5Bb%5D=c`` is ``a[b]=c``.
5. Identical decoded keys are grouped first, in order of first appearance, and their
   values collected into a list (qs ``duplicates: 'combine'``): ``a=b&a=c`` gives
   ``{"a": ["b", "c"]}``. Keys keep first-appearance order (JavaScript would list
   integer-like object keys first).
6. Key grammar: a parent (the text before the first ``[``) followed by one or more
   ``[segment]`` groups, a segment holding neither ``[`` nor ``]``. A key that does not
   fit exactly (``a[b``, ``a[b]c``, ``a[b[c]]``) is one literal flat key; qs would drop
   the text between or after the groups, we never drop anything. A key without a
   parent promotes its first segment (``[a]=1`` is ``{"a": "1"}``, as in qs), except
   ``[]`` which is then kept literally (qs would produce ``{"0": ...}``). More than
   ``query_max_depth`` segments, counted as written (a promoted one included, as qs
   counts them), is a 400 (qs keeps the rest as one literal segment; this is its
   ``strictDepth: true``).
7. Segments: ``[]`` appends to an array; ``[n]`` with ``n`` a canonical non-negative
   decimal (``0``, ``15``; not ``01``, ``-1`` or ``+1``) is an array index, and
   ``n > query_max_array_index`` is a 400 (qs would turn the array into an object);
   anything else is an object key. The parent is always an object key, even ``0``.
   Arrays are sparse while building and compacted in index order at the end (qs
   ``utils.compact``): ``a[1]=c&a[0]=b`` and ``a[1]=b&a[15]=c`` both give two items.
   A grouped list of values under a final ``[]`` is that array (``a[]=1&a[]=2`` gives
   ``["1", "2"]``); qs also flattens lists through outer ``[]`` groups (``a[][]=1`` as
   ``["1"]``), we keep the nesting (``[["1"]]``).
8. Each grouped key is built into a nested value and merged into the result like qs
   ``utils.merge``: object + object merges key-wise, recursively; array + array merges
   index-wise (a free index is set, two containers merge, anything else is appended
   after the highest index); array + object turns the array into an object with
   string indices and merges key-wise; a string target with a container source gives
   ``[target, *array]`` or ``[target, object]`` (``a=1&a[b]=2`` gives
   ``{"a": ["1", {"b": "2"}]}``); an array target appends a string source; two strings
   give ``[target, source]``. Deliberate differences: an object target with a string
   source gives ``[target, source]`` (qs sets ``target[source] = true``, not a
   string), and an empty-string source is kept (qs ``merge`` drops it). qs also drops
   keys named after ``Object.prototype`` members (``toString``, ``__proto__``); that
   guard is a JavaScript concern, we keep them.
9. Each string merged into an object pushes that object one level down (``[object,
   string]``), so many spellings of one path (``a``, ``[a]``, ``a[0]``, ``a[]``) could
   nest a value far deeper than its keys do. Values nested more than
   ``2 * (query_max_depth + 1)`` containers deep once merged are a 400 too (one such
   conflict per level stays accepted), so no input builds an arbitrarily deep tree.

Cost is linear in the input: building is bounded by the depth limit, merging only
walks the source (one key's chain, or its grouped values), arrays track their next
free index, and an array index is compared by length before it is converted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import TypeAlias

from airflow_webhook_trigger.core.errors import BadRequest, ConfigError

__all__ = ["QueryLimits", "parse_query"]

# Keeps building and merging recursion far below Python's limit; matches the cap
# that ``config.Settings`` puts on ``query_max_depth``.
_MAX_DEPTH_CEILING = 32


@dataclass(frozen=True)
class QueryLimits:
    """Limits of :func:`parse_query`, from the ``[webhook_trigger]`` ``query_*`` options.

    :param max_depth: most ``[segment]`` groups in one key (qs ``depth``), at most 32.
    :param max_array_index: highest ``[n]`` array index accepted (qs ``arrayLimit``).
    :param max_params: most non-empty ``&``-separated parts (qs ``parameterLimit``).
    :param max_length: most characters (bytes, for ``bytes`` input) of the raw string.
    """

    max_depth: int = 5
    max_array_index: int = 20
    max_params: int = 1000
    max_length: int = 65536

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if type(value) is not int or value < 0:
                raise ConfigError(
                    f"webhook_trigger.query_{field.name} has value {value!r}: must be an int >= 0."
                )
        if self.max_depth > _MAX_DEPTH_CEILING:
            raise ConfigError(
                f"webhook_trigger.query_max_depth has value {self.max_depth!r}: "
                f"must be <= {_MAX_DEPTH_CEILING}."
            )


class _Array:
    """A sparse array while building: index -> node, and the JS ``length``."""

    __slots__ = ("end", "items")

    def __init__(self, items: dict[int, _Node], end: int) -> None:
        self.items = items
        self.end = end

    def append(self, node: _Node) -> None:
        self.items[self.end] = node
        self.end += 1

    def put(self, index: int, node: _Node) -> None:
        self.items[index] = node
        if index >= self.end:
            self.end = index + 1

    def as_object(self) -> dict[str, _Node]:
        # qs ``arrayToObject``: string indices, in index order.
        items = self.items
        return {str(i): items[i] for i in sorted(items)}


_Node: TypeAlias = "str | dict[str, _Node] | _Array"

_DEFAULT_LIMITS = QueryLimits()
_BRACKET_ESCAPE = re.compile(r"%5[BbDd]")
# A run of %XX escapes (decoded together, so multi-byte UTF-8 works) or a stray '%'.
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+|%")
_KEY_SHOWN = 64


def parse_query(raw: str | bytes, limits: QueryLimits = _DEFAULT_LIMITS) -> dict[str, object]:
    """Parse a raw query string (without ``?``) into a tree of ``str``, lists and dicts.

    :param raw: the query string as received, ``bytes`` (UTF-8) or ``str``.
    :param limits: the limits to enforce; every overrun raises, none is truncated.
    :raises BadRequest: invalid UTF-8, or a limit exceeded (the message names its key).
    """
    if len(raw) > limits.max_length:
        raise BadRequest(
            f"query string is longer than {limits.max_length} characters "
            "(limit: webhook_trigger.query_max_length)"
        )
    text = _as_text(raw)
    if "%00" in text or "\x00" in text:
        # PostgreSQL's jsonb (the run's conf) and text columns cannot hold a NUL: refused
        # here, before any write, not at commit
        raise BadRequest("query string holds a NUL character (%00)")
    parts = text.split("&")
    if len(parts) - parts.count("") > limits.max_params:
        raise BadRequest(
            f"query string has more than {limits.max_params} parameters "
            "(limit: webhook_trigger.query_max_params)"
        )
    root: dict[str, _Node] = {}
    plain = True  # no array and no merge yet: ``root`` already is the result
    for key, values in _group(parts).items():
        leaf: _Node
        if len(values) == 1:
            leaf = values[0]
        else:
            leaf = _Array(dict(enumerate(values)), len(values))
            plain = False
        if "[" in key:
            parent, node, arrays = _build(key, leaf, limits)
            plain = plain and not arrays
        else:
            parent, node = key, leaf
        if parent in root:
            root[parent] = _merge(root[parent], node)
            plain = False
        else:
            root[parent] = node
    if plain:
        return dict(root)
    bound = 2 * (limits.max_depth + 1)
    return {key: node if type(node) is str else _compact(node, 1, bound) for key, node in root.items()}


def _as_text(raw: str | bytes) -> str:
    try:
        if isinstance(raw, bytes):
            return raw.decode("utf-8")
        if not raw.isascii():
            raw.encode("utf-8")  # refuses lone surrogates, as the bytes path would
    except UnicodeError:
        raise BadRequest("query string is not valid UTF-8") from None
    return raw


def _group(parts: list[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for raw_part in parts:
        if not raw_part:
            continue
        # qs replaces %5B / %5D before anything else, so an encoded bracket splits too.
        part = _BRACKET_ESCAPE.sub(_bracket, raw_part) if "%5" in raw_part else raw_part
        end = part.find("]=")
        end = part.find("=") if end == -1 else end + 1
        if end == -1:
            key, value = _decode(part), ""
        else:
            key = _decode(part[:end])
            value = _decode(part[end + 1 :])
        if not key:
            continue
        values = grouped.get(key)
        if values is None:
            grouped[key] = [value]
        else:
            values.append(value)
    return grouped


def _bracket(match: re.Match[str]) -> str:
    return "[" if match.group()[2] in "Bb" else "]"


def _decode(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    try:
        return _ESCAPES.sub(_unescape, text)
    except ValueError:  # a stray '%', or bytes that are not UTF-8 (UnicodeDecodeError)
        return text


def _unescape(match: re.Match[str]) -> str:
    escapes = match.group()
    if len(escapes) == 1:
        raise ValueError(escapes)
    return bytes.fromhex(escapes.replace("%", "")).decode("utf-8")


def _build(key: str, leaf: _Node, limits: QueryLimits) -> tuple[str, _Node, bool]:
    """Wrap ``leaf`` in the key's segments, innermost first; tell whether an array was made."""
    start = key.index("[")
    if key[-1] != "]":
        return key, leaf, False
    inner = key[start + 1 : -1]
    segments = inner.split("][")
    separators = len(segments) - 1
    if inner.count("[") != separators or inner.count("]") != separators:
        return key, leaf, False  # a segment holds a bracket: not the grammar, a literal key
    parent = key[:start]
    if not parent and not segments[0]:
        return key, leaf, False
    if separators >= limits.max_depth:
        raise BadRequest(
            f"query string key {_shown(key)} has more than {limits.max_depth} bracket "
            "levels (limit: webhook_trigger.query_max_depth)"
        )
    if not parent:
        parent = segments.pop(0)
    node = leaf
    arrays = False
    last = len(segments) - 1
    for position in range(last, -1, -1):
        segment = segments[position]
        if not segment:
            arrays = True
            if position != last or not isinstance(leaf, _Array):
                node = _Array({0: node}, 1)
        elif segment.isdigit() and segment.isascii() and (segment[0] != "0" or segment == "0"):
            arrays = True
            index = _index(segment, key, limits.max_array_index)
            node = _Array({index: node}, index + 1)
        else:
            node = {segment: node}
    return parent, node, arrays


def _index(segment: str, key: str, limit: int) -> int:
    # Compare lengths first: int() on a 60,000-digit string is slow (or refused).
    if len(segment) > len(str(limit)) or int(segment) > limit:
        raise BadRequest(
            f"query string key {_shown(key)} has an array index above {limit} "
            "(limit: webhook_trigger.query_max_array_index)"
        )
    return int(segment)


def _shown(key: str) -> str:
    return repr(key if len(key) <= _KEY_SHOWN else key[:_KEY_SHOWN] + "...")


def _merge(target: _Node, source: _Node) -> _Node:
    """qs ``utils.merge``, with the differences listed in the module docstring."""
    if isinstance(source, str):
        if isinstance(target, _Array):
            target.append(source)
            return target
        return _Array({0: target, 1: source}, 2)
    if isinstance(target, str):
        if isinstance(source, _Array):
            # qs ``[target].concat(source)`` keeps the source's holes, one place later.
            items: dict[int, _Node] = {0: target}
            for index, node in source.items.items():
                items[index + 1] = node
            return _Array(items, source.end + 1)
        return _Array({0: target, 1: source}, 2)
    if isinstance(target, _Array):
        if isinstance(source, _Array):
            present = target.items
            for index in sorted(source.items):
                node = source.items[index]
                if index not in present:
                    target.put(index, node)
                elif isinstance(node, str) or isinstance(present[index], str):
                    target.append(node)
                else:
                    present[index] = _merge(present[index], node)
            return target
        target = target.as_object()
    pairs = source.as_object() if isinstance(source, _Array) else source
    for key, node in pairs.items():
        target[key] = _merge(target[key], node) if key in target else node
    return target


def _compact(node: _Node, depth: int, bound: int) -> object:
    """Turn sparse arrays into lists in index order, refusing containers deeper than ``bound``."""
    if isinstance(node, str):
        return node
    if depth > bound:
        raise BadRequest(
            f"query string values nest more than {bound} levels deep once merged, "
            "2 x (max depth + 1) (limit: webhook_trigger.query_max_depth)"
        )
    depth += 1
    if isinstance(node, _Array):
        items = node.items
        return [
            child if type(child) is str else _compact(child, depth, bound)
            for child in (items[index] for index in sorted(items))
        ]
    return {
        key: child if type(child) is str else _compact(child, depth, bound) for key, child in node.items()
    }
