"""The request driver: the one sequence every adapter runs, over a small IO protocol.

For ``POST {prefix}/trigger/{id}``: find the webhook (method, id and declared size checked
first), take a sync caller's place, read the body, authenticate outside the trigger slots,
then in a slot parse, dedupe, filter and write the run (with others, when the IO can wait
for a group's commit), wait for a sync run, answer; a rejection on the way is recorded.
The steps are :class:`WebhookEndpoint`'s; the IO (threads, the event loop, the body) is
the adapter's (:class:`DriverIO`). The sequence is written once, as coroutines: the asyncio
adapter awaits them, the threaded one runs them with :func:`run_blocking`, its IO never
suspending.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar, cast

from airflow_webhook_trigger.core.arrival import Authenticated, public_url
from airflow_webhook_trigger.core.definition import Webhook
from airflow_webhook_trigger.core.endpoint import WebhookEndpoint
from airflow_webhook_trigger.core.errors import WebhookError, busy
from airflow_webhook_trigger.core.request import Headers, WebhookRequest
from airflow_webhook_trigger.core.response import INTERNAL_ERROR, HttpResponse, error_response
from airflow_webhook_trigger.core.runs import Deferred, PendingRun
from airflow_webhook_trigger.core.ttl_cache import Missing
from airflow_webhook_trigger.core.waiter import RunSnapshot, SyncCallers, SyncSlot

__all__ = ["DriverIO", "RequestDriver", "RequestHead", "SampleSink", "WriteWaiter", "run_blocking"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RequestHead:
    """What an adapter knows of a request before reading its body."""

    method: str
    headers: Headers
    query_string: bytes
    #: the URL as the caller used it, without its query: a sync run's status URL is below it
    called_url: str
    #: where the framework mounts the plugin's app below ``[api] base_url`` (Flask's
    #: ``/pluginsv2`` on Airflow 3; empty for the FastAPI app), for the public URL a sender signs
    script_root: str = ""


class WriteWaiter(Protocol):
    """Set once a queued group write is committed or failed (:class:`RunWrite`)."""

    def queue(self, result: T) -> T:
        """On the thread that prepared ``result``: queue its write if it is :class:`Deferred`."""
        ...

    async def wait(self) -> None: ...


class DriverIO(Protocol):
    """An adapter's IO for one request: its body, and where blocking work and waits run.

    Implemented for asyncio (threads of bounded pools, waits in the event loop) and for a
    request's own thread (every method runs its work at once and never suspends).
    """

    head: RequestHead
    #: whether the run may be written with others (:class:`Deferred`), waited for by
    #: :meth:`write_waiter` without holding a thread
    defers_writes: bool

    async def read_body(self, limit: int) -> bytes:
        """The whole body, or :func:`errors.body_too_large` past ``limit`` bytes."""
        ...

    async def lookup(self, work: Callable[[], T]) -> T:
        """A quick blocking read (the webhook's definition, a run's status)."""
        ...

    async def slow_check(self, queue: str, work: Callable[[], T]) -> T:
        """A slow first credential check, one at a time per ``queue``, before any slot."""
        ...

    def trigger_slot(self) -> AbstractAsyncContextManager[None]:
        """One of the slots bounding the deliveries being accepted at once (or 503)."""
        ...

    async def in_slot(self, work: Callable[[], T]) -> T:
        """Blocking work of a request holding a trigger slot."""
        ...

    def write_waiter(self) -> WriteWaiter:
        """A waiter for one group write (only called when :attr:`defers_writes`)."""
        ...

    async def wait_run(self, run_row_id: int, timeout: float) -> RunSnapshot | None:
        """A sync run's snapshot once settled, or None (timed out, or no place to wait)."""
        ...


class SampleSink(Protocol):
    """Where a test capture's sample is stored (the delivery log)."""

    def save_sample(self, webhook_id: str, sample: dict[str, object]) -> None: ...


