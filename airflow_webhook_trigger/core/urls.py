"""The URLs a webhook is reached at (printed by the CLI, shown by the API and the page)."""

from __future__ import annotations


def webhook_url(base_url: str, prefix: str, webhook_id: str) -> str:
    return f"{base_url}{prefix}/trigger/{webhook_id}"


def test_url(base_url: str, prefix: str, webhook_id: str) -> str:
    """Where a test request is captured as the webhook's sample."""
    return f"{base_url}{prefix}/test/{webhook_id}"
