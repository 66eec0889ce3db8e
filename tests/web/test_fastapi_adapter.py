"""The FastAPI adapter's admission: bounded before a thread is taken, never 503 after a start."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from anyio import to_thread

from airflow_webhook_trigger.core.errors import ServiceUnavailable
from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.web.admission import Admission


def _admission(slots: int = 1, wait: float = 0.05) -> Admission:
    return Admission(
        Settings(max_concurrent_triggers=slots, trigger_slot_wait_seconds=wait, retry_after_seconds=7)
    )


def test_request_beyond_the_slots_gets_503_with_retry_after_then_slots_free_again() -> None:
    admission = _admission(slots=1)
    release = threading.Event()

    async def scenario() -> tuple[object, object, object]:
        first = asyncio.create_task(admission.run(lambda: release.wait(10) and "first"))
        await asyncio.sleep(0.05)  # the first request holds the only slot
        with pytest.raises(ServiceUnavailable) as info:
            await admission.run(lambda: "second")
        release.set()
        return await first, info.value, await admission.run(lambda: "third")

    first, error, third = asyncio.run(scenario())
    assert (first, third) == ("first", "third")
    assert isinstance(error, ServiceUnavailable)
    assert error.headers == {"Retry-After": "7"}
    assert error.detail == "too many webhooks are being accepted at once; retry later"


def test_admitted_work_slower_than_the_wait_is_still_answered() -> None:
    """A run once started (maybe committed) must get its answer, never a 503."""
    admission = _admission(slots=1, wait=0.01)

    def slow() -> str:
        time.sleep(0.2)
        return "committed"

    assert asyncio.run(admission.run(slow)) == "committed"


def test_waiting_requests_hold_no_thread() -> None:
    admission = _admission(slots=1, wait=5)
    release = threading.Event()

    async def scenario() -> tuple[int, int, list[str]]:
        before = threading.active_count()
        tasks = [asyncio.create_task(admission.run(lambda: release.wait(10) and "done")) for _ in range(50)]
        await asyncio.sleep(0.2)
        during = threading.active_count()
        release.set()
        return before, during, list(await asyncio.gather(*tasks))

    before, during, results = asyncio.run(scenario())
    assert results == ["done"] * 50
    assert during - before <= 2  # the one admitted request's worker thread (+ slack), not 50


@contextlib.asynccontextmanager
async def _shared_pool_taken() -> AsyncIterator[None]:
    """anyio's default thread limiter down to one token, held by a blocked call; at most 5 s."""
    to_thread.current_default_thread_limiter().total_tokens = 1
    busy = threading.Event()
    hog = asyncio.create_task(to_thread.run_sync(lambda: busy.wait(10)))  # takes the only token
    await asyncio.sleep(0.05)
    try:
        with anyio.fail_after(5):
            yield
    finally:
        busy.set()
        await hog


def test_admitted_work_does_not_need_the_shared_thread_pool() -> None:
    """A burst of webhooks cannot starve Airflow's own endpoints of anyio's default threads."""
    admission = _admission(slots=2, wait=1)

    async def scenario() -> str:
        async with _shared_pool_taken():
            return await admission.run(lambda: "admitted")

    assert asyncio.run(scenario()) == "admitted"


def test_lookups_run_on_threads_of_their_own_without_a_time_limit() -> None:
    admission = _admission(slots=2, wait=0.01)

    async def scenario() -> list[str]:
        async with _shared_pool_taken():
            # 20 lookups on 2 threads, each slower than the admission wait: all answered
            lookups = (admission.lookup(lambda: time.sleep(0.02) or "ok") for _ in range(20))
            return list(await asyncio.gather(*lookups))

    assert asyncio.run(scenario()) == ["ok"] * 20


def test_each_event_loop_gets_its_own_gate() -> None:
    admission = _admission(slots=1)
    assert asyncio.run(admission.run(lambda: 1)) == 1
    assert asyncio.run(admission.run(lambda: 2)) == 2  # a new loop (TestClient makes one per use)


