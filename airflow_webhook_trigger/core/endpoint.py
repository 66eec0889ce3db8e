"""The webhook endpoint's rules, free of any web framework and of Airflow.

An adapter calls, in order: :meth:`WebhookEndpoint.locate` (method, id, declared
size: cheap checks before the body is read), reads the body within
``settings.max_body_bytes`` (:func:`errors.body_too_large`), then :meth:`WebhookEndpoint.accept`
(auth, content type, parsing, conf, the run, the response). Errors are values
(:class:`WebhookError`) rendered once by :func:`response.error_response`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Literal, overload

from airflow_webhook_trigger.core import outcomes
from airflow_webhook_trigger.core.answers import capture_sample, run_status, sync_answer
from airflow_webhook_trigger.core.arrival import Arrival, Authenticated, SecretResolver, public_url, utcnow
from airflow_webhook_trigger.core.auth import BasicAuthChecker
from airflow_webhook_trigger.core.capture_budget import CaptureBudget
from airflow_webhook_trigger.core.credentials import Credentials
from airflow_webhook_trigger.core.dedupe import SIGNED_DIGEST_KEYS, DeliveryKey, delivery_key
from airflow_webhook_trigger.core.definition import ID_RE, Webhook
from airflow_webhook_trigger.core.delivery import (
    DeliveryRecorder,
    DeliveryRow,
    NoRecorder,
    PriorDelivery,
)
from airflow_webhook_trigger.core.errors import (
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
    Deferred,
    PendingRun,
    RunGateway,
    RunOrder,
    TriggeredRun,
    make_run_id,
)
from airflow_webhook_trigger.core.sample import sample_paths
from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.core.signatures import SIGNED_PARTS, SignedRequest, signed_digest
from airflow_webhook_trigger.core.trigger_variables import build_conf
from airflow_webhook_trigger.core.ttl_cache import MISSING, Missing
from airflow_webhook_trigger.core.waiter import RunSnapshot
from airflow_webhook_trigger.core.webhook_source import CachedSource, WebhookSource

__all__ = ["Arrival", "Authenticated", "SecretResolver", "WebhookEndpoint", "public_url", "utcnow"]


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
        #: the clock a request's duration is measured by (the driver starts it)
        self.timer = timer
        self.deliveries: DeliveryRecorder = deliveries or NoRecorder()
        checker = auth or BasicAuthChecker()
        self._credentials = Credentials(checker, secrets, clock, settings.retry_after_seconds)
        self._query_limits = QueryLimits(
            max_depth=settings.query_max_depth,
            max_array_index=settings.query_max_array_index,
            max_params=settings.query_max_params,
            max_length=settings.query_max_length,
        )
        #: the test captures this process still takes per webhook (injected in tests)
        self.captures = CaptureBudget(
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

    def slow_check_queue(self, webhook: Webhook) -> str | None:
        """:meth:`Credentials.slow_check_queue`: None, or the queue of a slow first check."""
        return self._credentials.slow_check_queue(webhook)

    def authenticate(self, webhook: Webhook, request: WebhookRequest) -> Authenticated:
        """:meth:`Credentials.authenticate`. An adapter calls this before taking a trigger
        slot and hands the result to :meth:`accept`, which then does not check again;
        without it, :meth:`accept` checks."""
        return self._credentials.authenticate(webhook, request)

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
        scheme = webhook.signature.scheme if webhook.signature else None
        answer = self._credentials.handshake(webhook, request, query, body, received_at.timestamp())
        if answer is not None:
            self.deliveries.record(
                outcomes.handshake(webhook, received_at).answered(answer.status, self._elapsed_ms(started))
            )
            return answer
        dedupe_key = None
        if webhook.dedupe is not None:
            digest = None
            if webhook.dedupe.auto and scheme in SIGNED_DIGEST_KEYS:  # verified by now
                digest = signed_digest(scheme, SignedRequest(request.headers, request.body, request.url))
            dedupe_key = delivery_key(
                webhook.dedupe,
                scheme,
                headers=request.headers,
                query=query,
                body=body,
                raw_body=request.body,
                signed_digest=digest,
            )
        arrival = Arrival(webhook, received_at, started, request_url, dedupe_key)
        if (
            dedupe_key is not None
            and (prior := self._runs.prior_delivery(webhook.id, dedupe_key)) is not None
        ):
            return self._repeat(arrival, dedupe_key, prior)
        if webhook.filters:
            failure = first_failure(
                webhook.filters, request.headers, query, None if body is NO_BODY else body
            )
            if failure is not None:
                return self._ignored(arrival, failure)
        conf = build_conf(
            webhook,
            headers=request.headers,
            query=query,
            body=body,
            received_at=received_at,
            max_conf_bytes=self.settings.max_conf_bytes,
            handle=self.tokens.handle(webhook.id),
            signed=None if scheme is None else SIGNED_PARTS[scheme],
            delivery=None if dedupe_key is None else dedupe_key.value,
        )
        return self.start(arrival, conf, defer=defer)

    def start(
        self, arrival: Arrival, conf: dict[str, object], *, defer: bool = False
    ) -> HttpResponse | PendingRun | Deferred:
        """Start the run of an accepted delivery, recorded with it (``defer``: see :meth:`accept`)."""
        webhook = arrival.webhook
        run_id = make_run_id(self.tokens.handle(webhook.id), arrival.received_at)
        delivery = outcomes.accepted(arrival, run_id, self._elapsed_ms(arrival.started))
        # a sync delivery waits for its run by the run's row id
        order = RunOrder(webhook.dag_id, run_id, conf, delivery, wants_row_id=webhook.mode == "sync")

        def answer(result: TriggeredRun | PriorDelivery) -> HttpResponse | PendingRun:
            return self._started(arrival, delivery.row, result)

        if not defer:
            return answer(self._runs.trigger(order))
        begun = self._runs.begin(order)
        if isinstance(begun, TriggeredRun | PriorDelivery):
            return answer(begun)
        return Deferred(begun, lambda: answer(begun.outcome()))

    def _started(
        self, arrival: Arrival, row: DeliveryRow, result: TriggeredRun | PriorDelivery
    ) -> HttpResponse | PendingRun:
        """The answer once the run is stored, or found started by a concurrent repeat."""
        webhook = arrival.webhook
        if isinstance(result, PriorDelivery):  # a concurrent repeat claimed the key first
            if arrival.delivery_key is None:  # only a claim returns one
                raise busy("the run could not be stored", self.settings.retry_after_seconds)
            return self._repeat(arrival, arrival.delivery_key, result)
        self.deliveries.record(row, stored=True)
        if webhook.mode == "sync":
            status_url = self._status_url(arrival, result.run_id)
            return PendingRun(result, self._sync_timeout(webhook), status_url, row, arrival.started)
        configured = webhook.response
        return body_response(
            configured.status, configured.body, (*configured.headers, (RUN_ID_HEADER, result.run_id))
        )

    def _status_url(self, arrival: Arrival, run_id: str) -> str:
        """The run's status URL, with the token that alone opens it."""
        query = self.tokens.status_query(arrival.webhook.id, run_id)
        return f"{arrival.status_base_url}/runs/{run_id}?{query}"

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
        # a replay has no caller (so no status URL) and claims no key
        arrival = Arrival(webhook, received_at, self._timer(), status_base_url="")
        delivery = outcomes.accepted(arrival, run_id, 0.0, replay_of)
        conf = {**conf, "webhook": meta}
        self._runs.trigger(RunOrder(webhook.dag_id, run_id, conf, delivery, wants_row_id=False))
        self.deliveries.record(delivery.row, stored=True)  # no claim: never a repeat's delivery
        return delivery.row

    def _repeat(
        self, arrival: Arrival, dedupe_key: DeliveryKey, prior: PriorDelivery
    ) -> HttpResponse | PendingRun:
        """A repeat of a delivery: the first one's answer, no run."""
        webhook = arrival.webhook
        if prior.body_sha256 != dedupe_key.body_sha256:
            raise Conflict(
                "this delivery key was already used with another body; no run was started",
                extra={"delivery_key": dedupe_key.value, "run_id": prior.run_id},
            )
        row = outcomes.duplicate(arrival, dedupe_key, prior)
        run = TriggeredRun(prior.dag_id, prior.run_id, prior.run_row_id)
        if webhook.mode == "sync":
            # the first run gone (Airflow's db clean): nothing to wait for
            timeout = self._sync_timeout(webhook) if prior.run_row_id else 0.0
            return PendingRun(run, timeout, self._status_url(arrival, run.run_id), row, arrival.started)
        configured = webhook.response
        self.deliveries.record(row.answered(configured.status, self._elapsed_ms(arrival.started)))
        return body_response(
            configured.status, configured.body, (*configured.headers, (RUN_ID_HEADER, run.run_id))
        )

    def _ignored(self, arrival: Arrival, failure: FilterFailure) -> HttpResponse:
        """A request its webhook's filter leaves out: answered, no run. The caller learns which
        condition failed; the record keeps what was seen and expected, for operators."""
        webhook = arrival.webhook
        configured = webhook.ignored_response
        if configured is None:
            response = json_response(200, {"ignored": True, "reason": failure.reason})
        else:
            response = body_response(configured.status, configured.body, configured.headers)
        row = outcomes.filtered(arrival, failure.detail)
        self.deliveries.record(row.answered(response.status, self._elapsed_ms(arrival.started)))
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
        retry_after = self.captures.take(webhook.id, len(request.body))
        if retry_after is not None:
            raise TooManyRequests(
                f"too many test captures of webhook {webhook.id} this minute; retry later",
                headers={"Retry-After": str(retry_after)},
            )
        sample = capture_sample(webhook, request, query, body)
        return sample, json_response(200, sample_paths(sample))

    def rejected(self, webhook: Webhook, error: WebhookError, started: float) -> None:
        """Record a request refused once its webhook was found (the driver calls this)."""
        row = outcomes.rejected(webhook, self._clock(), str(error.detail))
        self.deliveries.record(row.answered(error.status_code, self._elapsed_ms(started)))

    def _elapsed_ms(self, started: float) -> float:
        return (self._timer() - started) * 1000

    def _sync_timeout(self, webhook: Webhook) -> float:
        wanted = webhook.sync_timeout_seconds or self.settings.sync_default_timeout_seconds
        return min(wanted, self.settings.sync_max_timeout_seconds)

    def finish(self, pending: PendingRun, snapshot: RunSnapshot | None) -> HttpResponse:
        """The answer to a sync caller once its run settled (or the wait timed out), recorded."""
        response = sync_answer(pending, snapshot)
        if pending.delivery is not None:
            row = pending.delivery.answered(response.status, self._elapsed_ms(pending.started))
            if row.outcome == "accepted":
                self.deliveries.answered(row)
            else:
                self.deliveries.record(row)
        return response

    def status(self, method: str, webhook_id: str, run_id: str, query_string: bytes) -> HttpResponse:
        """``GET {trigger URL}/runs/{run_id}?token=...`` (:func:`answers.run_status`)."""
        return run_status(self._source, self._runs, self.tokens, method, webhook_id, run_id, query_string)
