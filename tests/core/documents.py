"""Webhook documents to parse in the core's tests."""

from __future__ import annotations

from typing import Any

SECRET = "s3cret-Pa55word"
HASH = "scrypt$16384$8$1$c2FsdA==$aGFzaA=="


def doc_of(**changes: Any) -> dict[str, Any]:
    """A valid document with ``changes``."""
    doc: dict[str, Any] = {"id": "hook-0123456789", "dag_id": "dag_a"}
    doc.update(changes)
    return doc


def auth_basic(**basic: Any) -> dict[str, Any]:
    return {"basic": {"username": "stripe", **basic}}


def request_of(**parts: Any) -> dict[str, Any]:
    return {"request": parts}