def _driver(endpoint: Any) -> Any:
    """The request driver over ``endpoint``, for async webhooks (no sync caller waits)."""
    from airflow_webhook_trigger.core.driver import RequestDriver
    from airflow_webhook_trigger.core.waiter import SyncCallers

    return RequestDriver(endpoint, samples=None, sync_callers=SyncCallers(0), base_url="http://test")  # type: ignore[arg-type]


def _trigger_app(
    webhooks: dict[str, Any], slots: int, wait: float, *, cache_seconds: float = 0
) -> tuple[Any, Any, Admission]:
    """The FastAPI adapter's trigger route alone, on the core with a fake Airflow."""
    from types import SimpleNamespace

    from starlette.applications import Starlette
    from starlette.routing import Route

    from airflow_webhook_trigger.core.endpoint import WebhookEndpoint
    from airflow_webhook_trigger.core.webhook_source import CachedSource
    from airflow_webhook_trigger.web.fastapi_adapter import TriggerRoute
    from tests.fakes import FakeRuns, FakeSource

    settings = Settings(max_concurrent_triggers=slots, trigger_slot_wait_seconds=wait, retry_after_seconds=7)
    runs = FakeRuns()
    source = CachedSource(FakeSource(webhooks), cache_seconds) if cache_seconds else FakeSource(webhooks)
    endpoint = WebhookEndpoint(settings, source, runs)
    runtime = SimpleNamespace(settings=settings, endpoint=endpoint, waiter=None, driver=_driver(endpoint))
    admission = Admission(settings)
    app = Starlette(routes=[Route("/trigger/{webhook_id}", TriggerRoute(lambda: runtime, lambda: admission))])
    return app, runs, admission


