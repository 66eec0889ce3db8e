"""What runs are named by, and what their status URLs are opened with; pure, keyed.

A webhook's id is the secret of a webhook without auth, so run ids and ``conf`` carry its
*handle* instead: an HMAC of the id, which names it without telling it. A sync caller polls
its run's status URL with that run's *token*: an HMAC of the webhook id and the run id, so a
status URL opens one run's status and authorizes nothing else (no webhook credential is
sent on a poll, so none can be replayed as a delivery).

Both are keyed with a key derived from a secret every api-server replica shares (Airflow's
``[api] secret_key``, read by the Airflow seam), one derived key per use.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qsl

#: hex characters of a handle (64 bits: names a webhook among a deployment's few thousand)
HANDLE_LENGTH = 16
#: hex characters of a status token (128 bits: never guessed)
TOKEN_LENGTH = 32
#: the query parameter of a status URL that carries its token
TOKEN_PARAM = "token"  # noqa: S105 (a parameter name, not a secret)


def _derive(secret: bytes, use: bytes) -> bytes:
    return hmac.new(secret, b"airflow-webhook-trigger " + use, hashlib.sha256).digest()


class RunTokens:
    """Handles and status tokens under one server secret (its ``repr`` shows no key)."""

    def __init__(self, secret: bytes | None = None) -> None:
        """:param secret: the shared server secret; None: a random one (this process only, for tests)"""
        secret = secrets.token_bytes(32) if secret is None else secret
        self._handle_key = _derive(secret, b"webhook handle v1")
        self._token_key = _derive(secret, b"status token v1")

    def __repr__(self) -> str:
        return "RunTokens('**********')"

    def handle(self, webhook_id: str) -> str:
        """The webhook's non-secret name in run ids and ``conf.webhook.handle``."""
        digest = hmac.new(self._handle_key, webhook_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:HANDLE_LENGTH]

    def run_prefix(self, webhook_id: str) -> str:
        """What every run id of this webhook starts with (:func:`runs.make_run_id`)."""
        return f"webhook__{self.handle(webhook_id)}__"

    def token(self, webhook_id: str, run_id: str) -> str:
        """The token of one run's status URL."""
        message = f"{webhook_id}\0{run_id}".encode()
        return hmac.new(self._token_key, message, hashlib.sha256).hexdigest()[:TOKEN_LENGTH]

    def status_query(self, webhook_id: str, run_id: str) -> str:
        """The query string a status URL ends with (``?`` + this)."""
        return f"{TOKEN_PARAM}={self.token(webhook_id, run_id)}"

    def matches(self, webhook_id: str, run_id: str, query_string: bytes) -> bool:
        """Whether the status URL's query carries this run's token (compared in constant time)."""
        given = [v for k, v in parse_qsl(query_string.decode("latin-1")) if k == TOKEN_PARAM]
        if len(given) != 1:
            return False
        expected = self.token(webhook_id, run_id).encode("ascii")
        return hmac.compare_digest(expected, given[0].encode("utf-8", "surrogatepass"))
