"""The framework-neutral request value each adapter builds once, at the edge."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass


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

    def __getitem__(self, name: str) -> str:
        return self._joined[name.lower()]

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._joined.get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        """Every value of a repeated field, in order."""
        key = name.lower()
        return [value for item_name, value in self._items if item_name.lower() == key]

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
