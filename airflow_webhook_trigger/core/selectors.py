"""One way to read a named value of a request: filters, delivery keys and trigger
variables all read a header, a query path or a body path through :func:`select`.

A repeated header reads as its values joined with ``", "`` (RFC 9110 §5.3), everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final, Literal, TypeAlias

from airflow_webhook_trigger.core.paths import ABSENT, Segment, lookup

Source: TypeAlias = Literal["header", "query", "body"]

#: a header name as configured anywhere (RFC 9110 §5.1: field names are tokens)
HEADER_NAME_RE: Final = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}\Z")


def header(headers: Mapping[str, str], name: str) -> object:
    """A header's value, repeated fields combined, or :data:`ABSENT`.

    :param headers: a case-insensitive view that joins repeated fields (``request.Headers``)
    """
    value = headers.get(name)
    return ABSENT if value is None else value


def select(
    source: Source,
    name: str,
    segments: Sequence[Segment],
    *,
    headers: Mapping[str, str],
    query: object,
    body: object,
) -> object:
    """The value a selector names, or :data:`ABSENT`.

    :param name: the header name (``source == "header"``)
    :param segments: the parsed path (query and body)
    """
    if source == "header":
        return header(headers, name)
    return lookup(query if source == "query" else body, segments)
