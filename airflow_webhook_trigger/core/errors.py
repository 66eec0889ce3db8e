"""Errors as values: each carries the HTTP status it maps to.

The core raises these; each HTTP adapter renders them in exactly one place as
``{"error": detail}``. Any other exception escaping the core is a bug.
"""

from __future__ import annotations

from collections.abc import Mapping


class WebhookError(Exception):
    """Base of every error the core raises on purpose."""

    status_code: int = 500

    def __init__(
        self,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})
        #: extra JSON fields of the error body, e.g. ``{"param": "amount"}``
        self.extra: dict[str, object] = dict(extra or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r})"


class BadRequest(WebhookError):
    """Malformed input: JSON, query string, header."""

    status_code = 400


class Unauthorized(WebhookError):
    status_code = 401


class Forbidden(WebhookError):
    status_code = 403


class NotFound(WebhookError):
    status_code = 404


class MethodNotAllowed(WebhookError):
    status_code = 405


class Conflict(WebhookError):
    status_code = 409


class PayloadTooLarge(WebhookError):
    status_code = 413


class UnsupportedMediaType(WebhookError):
    status_code = 415


class UnprocessableEntity(WebhookError):
    """Valid HTTP, but the content breaks a rule (DAG params, webhook definition)."""

    status_code = 422


class TooManyRequests(WebhookError):
    """The caller used up a budget of its own (test captures); ``Retry-After`` says when."""

    status_code = 429


class ServiceUnavailable(WebhookError):
    """The metadata DB cannot take the run now; the caller should retry."""

    status_code = 503


class ConfigError(ValueError):
    """Invalid ``[webhook_trigger]`` configuration or webhook definition (not an HTTP error)."""


def body_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body is larger than {limit} bytes (webhook_trigger.max_body_bytes)")


def check_declared_size(content_length: str | None, limit: int) -> None:
    """413 before reading, when ``Content-Length`` says the body is over ``limit``.

    A value that is not a plain number is left to the server and the read that follows.

    :raises PayloadTooLarge: the declared size is over the limit
    """
    if content_length is None:
        return
    declared = content_length.strip()
    # isascii: "²".isdigit() is true, and int("²") raises
    if declared.isascii() and declared.isdigit() and len(declared) < 20 and int(declared) > limit:
        raise body_too_large(limit)


#: the 503 detail when more webhooks arrive at once than ``max_concurrent_triggers`` can take
TOO_MANY_AT_ONCE = "too many webhooks are being accepted at once"


def busy(why: str, retry_after_seconds: int) -> ServiceUnavailable:
    """A 503 telling the sender to come back (the run was not started)."""
    return ServiceUnavailable(f"{why}; retry later", headers={"Retry-After": str(retry_after_seconds)})