def test_wrong_password_flood_holds_no_trigger_slot_and_delays_no_other_webhook() -> None:
    """Credentials are checked before a trigger slot is taken, one slow check per password."""
    import base64

    import httpx

    from airflow_webhook_trigger.core.auth import hash_password
    from airflow_webhook_trigger.core.definition import BasicAuth, parse_document

    def webhook(webhook_id: str, password: str | None) -> Any:
        hook = parse_document({"id": webhook_id, "dag_id": "dag_a"}).webhook
        return hook.with_changes(auth=BasicAuth("u", hash_password(password))) if password else hook

    hooks = {"hook-flood-00001": webhook("hook-flood-00001", "right"), "hook-calm-000001": None}
    hooks["hook-calm-000001"] = webhook("hook-calm-000001", "calm")
    app, runs, admission = _trigger_app(hooks, slots=1, wait=10)
    slot_takers: list[str] = []
    take_slot = admission.slot

    def spied_slot() -> Any:
        slot_takers.append("request")
        return take_slot()

    admission.slot = spied_slot  # type: ignore[method-assign]
    wrong = {"Authorization": "Basic " + base64.b64encode(b"u:wrong").decode()}
    calm = {"Authorization": "Basic " + base64.b64encode(b"u:calm").decode()}
    finished: list[str] = []

    async def post(client: Any, webhook_id: str, headers: dict[str, str], name: str) -> int:
        response = await client.post(f"/trigger/{webhook_id}", headers=headers)
        finished.append(name)
        return int(response.status_code)

    async def scenario() -> tuple[list[int], int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            flood = [asyncio.create_task(post(client, "hook-flood-00001", wrong, "flood")) for _ in range(12)]
            await asyncio.sleep(0.05)
            calm_status = await post(client, "hook-calm-000001", calm, "calm")
            return list(await asyncio.gather(*flood)), calm_status

    flood, calm_status = asyncio.run(scenario())
    assert calm_status == 200
    assert flood == [401] * 12
    # wrong credentials never took the trigger slot: only the calm request did
    assert slot_takers == ["request"]
    # and the calm webhook's first (slow) check did not queue behind the flood's twelve
    assert finished.index("calm") < len(finished) - 1
    assert [dag for dag, _, _ in runs.triggered] == ["dag_a"]


def test_lookups_and_first_checks_run_at_most_max_trigger_connections_at_once() -> None:
    admission = Admission(Settings(max_concurrent_triggers=16, max_trigger_connections=2))
    running, most = [0], [0]
    lock = threading.Lock()

    def work() -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return "ok"

    async def scenario() -> list[str]:
        lookups = [admission.lookup(work) for _ in range(10)]
        checks = [admission.slow_check(f"key-{i}", work) for i in range(10)]
        return list(await asyncio.gather(*lookups, *checks))

    assert asyncio.run(scenario()) == ["ok"] * 20
    assert most[0] <= 4  # two lookup threads and two check threads, however many slots


def test_a_request_waiting_for_its_group_commit_holds_its_slot_but_no_thread() -> None:
    """The write is awaited in the event loop: groups are not bounded by threads."""
    import httpx

    from airflow_webhook_trigger.core.definition import parse_document

    hook = parse_document({"id": "hook-group-000001", "dag_id": "dag_a"}).webhook
    app, runs, admission = _trigger_app({hook.id: hook}, slots=8, wait=10)
    runs.defer_writes = True
    held: list[Any] = []
    begin = runs.begin

    def held_begin(*args: Any, **kwargs: Any) -> Any:
        write = begin(*args, **kwargs)
        enqueue = write.enqueue
        # queued, not written: written (and its writer told) when the test says, from a thread
        write.enqueue = lambda done: held.append(lambda: enqueue(done))
        return write

    runs.begin = held_begin

    async def scenario() -> tuple[int, int, list[int]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            posts = [asyncio.create_task(client.post(f"/trigger/{hook.id}")) for _ in range(5)]
            for _ in range(500):
                if len(held) == 5:
                    break
                await asyncio.sleep(0.01)
            gate = admission._gate()
            threads_held, slots_free = gate.threads.borrowed_tokens, int(gate.slots.value)
            assert runs.triggered == []
            writer = threading.Thread(target=lambda: [w() for w in held])
            writer.start()
            statuses = [r.status_code for r in await asyncio.gather(*posts)]
            writer.join(10)
            return threads_held, slots_free, statuses

    threads_held, slots_free, statuses = asyncio.run(scenario())
    assert (threads_held, slots_free) == (0, 3)  # five waiting: five slots, no thread
    assert statuses == [200] * 5
    assert len(runs.triggered) == 5


def test_a_cached_webhook_is_located_without_a_lookup_thread() -> None:
    """The definition read once (on a lookup thread) is found in the event loop after."""
    import httpx

    from airflow_webhook_trigger.core.definition import parse_document

    hook = parse_document({"id": "hook-cached-0001", "dag_id": "dag_a"}).webhook
    app, runs, admission = _trigger_app({hook.id: hook}, slots=4, wait=1, cache_seconds=60)
    lookups: list[str] = []
    lookup = admission.lookup

    async def spied_lookup(work: Any) -> Any:
        lookups.append("thread")
        return await lookup(work)

    admission.lookup = spied_lookup  # type: ignore[method-assign]

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            paths = [f"/trigger/{hook.id}"] * 3 + ["/trigger/unknown-0000001"] * 2
            return [int((await client.post(path)).status_code) for path in paths]

    assert asyncio.run(scenario()) == [200, 200, 200, 404, 404]
    assert lookups == ["thread", "thread"]  # one read per id; the repeats came from the cache
    assert len(runs.triggered) == 3


def test_the_heap_is_frozen_once_per_process() -> None:
    """In a process of its own: freezing is process-wide, and once is enough."""
    import subprocess
    import sys

    code = (
        "import gc\n"
        "from airflow_webhook_trigger.web.fastapi_adapter import freeze_startup_heap\n"
        "kept = [[i] for i in range(1000)]\n"
        "before = gc.get_freeze_count()\n"
        "froze = freeze_startup_heap()\n"
        "print(before, froze, gc.get_freeze_count() >= before + 1000, freeze_startup_heap())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["0", "True", "True", "False"]


@pytest.mark.parametrize("freeze", [True, False])
def test_the_first_request_freezes_the_heap_unless_turned_off(monkeypatch: Any, freeze: bool) -> None:
    from types import SimpleNamespace

    from fastapi.testclient import TestClient

    import airflow_webhook_trigger.web.fastapi_adapter as fastapi_app
    from tests.fakes import FakeRuns, FakeSource

    calls: list[str] = []
    monkeypatch.setattr(fastapi_app, "freeze_startup_heap", lambda: calls.append("froze") or True)
    settings = Settings(gc_freeze=freeze)
    from airflow_webhook_trigger.core.endpoint import WebhookEndpoint

    endpoint = WebhookEndpoint(settings, FakeSource({}), FakeRuns())
    runtime = SimpleNamespace(settings=settings, endpoint=endpoint, waiter=None, driver=_driver(endpoint))
    app = fastapi_app.create_app(lambda: runtime)  # type: ignore[arg-type,return-value]
    with TestClient(app) as client:
        for _ in range(3):
            assert client.post("/trigger/unknown-0000001").status_code == 404
    assert calls == (["froze"] if freeze else [])


def _post_raw(
    app: Any, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[list[Any], int, int]:
    """The app called as uvicorn calls it: (messages sent, body messages pulled before the
    answer began, body messages pulled in all)."""
    pulled = 0
    before_answer: list[int] = []
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        if pulled > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}

    async def send(message: Any) -> None:
        if not sent:
            before_answer.append(pulled)
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    asyncio.run(app(scope, receive, send))
    return sent, before_answer[0], pulled


def test_declared_too_large_413_is_sent_first_then_the_body_drained_bounded() -> None:
    """RFC 9112 §9.6: the sender still uploading must see its 413, not a reset; the drain
    that lets it is bounded (uvicorn alone would read and drop the whole declared body)."""
    from airflow_webhook_trigger.core.definition import parse_document
    from airflow_webhook_trigger.web.lingering import LINGER_MAX_BYTES

    hook = parse_document({"id": "hook-large-00001", "dag_id": "dag_a"}).webhook
    app, runs, _ = _trigger_app({hook.id: hook}, slots=1, wait=1)
    chunk = b"x" * (256 * 1024)
    many = LINGER_MAX_BYTES // len(chunk) * 4
    headers = [(b"content-length", str(256 * 1024 * 1024).encode()), (b"content-type", b"application/json")]
    sent, before_answer, pulled = _post_raw(app, f"/trigger/{hook.id}", headers, [chunk] * many)
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]
    assert before_answer == 0
    assert b"webhook_trigger.max_body_bytes" in sent[1]["body"]
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert pulled == LINGER_MAX_BYTES // len(chunk) + 1  # drained, then stopped past the bound
    assert runs.triggered == []


def test_413_mid_body_drains_the_rest_and_none_after_the_end_or_before_100_continue() -> None:
    from airflow_webhook_trigger.core.definition import parse_document

    hook = parse_document({"id": "hook-large-00001", "dag_id": "dag_a"}).webhook
    app, _, _ = _trigger_app({hook.id: hook}, slots=1, wait=1)
    big = b"x" * (1024 * 1024)
    # chunked, over the limit in its second of four messages: the other two are drained
    sent, _, pulled = _post_raw(app, f"/trigger/{hook.id}", [], [big, big, big, big])
    assert (sent[0]["status"], pulled) == (413, 4)
    # over the limit in its last message: nothing more to wait for
    sent, _, pulled = _post_raw(app, f"/trigger/{hook.id}", [], [big, b"x"])
    assert (sent[0]["status"], pulled) == (413, 2)
    # the sender waits for 100 Continue: it sends nothing after a final answer
    headers = [(b"content-length", str(2 * len(big)).encode()), (b"expect", b"100-continue")]
    sent, _, pulled = _post_raw(app, f"/trigger/{hook.id}", headers, [big, big])
    assert (sent[0]["status"], pulled) == (413, 0)
