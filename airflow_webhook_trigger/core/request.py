"""The framework-neutral request value each adapter builds once, at the edge."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass


def header_text(raw: bytes) -> str:
    """A header field's bytes as text: UTF-8 when they are valid UTF-8, else Latin-1.

    HTTP carries field values as bytes (RFC 9110 §5.5: historically ISO-8859-1, today
    mostly ASCII or UTF-8), and ASGI and WSGI both hand them over as Latin-1. Senders
    that put non-ASCII text in a header send UTF-8, so it is read as such; bytes that
    are not valid UTF-8 keep their Latin-1 reading, so that no value is refused or lost.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def wsgi_header_bytes(value: str) -> bytes:
    """The bytes behind a WSGI header string (PEP 3333: each byte decoded as Latin-1)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:  # not from the wire: some middleware put text there
        return value.encode("utf-8")


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only headers; repeated fields are joined with ``", "``.

    (RFC 9110 §5.3: a recipient may combine repeated field lines that way.)
    """

    __slots__ = ("_items", "_joined")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(items)
        joined: dict[str, str] = {}
        for name, value in self._items:
            key = name.lower()
            joined[key] = f"{joined[key]}, {value}" if key in joined else value
        self._joined = joined

    @classmethod
    def from_raw(cls, items: Iterable[tuple[bytes, bytes]]) -> Headers:
        """Headers from the wire's bytes, each value read by :func:`header_text`."""
        return cls((name.decode("latin-1"), header_text(value)) for name, value in items)

    def __getitem__(self, name: str) -> str:
        return self._joined[name.lower()]

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._joined.get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        """Every value of a repeated field, in order."""
        key = name.lower()
        return [value for item_name, value in self._items if item_name.lower() == key]

    def fields(self) -> tuple[tuple[str, str], ...]:
        """Every field line as sent: its name's own case, repeated fields apart."""
        return self._items

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._joined

    def __iter__(self) -> Iterator[str]:
        return iter(self._joined)

    def __len__(self) -> int:
        return len(self._joined)

    def __repr__(self) -> str:
        # Never print values: Authorization and cookies live here.
        return f"Headers({sorted(self._joined)})"


@dataclass(frozen=True)
class WebhookRequest:
    """One HTTP request as the core sees it."""

    method: str
    headers: Headers
    query_string: bytes
    body: bytes
    #: the public URL the sender called, with its query (what Twilio signs)
    url: str = ""