class RequestDriver:
    """The trigger, test-capture and status URLs, driven once for both adapters."""

    def __init__(
        self,
        endpoint: WebhookEndpoint,
        samples: SampleSink,
        *,
        sync_callers: SyncCallers,
        base_url: str,
    ) -> None:
        """:param sync_callers: ``sync_max_waiting`` places for sync callers, this process
        :param base_url: ``[api] base_url``, the public origin senders call"""
        self.endpoint = endpoint
        self._samples = samples
        self._sync_callers = sync_callers
        self._base_url = base_url
        self._prefix = endpoint.settings.url_prefix

    async def trigger(self, io: DriverIO, webhook_id: str) -> HttpResponse:
        """``POST {prefix}/trigger/{id}``: any error answered as JSON, never raised."""
        return await _answered(functools.partial(self._trigger, io, webhook_id))

    async def capture(self, io: DriverIO, webhook_id: str) -> HttpResponse:
        """``POST {prefix}/test/{id}``: the request stored as the webhook's sample, no run."""
        return await _answered(functools.partial(self._capture, io, webhook_id))

    async def status(self, io: DriverIO, webhook_id: str, run_id: str) -> HttpResponse:
        """``GET {prefix}/trigger/{id}/runs/{run_id}?token=...``."""
        head, endpoint = io.head, self.endpoint
        work = functools.partial(endpoint.status, head.method, webhook_id, run_id, head.query_string)
        return await _answered(functools.partial(io.lookup, work))

    async def _trigger(self, io: DriverIO, webhook_id: str) -> HttpResponse:
        endpoint = self.endpoint
        started = endpoint.timer()
        webhook = await self._located(io, webhook_id)
        with self._sync_place(webhook) as place:
            with self._recording(webhook, started):
                incoming = await self._incoming(io, f"/trigger/{webhook.id}")
                proof = await self._authenticated(io, webhook, incoming)
                async with io.trigger_slot():
                    result = await self._accepted(io, webhook, incoming, proof, started)
            if isinstance(result, HttpResponse):
                return result
            if place is not None:
                place.waits_on(result.run.row_id)
            snapshot = await io.wait_run(result.run.row_id, result.timeout)
            return endpoint.finish(result, snapshot)

    @contextmanager
    def _recording(self, webhook: Webhook, started: float) -> Iterator[None]:
        """Around everything done once the webhook is found: an error is recorded as a
        rejected delivery, then raised on (to be answered)."""
        try:
            yield
        except WebhookError as error:
            self.endpoint.rejected(webhook, error, started)
            raise

    async def _accepted(
        self, io: DriverIO, webhook: Webhook, incoming: WebhookRequest, proof: Authenticated, started: float
    ) -> HttpResponse | PendingRun:
        """Parse, dedupe, filter and write, on a slot's thread; a grouped write waited for
        in between, holding none."""
        accept = functools.partial(
            self.endpoint.accept,
            webhook,
            incoming,
            request_url=io.head.called_url,
            authenticated=proof,
            started=started,
        )
        if not io.defers_writes:
            return await io.in_slot(accept)
        written = io.write_waiter()
        result = await io.in_slot(lambda: written.queue(accept(defer=True)))
        if not isinstance(result, Deferred):
            return result
        await written.wait()  # its group's commit
        # a failed group write looks for a concurrent repeat in the DB: not in the event loop
        return await io.in_slot(result.resume) if result.write.failed else result.resume()

    async def _capture(self, io: DriverIO, webhook_id: str) -> HttpResponse:
        webhook = await self._located(io, webhook_id)
        incoming = await self._incoming(io, f"/test/{webhook.id}")
        proof = await self._authenticated(io, webhook, incoming)

        def capture() -> HttpResponse:
            sample, answer = self.endpoint.capture(webhook, incoming, authenticated=proof)
            self._samples.save_sample(webhook.id, sample)
            return answer

        async with io.trigger_slot():
            return await io.in_slot(capture)

    async def _located(self, io: DriverIO, webhook_id: str) -> Webhook:
        """The webhook the URL names: from the cache without a thread hop, else looked up."""
        endpoint, head = self.endpoint, io.head
        length = head.headers.get("content-length")
        cached = endpoint.locate_cached(head.method, webhook_id, length)
        if not isinstance(cached, Missing):
            return cached
        return await io.lookup(functools.partial(endpoint.locate, head.method, webhook_id, length))

    async def _incoming(self, io: DriverIO, path: str) -> WebhookRequest:
        """The request as the core sees it, its body read within the limit."""
        head = io.head
        body = await io.read_body(self.endpoint.settings.max_body_bytes)
        return WebhookRequest(
            method=head.method,
            headers=head.headers,
            query_string=head.query_string,
            body=body,
            url=public_url(self._base_url, f"{head.script_root}{self._prefix}{path}", head.query_string),
        )

    async def _authenticated(self, io: DriverIO, webhook: Webhook, incoming: WebhookRequest) -> Authenticated:
        """The webhook's auth checks, outside the trigger slots: a flood of wrong passwords
        must not hold the slots every other webhook needs. HMACs inline; a first scrypt or a
        secrets backend on the IO's queue for slow checks, one per key at a time."""
        endpoint = self.endpoint
        slow_queue = endpoint.slow_check_queue(webhook)
        check = functools.partial(endpoint.authenticate, webhook, incoming)
        return check() if slow_queue is None else await io.slow_check(slow_queue, check)

    @contextmanager
    def _sync_place(self, webhook: Webhook) -> Iterator[SyncSlot | None]:
        """A place among the process's sync callers while a sync delivery is handled and
        waited for (None for an async webhook). Taken before its run is written: past the
        cap the sender gets 503 + ``Retry-After`` and no run (a run committed, then answered
        503, would be started again by the sender's retry)."""
        if webhook.mode != "sync":
            yield None
            return
        place = self._sync_callers.take()
        if place is None:
            retry_after = self.endpoint.settings.retry_after_seconds
            raise busy("too many sync callers are waiting in this process", retry_after)
        try:
            yield place
        finally:
            place.release()


async def _answered(work: Callable[[], Coroutine[object, object, HttpResponse]]) -> HttpResponse:
    """The one place that turns errors into answers, for both adapters."""
    try:
        return await work()
    except WebhookError as exc:
        return error_response(exc)
    except Exception:
        log.exception("unexpected error while handling a webhook")
        return INTERNAL_ERROR


def run_blocking(work: Coroutine[object, object, T]) -> T:
    """Run a driver coroutine on this thread, over an IO that never suspends."""
    try:
        work.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    work.close()
    raise RuntimeError("a threaded DriverIO suspended: its methods must finish without awaiting")
