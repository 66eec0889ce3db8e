"""The "parse" button: list the paths of a sample request, for the operator to pick from.

Given a sample URL (or just its query string) or a sample JSON body, produce every path
in it, parents before children: ``{"a": 1, "b": {"c": 2}}`` gives ``a``, ``b``, ``b.c``;
``?query[0][a]=1`` gives ``query``, ``query[0]``, ``query[0].a``. The operator then keeps,
aliases or deletes them (CLI ``parse-sample``, the management API, later the UI).

How a sample is recognised, after stripping surrounding whitespace:

1. Starting with ``{`` or ``[``: a JSON body, parsed by
   :func:`~airflow_webhook_trigger.core.jsonbody.parse_json` with the request rules. An
   invalid one is an error rather than a query string with odd keys (to sample a query
   string that starts with ``[``, write its leading ``?``).
2. Starting with ``?``: a query string.
3. A URL: starting with ``scheme://`` or ``/``, or holding a ``?`` with no ``=`` or
   ``&`` before it (``localhost:13000/hook?x=1``). Its query is what follows the first
   ``?``; a URL without one has no paths. (Only a *leading* ``scheme://`` makes a URL,
   so ``next=https://example.com&a=1`` stays a query string.)
4. Anything else: a query string without its ``?``.

A ``#fragment`` is dropped from URLs and query strings alike (browsers never send it).
Query strings parse with :func:`~airflow_webhook_trigger.core.query_string.parse_query` and its
default limits, exactly as requests do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from airflow_webhook_trigger.core.errors import BadRequest, ConfigError
from airflow_webhook_trigger.core.jsonbody import parse_json
from airflow_webhook_trigger.core.paths import Segment, render_path
from airflow_webhook_trigger.core.query_string import parse_query

__all__ = ["SampleParse", "paths_from_sample", "paths_from_tree"]

_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")


@dataclass(frozen=True)
class SampleParse:
    """The paths found in a sample.

    :param part: the part of the request the paths address: ``"query"`` or ``"body"``
    :param paths: every path, as canonical text (:func:`~airflow_webhook_trigger.core.paths.render_path`),
        parents before children
    """

    part: Literal["query", "body"]
    paths: tuple[str, ...]


def paths_from_sample(text: str, *, max_array_items: int = 5, form: bool = False) -> SampleParse:
    """List the paths of a sample URL, query string or JSON body.

    Recognition rules are in the module docstring. Paths that cannot be written within
    the path limits (over 1024 characters or 64 segments) are left out: they could not
    be configured anyway.

    :param text: the sample, as pasted
    :param max_array_items: list at most this many elements of each array (see
        :func:`paths_from_tree`)
    :param form: the sample is a form body (``application/x-www-form-urlencoded``, as
        Slack and Twilio send): parsed like a query string, its paths are body paths
    :return: the part and its paths
    :raises BadRequest: the sample is empty, is invalid JSON, or is a query string over
        a limit
    """
    sample = text.strip()
    if not sample:
        raise BadRequest("sample is empty: paste a URL, a query string or a JSON body")
    if sample.lstrip("\ufeff").startswith(("{", "[")):
        try:
            tree = parse_json(sample.encode("utf-8", "surrogatepass"))
        except BadRequest as exc:
            hint = ""
            if sample.startswith("["):
                hint = " (to sample a query string starting with '[', write its leading '?')"
            raise BadRequest(f"invalid JSON sample: {exc.detail}{hint}") from None
        return SampleParse("body", _rendered(tree, max_array_items))
    if form:
        return SampleParse("body", _rendered(parse_query(sample), max_array_items))
    query = _query_of(sample)
    return SampleParse("query", _rendered(parse_query(query), max_array_items))


def paths_from_tree(tree: object, *, max_array_items: int = 5) -> list[tuple[Segment, ...]]:
    """Every path in a JSON tree, depth-first, each parent before its children.

    ``{"a": 1, "b": {"c": 2}}`` gives ``("a",), ("b",), ("b", "c")``. Object keys come in
    the tree's order. Of a long array only the first ``max_array_items`` elements are
    listed (a sample's later elements usually repeat the first ones), but the array's own
    path always is, and choosing it keeps the whole array. The root itself (the empty
    path) is not listed; a scalar tree has no paths.

    :param tree: a JSON tree (``dict``, ``list`` and scalars)
    :param max_array_items: most elements listed per array, ``>= 0``
    :return: the paths, as segments
    :raises ConfigError: ``max_array_items`` is negative
    """
    if isinstance(max_array_items, bool) or max_array_items < 0:
        raise ConfigError(f"max_array_items must be an int >= 0, got {max_array_items!r}")
    paths: list[tuple[Segment, ...]] = []
    # An explicit stack of iterators, not recursion: any tree depth is fine.
    stack = [_children((), tree, max_array_items)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        path, value = entry
        paths.append(path)
        if isinstance(value, dict | list):
            stack.append(_children(path, value, max_array_items))
    return paths


def _children(
    path: tuple[Segment, ...], value: object, max_array_items: int
) -> Iterator[tuple[tuple[Segment, ...], object]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key), child
    elif isinstance(value, list):
        for index, child in enumerate(value[:max_array_items]):
            yield (*path, index), child


def _rendered(tree: object, max_array_items: int) -> tuple[str, ...]:
    rendered: list[str] = []
    for segments in paths_from_tree(tree, max_array_items=max_array_items):
        try:
            rendered.append(render_path(segments))
        except ConfigError:
            continue  # over a path limit: not configurable, so not offered
    return tuple(rendered)


def _query_of(sample: str) -> str:
    sample = sample.partition("#")[0]
    if sample.startswith("?"):
        return sample[1:]
    before, question, after = sample.partition("?")
    is_url = (
        _SCHEME.match(sample) is not None
        or sample.startswith("/")
        or (bool(question) and "=" not in before and "&" not in before)
    )
    if is_url:
        return after
    return sample


def sample_paths(sample: Mapping[str, Any]) -> dict[str, list[str]]:
    """The paths of a test capture (``POST {prefix}/test/{id}``), part by part.

    :param sample: ``{"headers": [[name, value], ...], "query": tree, "body": tree or None}``
    """
    headers = sample.get("headers") or []
    body = sample.get("body")
    return {
        "headers": list(dict.fromkeys(str(h[0]) for h in headers)),
        "query": [render_path(p) for p in paths_from_tree(sample.get("query") or {})],
        "body": [] if body is None else [render_path(p) for p in paths_from_tree(body)],
    }
