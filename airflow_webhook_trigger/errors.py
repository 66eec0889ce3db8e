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


class ServiceUnavailable(WebhookError):
    """The metadata DB cannot take the run now; the caller should retry."""

    status_code = 503


class ConfigError(ValueError):
    """Invalid ``[webhook_trigger]`` configuration or webhook definition (not an HTTP error)."""
