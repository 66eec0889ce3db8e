"""The webhook endpoint's rules, free of any web framework and of Airflow.

An adapter calls, in order: :meth:`WebhookEndpoint.locate` (method, id, declared
size: cheap checks before the body is read), reads the body within
``settings.max_body_bytes`` (:func:`errors.body_too_large`), then :meth:`WebhookEndpoint.accept`
(auth, content type, parsing, conf, the run, the response). Errors are values
(:class:`WebhookError`) rendered once by :func:`response.error_response`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Literal, Protocol, overload

from airflow_webhook_trigger.core.auth import BasicAuthChecker
from airflow_webhook_trigger.core.capture_budget import CaptureBudget
from airflow_webhook_trigger.core.dedupe import SIGNED_DIGEST_KEYS, DeliveryKey, delivery_key
from airflow_webhook_trigger.core.definition import FORBIDDEN_READ_HEADERS, ID_RE, Webhook
from airflow_webhook_trigger.core.delivery import (
    DeliveryRecorder,
    DeliveryRow,
    NoRecorder,
    PriorDelivery,
    error_text,
    new_delivery_id,
)
from airflow_webhook_trigger.core.errors import (
    BadRequest,
    Conflict,
    MethodNotAllowed,
    NotFound,
    TooManyRequests,
    WebhookError,
    body_too_large,
    busy,
    check_declared_size,
)
from airflow_webhook_trigger.core.filters import FilterFailure, first_failure
from airflow_webhook_trigger.core.jsonbody import NO_BODY, read_body
from airflow_webhook_trigger.core.query_string import QueryLimits, parse_query
from airflow_webhook_trigger.core.request import WebhookRequest
from airflow_webhook_trigger.core.response import HttpResponse, body_response, json_response
from airflow_webhook_trigger.core.run_tokens import RunTokens
from airflow_webhook_trigger.core.runs import (
    RUN_ID_HEADER,
    RUN_ID_RE,
    Deferred,
    PendingRun,
    RunGateway,
    TriggeredRun,
    make_run_id,
    run_answer,
)
from airflow_webhook_trigger.core.sample import sample_paths
from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.core.signatures import (
    SIGNED_PARTS,
    SecretRef,
    SignedRequest,
    UnusableSecret,
    is_credential_header,
    signed_digest,
)
from airflow_webhook_trigger.core.signatures import verify as verify_signature
from airflow_webhook_trigger.core.trigger_variables import build_conf
from airflow_webhook_trigger.core.ttl_cache import MISSING, Missing
from airflow_webhook_trigger.core.waiter import RunSnapshot
from airflow_webhook_trigger.core.webhook_source import CachedSource, WebhookSource


class SecretResolver(Protocol):
    """Reads a webhook's signing secrets when a request needs them (the Airflow side).

    :raises ServiceUnavailable: the secret cannot be read now, or is unusable by the
        scheme (fail closed: never a 2xx), logged by the resolver without the value
    """

    def resolve(self, webhook_id: str, scheme: str, ref: SecretRef) -> bytes: ...

    def may_block(self, ref: SecretRef) -> bool:
        """Whether resolving may wait on I/O (a secrets backend), so not in an event loop."""
        ...


@dataclass(frozen=True, eq=False)
class Authenticated:
    """Proof that :meth:`WebhookEndpoint.authenticate` passed for this webhook and request."""

    webhook: Webhook
    request: WebhookRequest

    def covers(self, webhook: Webhook, request: WebhookRequest) -> bool:
        return self.webhook is webhook and self.request is request


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def public_url(base_url: str, path: str, query_string: bytes) -> str:
    """The URL a sender called, as it was given to the sender (what Twilio signs).

    :param base_url: ``[api] base_url``, the public origin (and path) of the api-server
    :param path: the path below it, e.g. ``/webhook/trigger/{id}``
    """
    query = query_string.decode("latin-1")
    return f"{base_url}{path}" + (f"?{query}" if query else "")


class WebhookEndpoint:
    """The request path of ``POST {prefix}/trigger/{id}``."""

    def __init__(
        self,
        settings: Settings,
        source: WebhookSource,
        runs: RunGateway,
        *,
        clock: Callable[[], datetime] = utcnow,
        auth: BasicAuthChecker | None = None,
        secrets: SecretResolver | None = None,
        deliveries: DeliveryRecorder | None = None,
        timer: Callable[[], float] = time.perf_counter,
        tokens: RunTokens | None = None,
    ) -> None:
        """:param tokens: run handles and status tokens under the replicas' shared secret
        (default: a random secret, this process only)"""
        self.settings = settings
        self.tokens = tokens or RunTokens()
        self._source = source
        self._runs = runs
        self._clock = clock
        self._timer = timer
        self.deliveries: DeliveryRecorder = deliveries or NoRecorder()
        self._auth = auth or BasicAuthChecker()
        self._secrets = secrets
        self._query_limits = QueryLimits(
            max_depth=settings.query_max_depth,
            max_array_index=settings.query_max_array_index,
            max_params=settings.query_max_params,
            max_length=settings.query_max_length,
        )
        self._captures = CaptureBudget(
            settings.test_capture_max_per_minute, settings.test_capture_max_bytes_per_minute, timer
        )

    def locate(self, method: str, webhook_id: str, content_length: str | None) -> Webhook:
        """Checks made before the body is read: method, webhook id, declared size.

        :raises MethodNotAllowed: not POST (method-override headers are ignored)
        :raises NotFound: unknown, disabled or malformed id
        :raises PayloadTooLarge: Content-Length over the limit
        """
        named = self._named(method, webhook_id)
        return self._found(self._source.get(webhook_id) if named else None, content_length)

    def locate_cached(self, method: str, webhook_id: str, content_length: str | None) -> Webhook | Missing:
        """:meth:`locate` if it needs no read (the definition is cached, or the request is
        refused before any lookup), else ``MISSING``: the adapter then calls :meth:`locate`
        off its event loop. Same errors as :meth:`locate`."""
        if not self._named(method, webhook_id):
            return self._found(None, content_length)
        hit = self._source.peek(webhook_id) if isinstance(self._source, CachedSource) else MISSING
        return hit if hit is MISSING else self._found(hit, content_length)

    @staticmethod
    def _named(method: str, webhook_id: str) -> bool:
        """A POST (else 405); whether the id is well formed (else 404, without a lookup)."""
        if method != "POST":
            raise MethodNotAllowed(f"method {method[:16]} not allowed; use POST", headers={"Allow": "POST"})
        return ID_RE.match(webhook_id) is not None

    def _found(self, webhook: Webhook | None, content_length: str | None) -> Webhook:
        if webhook is None or not webhook.enabled:
            raise NotFound("no such webhook")
        check_declared_size(content_length, self.settings.max_body_bytes)
        return webhook

    def slow_auth_key(self, webhook: Webhook) -> str | None:
        """What a slow credential check for this webhook would serialise on, or None.

        None when checking costs microseconds (no auth, or a password already verified
        in this process): an adapter may then call :meth:`authenticate` inline. Otherwise
        the first check costs a scrypt, to be run on a worker thread, one per key.
        """
        if webhook.auth is not None and self._auth.needs_slow_check(webhook.auth):
            return webhook.auth.password_hash
        signature = webhook.signature
        if signature is not None and self._secrets is not None:
            refs = [signature.secret, *([signature.previous] if signature.previous else [])]
            if any(self._secrets.may_block(ref) for ref in refs):
                return f"secrets of {webhook.id}"
        return None

    def authenticate(self, webhook: Webhook, request: WebhookRequest) -> Authenticated:
        """The webhook's auth checks: Basic auth, then the signature over the
        raw body (and, for Twilio, ``request.url``).

        An adapter calls this before taking a trigger slot and hands the result to
        :meth:`accept`, which then does not check again; without it, :meth:`accept` checks.

        :raises Unauthorized: missing, malformed or wrong credentials or signature
        :raises ServiceUnavailable: a signing secret cannot be read now
        """
        if webhook.auth is not None:
            self._auth.check(webhook.auth, request.headers)
        spec = webhook.signature
        if spec is not None:
            if not request.body and not webhook.allow_empty_body:
                # a signature over nothing may have been made for something else (a poll)
                raise BadRequest(
                    "an empty body is not a delivery of this signed webhook "
                    "(request.allow_empty_body is false)"
                )
            if self._secrets is None:  # a webhook with a signature, and no way to read secrets
                raise busy("the webhook's signing secret cannot be read", self.settings.retry_after_seconds)
            keys = [self._secrets.resolve(webhook.id, spec.scheme, spec.secret)]
            if spec.previous is not None:
                keys.append(self._secrets.resolve(webhook.id, spec.scheme, spec.previous))
            signed = SignedRequest(request.headers, request.body, request.url)
            try:
                verify_signature(spec, keys, signed, self._clock().timestamp())
            except UnusableSecret:  # resolvers check secrets first; this is the last line
                raise busy(
                    "the webhook's signing secret cannot be used", self.settings.retry_after_seconds
                ) from None
        return Authenticated(webhook, request)

    @overload
    def accept(
        self,
        webhook: Webhook,
        request: WebhookRequest,
        *,
        request_url: str = "",
        authenticated: Authenticated | None = None,
        started: float | None = None,
        defer: Literal[False] = False,
    ) -> HttpResponse | PendingRun: ...

    @overload
    def accept(
        self,
        webhook: Webhook,
        request: WebhookRequest,
        *,
        request_url: str = "",
        authenticated: Authenticated | None = None,
        started: float | None = None,
        defer: bool,
    ) -> HttpResponse | PendingRun | Deferred: ...

    def accept(
        self,
        webhook: Webhook,
        request: WebhookRequest,
        *,
        request_url: str = "",
        authenticated: Authenticated | None = None,
        started: float | None = None,
        defer: bool = False,
    ) -> HttpResponse | PendingRun | Deferred:
        """Authenticate, parse, start the run; answer (async) or say what to wait for (sync).

        With ``dedupe``, a repeat of a delivery gets the first one's answer and starts
        nothing; with ``filter``, a request that fails it is answered
        without a run (§11). Accepted deliveries are recorded with their run; the
        adapter reports the others (:meth:`recording`).

        :param request_url: the trigger URL as the caller used it (no query), for the
            status URL of a sync webhook
        :param authenticated: what :meth:`authenticate` returned for this very webhook and
            request, if the adapter checked first; else the checks are made here
        :param started: when the request arrived (``timer``), for the recorded duration
        :param defer: a run to be written with others comes back unwritten (:class:`Deferred`),
            for an adapter that can wait for its group without holding a thread
        :raises WebhookError: any rejection, with its status
        """
        started = self._timer() if started is None else started
        body, query = self._checked_and_parsed(webhook, request, authenticated)
        received_at = self._clock()
        key = None
        scheme = webhook.signature.scheme if webhook.signature else None
        if webhook.dedupe is not None:
            digest = None
            if webhook.dedupe.auto and scheme in SIGNED_DIGEST_KEYS:  # verified by now
                digest = signed_digest(scheme, SignedRequest(request.headers, request.body, request.url))
            key = delivery_key(
                webhook.dedupe,
                scheme,
                headers=request.headers,
                query=query,
                body=body,
                raw_body=request.body,
                signed_digest=digest,
            )
            if key is not None and (prior := self._runs.prior_delivery(webhook.id, key)) is not None:
                return self._repeat(webhook, key, prior, received_at, request_url, started)
        if webhook.filters:
            failure = first_failure(
                webhook.filters, request.headers, query, None if body is NO_BODY else body
            )
            if failure is not None:
                return self._ignored(webhook, failure, received_at, key, started)
        conf = build_conf(
            webhook,
            headers=request.headers,
            query=query,
            body=body,
            received_at=received_at,
            max_conf_bytes=self.settings.max_conf_bytes,
            handle=self.tokens.handle(webhook.id),
            signed=None if scheme is None else SIGNED_PARTS[scheme],
            delivery=None if key is None else key.value,
        )
        return self.start(
            webhook, conf, received_at, request_url=request_url, started=started, key=key, defer=defer
        )

    def start(
        self,
        webhook: Webhook,
        conf: dict[str, object],
        received_at: datetime,
        *,
        request_url: str,
        started: float,
        key: DeliveryKey | None,
        defer: bool = False,
    ) -> HttpResponse | PendingRun | Deferred:
        """Start the run of an accepted delivery, recorded with it (``defer``: see :meth:`accept`)."""
        run_id = make_run_id(self.tokens.handle(webhook.id), received_at)
        row = self._accepted_row(webhook, run_id, received_at, started, key)

        def answer(result: TriggeredRun | PriorDelivery) -> HttpResponse | PendingRun:
            return self._started(webhook, key, row, result, received_at, request_url, started)

        keyed = webhook.mode == "sync"  # a sync delivery waits for its run by key
        if not defer:
            return answer(
                self._runs.trigger(webhook.dag_id, run_id, conf, record=row, claim=key, keyed=keyed)
            )
        begun = self._runs.begin(webhook.dag_id, run_id, conf, record=row, claim=key, keyed=keyed)
        if isinstance(begun, TriggeredRun | PriorDelivery):
            return answer(begun)
        return Deferred(begun, lambda: answer(begun.outcome()))

    def _started(
        self,
        webhook: Webhook,
        key: DeliveryKey | None,
        row: DeliveryRow,
        result: TriggeredRun | PriorDelivery,
        received_at: datetime,
        request_url: str,
        started: float,
    ) -> HttpResponse | PendingRun:
        """The answer once the run is stored, or found started by a concurrent repeat."""
        if isinstance(result, PriorDelivery):  # a concurrent repeat claimed the key first
            if key is None:  # only a claim returns one
                raise busy("the run could not be stored", self.settings.retry_after_seconds)
            return self._repeat(webhook, key, result, received_at, request_url, started)
        self.deliveries.record(row, stored=True)
        if webhook.mode == "sync":
            status_url = self._status_url(webhook, request_url, result.run_id)
            return PendingRun(result, self._sync_timeout(webhook), status_url, row, started)
        configured = webhook.response
        return body_response(
            configured.status, configured.body, (*configured.headers, (RUN_ID_HEADER, result.run_id))
        )

    def _status_url(self, webhook: Webhook, request_url: str, run_id: str) -> str:
        """The run's status URL, with the token that alone opens it."""
        return f"{request_url}/runs/{run_id}?{self.tokens.status_query(webhook.id, run_id)}"

    def replay(self, webhook: Webhook, conf: dict[str, object], replay_of: str) -> DeliveryRow:
        """A new run with a past delivery's trigger variables, marked ``webhook.replay_of``.

        :param conf: the first run's conf
        :param replay_of: the delivery replayed
        """
        received_at = self._clock()
        first = conf.get("webhook")
        meta: dict[str, object] = dict(first) if isinstance(first, dict) else {"mode": webhook.mode}
        meta.pop("delivery", None)  # the key stays the first run's: a replay claims none
        meta.pop("id", None)  # a run from before handles: the id is never copied on
        handle = self.tokens.handle(webhook.id)
        meta.update(handle=handle, received_at=received_at.isoformat(), replay_of=replay_of)
        run_id = make_run_id(handle, received_at)
        row = self._accepted_row(webhook, run_id, received_at, self._timer(), None, replay_of)
        self._runs.trigger(webhook.dag_id, run_id, {**conf, "webhook": meta}, record=row, keyed=False)
        self.deliveries.record(row, stored=True)  # no claim: never a repeat's delivery
        return row

    def _accepted_row(
        self,
        webhook: Webhook,
        run_id: str,
        received_at: datetime,
        started: float,
        key: DeliveryKey | None,
        replay_of: str | None = None,
    ) -> DeliveryRow:
        """The delivery to store with its run."""
        return DeliveryRow(
            id=new_delivery_id(),
            webhook_id=webhook.id,
            received_at=received_at,
            outcome="accepted",
            # a sync delivery's status: once answered; a replay has no caller
            status=None if webhook.mode == "sync" or replay_of else webhook.response.status,
            dag_id=webhook.dag_id,
            run_id=run_id,
            delivery_key=None if key is None else key.value,
            duration_ms=round((self._timer() - started) * 1000, 3),
            replay_of=replay_of,
        )

    def _repeat(
        self,
        webhook: Webhook,
        key: DeliveryKey,
        prior: PriorDelivery,
        received_at: datetime,
        request_url: str,
        started: float,
    ) -> HttpResponse | PendingRun:
        """A repeat of a delivery: the first one's answer, no run."""
        if prior.body_sha256 != key.body_sha256:
            raise Conflict(
                "this delivery key was already used with another body; no run was started",
                extra={"delivery_key": key.value, "run_id": prior.run_id},
            )
        row = DeliveryRow(
            id=new_delivery_id(),
            webhook_id=webhook.id,
            received_at=received_at,
            outcome="duplicate",
            dag_id=prior.dag_id,
            run_id=prior.run_id,
            delivery_key=key.value,
        )
        run = TriggeredRun(prior.dag_id, prior.run_id, prior.run_key)
        if webhook.mode == "sync":
            # the first run gone (Airflow's db clean): nothing to wait for
            timeout = self._sync_timeout(webhook) if prior.run_key else 0.0
            return PendingRun(run, timeout, self._status_url(webhook, request_url, run.run_id), row, started)
        configured = webhook.response
        self.deliveries.record(row.answered(configured.status, (self._timer() - started) * 1000))
        return body_response(
            configured.status, configured.body, (*configured.headers, (RUN_ID_HEADER, run.run_id))
        )

    def _ignored(
        self,
        webhook: Webhook,
        failure: FilterFailure,
        received_at: datetime,
        key: DeliveryKey | None,
        started: float,
    ) -> HttpResponse:
        """A request its webhook's filter leaves out: answered, no run. The caller learns which
        condition failed; the record keeps what was seen and expected, for operators."""
        configured = webhook.ignored_response
        if configured is None:
            response = json_response(200, {"ignored": True, "reason": failure.reason})
        else:
            response = body_response(configured.status, configured.body, configured.headers)
        row = DeliveryRow(
            id=new_delivery_id(),
            webhook_id=webhook.id,
            received_at=received_at,
            outcome="filtered",
            error=error_text(failure.detail),
            dag_id=webhook.dag_id,
            delivery_key=None if key is None else key.value,
        )
        self.deliveries.record(row.answered(response.status, (self._timer() - started) * 1000))
        return response

    def _checked_and_parsed(
        self, webhook: Webhook, request: WebhookRequest, authenticated: Authenticated | None
    ) -> tuple[object, dict[str, object]]:
        """The size, the auth (unless ``authenticated`` covers this request), the parsed
        body (or ``NO_BODY``) and query: what :meth:`accept` and :meth:`capture` share."""
        if len(request.body) > self.settings.max_body_bytes:
            raise body_too_large(self.settings.max_body_bytes)
        if authenticated is None or not authenticated.covers(webhook, request):
            self.authenticate(webhook, request)
        body = read_body(
            request.headers.get("content-type"),
            request.body,
            max_depth=self.settings.json_max_depth,
            query_limits=self._query_limits,
        )
        return body, parse_query(request.query_string, self._query_limits)

    def capture(
        self, webhook: Webhook, request: WebhookRequest, *, authenticated: Authenticated | None = None
    ) -> tuple[dict[str, object], HttpResponse]:
        """``POST {prefix}/test/{id}``: the request as the webhook's sample, no run.

        Same auth as the webhook; the sample keeps every header but those that may carry a
        credential (:func:`signatures.is_credential_header`), the parsed query and body, and
        names the headers it dropped (``dropped_headers``, lower case, each once). The
        answer lists the paths of each part. At most ``test_capture_max_per_minute``
        captures and ``test_capture_max_bytes_per_minute`` body bytes per webhook per
        minute are stored in this process (:class:`CaptureBudget`).

        :param authenticated: as for :meth:`accept`
        :return: the sample to store, and the answer
        :raises WebhookError: as :meth:`accept` would, before any run;
            :class:`TooManyRequests` (429 + ``Retry-After``) past the caps, nothing to store
        """
        body, query = self._checked_and_parsed(webhook, request, authenticated)
        retry_after = self._captures.take(webhook.id, len(request.body))
        if retry_after is not None:
            raise TooManyRequests(
                f"too many test captures of webhook {webhook.id} this minute; retry later",
                headers={"Retry-After": str(retry_after)},
            )
        configured = (
            webhook.signature.header.lower() if webhook.signature and webhook.signature.header else ""
        )
        # lower case: ASGI servers hand names over so, WSGI ones title-cased (and matching
        # a configured header ignores case anyway)
        headers: list[tuple[str, str]] = []
        dropped: dict[str, None] = {}  # in order of arrival, each once
        for name, value in request.headers.fields():
            lower = name.lower()
            if lower in FORBIDDEN_READ_HEADERS or lower == configured or is_credential_header(name):
                dropped[lower] = None
            else:
                headers.append((lower, value))
        sample: dict[str, object] = {
            "headers": [[name, value] for name, value in headers],
            "query": query,
            "body": None if body is NO_BODY else body,
            "dropped_headers": list(dropped),
        }
        return sample, json_response(200, sample_paths(sample))

    @contextmanager
    def recording(self, webhook: Webhook, started: float) -> Iterator[None]:
        """Around everything an adapter does once :meth:`locate` found the webhook: an
        error is recorded as a rejected delivery, then raised on."""
        try:
            yield
        except WebhookError as error:
            row = DeliveryRow(
                id=new_delivery_id(),
                webhook_id=webhook.id,
                received_at=self._clock(),
                outcome="rejected",
                error=error_text(str(error.detail)),
                dag_id=webhook.dag_id,
            )
            self.deliveries.record(row.answered(error.status_code, (self._timer() - started) * 1000))
            raise

    def _sync_timeout(self, webhook: Webhook) -> float:
        wanted = webhook.sync_timeout_seconds or self.settings.sync_default_timeout_seconds
        return min(wanted, self.settings.sync_max_timeout_seconds)

    def finish(self, pending: PendingRun, snapshot: RunSnapshot | None) -> HttpResponse:
        """The answer to a sync caller once its run settled (or the wait timed out), recorded."""
        response = self._sync_answer(pending, snapshot)
        if pending.delivery is not None:
            row = pending.delivery.answered(response.status, (self._timer() - pending.started) * 1000)
            if row.outcome == "accepted":
                self.deliveries.answered(row)
            else:
                self.deliveries.record(row)
        return response

    def _sync_answer(self, pending: PendingRun, snapshot: RunSnapshot | None) -> HttpResponse:
        if snapshot is None:
            return json_response(
                202,
                {
                    "dag_id": pending.run.dag_id,
                    "run_id": pending.run.run_id,
                    "status_url": pending.status_url,
                },
                (("Location", pending.status_url), (RUN_ID_HEADER, pending.run.run_id)),
            )
        return run_answer(pending.run, snapshot)

    def status(self, method: str, webhook_id: str, run_id: str, query_string: bytes) -> HttpResponse:
        """``GET {trigger URL}/runs/{run_id}?token=...``: the recorded response, or the run's state.

        Opened by the run's token (the status URL handed to its sync caller), never by the
        webhook's credentials: a poll carries nothing that could start a run. Without a
        valid token, or for a run that is not this webhook's, it is unknown (404, the same
        answer whether the webhook exists or not).
        """
        if method not in ("GET", "HEAD"):
            raise MethodNotAllowed(f"method {method[:16]} not allowed; use GET", headers={"Allow": "GET"})
        if not self.tokens.matches(webhook_id, run_id, query_string):  # before any lookup
            raise NotFound("no such run for this webhook")
        webhook = self._source.get(webhook_id) if ID_RE.match(webhook_id) else None
        if webhook is None or not webhook.enabled:
            raise NotFound("no such webhook")
        found = None
        if run_id.startswith(self.tokens.run_prefix(webhook.id)) and RUN_ID_RE.match(run_id):
            found = self._runs.snapshot(webhook.dag_id, run_id)
        if found is None:
            raise NotFound("no such run for this webhook")
        run, snapshot = found
        if webhook.mode != "sync" and snapshot.response is not None:
            # only a sync webhook's caller waits for an answer decided in the DAG: an async
            # webhook's status URL tells the run's state, whatever its tasks wrote to XCom
            snapshot = replace(snapshot, response=None)
        if not snapshot.settled:
            return json_response(
                202,
                {"dag_id": run.dag_id, "run_id": run.run_id, "state": snapshot.state},
                ((RUN_ID_HEADER, run.run_id),),
            )
        return run_answer(run, snapshot)
