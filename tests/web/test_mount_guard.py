"""The guard in front of the plugin's mounts: our 404 for odd paths; on the blueprint's WSGI
mount, bounded bodies and chunked bodies passed on whole."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_webhook_trigger.web.lingering import LINGER_MAX_BYTES
from airflow_webhook_trigger.web.mount_guard import MountGuard
from tests.integration import runs_of
from tests.processes import free_port

LIMIT = 100


class Downstream:
    """The WSGI mount's stand-in: reads the whole body, as Starlette's WSGIMiddleware does."""

    def __init__(self) -> None:
        self.scope: dict[str, Any] | None = None
        self.body = b""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"downstream"})


class Sent(list[Any]):
    """What the guard sent, and how many body messages it had pulled when it began."""

    pulled_before_answer: int | None = None


def _call(
    path: str,
    headers: list[tuple[bytes, bytes]],
    chunks: list[bytes],
    *,
    blueprint: bool = True,
    served: Any = None,
) -> tuple[Downstream, Sent, int]:
    downstream = Downstream()
    guard = MountGuard(downstream, lambda: ("/webhook", LIMIT, blueprint), served=served)
    pulled = 0
    sent = Sent()

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        if pulled > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}

    async def send(message: Any) -> None:
        if not sent:
            sent.pulled_before_answer = pulled
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    asyncio.run(guard(scope, receive, send))
    return downstream, sent, pulled


def _status(sent: list[Any]) -> int:
    return int(sent[0]["status"])


def test_guard_declared_length_over_limit_413_reads_nothing() -> None:
    downstream, sent, pulled = _call(
        "/pluginsv2/webhook/trigger/anything", [(b"content-length", b"67108864")], [b"x" * 64] * 1000
    )
    assert _status(sent) == 413
    assert json.loads(sent[1]["body"]) == {
        "error": f"request body is larger than {LIMIT} bytes (webhook_trigger.max_body_bytes)"
    }
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert sent.pulled_before_answer == 0  # answered before any of the body was read
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert pulled == 1000  # then what the sender still uploads is drained (lingering close)
    assert downstream.scope is None


def test_guard_drains_at_most_linger_max_bytes_after_a_413() -> None:
    chunk = b"x" * (256 * 1024)
    many = LINGER_MAX_BYTES // len(chunk) * 4
    _, sent, pulled = _call(
        "/pluginsv2/webhook/trigger/x", [(b"content-length", b"268435456")], [chunk] * many
    )
    assert _status(sent) == 413
    assert pulled == LINGER_MAX_BYTES // len(chunk) + 1  # stopped once past the bound
    assert pulled < many


def test_guard_no_drain_when_the_sender_waits_for_100_continue() -> None:
    headers = [(b"content-length", b"268435456"), (b"expect", b"100-continue")]
    _, sent, pulled = _call("/pluginsv2/webhook/trigger/x", headers, [b"x"] * 10)
    assert _status(sent) == 413
    assert pulled == 0


def _served_by_another_plugin(path: str, method: str) -> bool:
    return path.startswith("/other-plugin/")


@pytest.mark.parametrize("path", ["/pluginsv2/no-such-plugin/upload", "/pluginsv2/", "/pluginsv2"])
def test_guard_unserved_pluginsv2_path_declared_huge_413_at_once(path: str) -> None:
    downstream, sent, _ = _call(
        path, [(b"content-length", b"268435456")], [b"x" * 64] * 10, served=_served_by_another_plugin
    )
    assert _status(sent) == 413
    assert sent.pulled_before_answer == 0
    assert downstream.scope is None


def test_guard_unserved_pluginsv2_path_chunked_over_limit_413() -> None:
    downstream, sent, _ = _call(
        "/pluginsv2/nothing-here",
        [(b"transfer-encoding", b"chunked")],
        [b"x" * 60] * 50,
        served=_served_by_another_plugin,
    )
    assert _status(sent) == 413
    assert downstream.scope is None


def test_guard_another_plugins_served_path_untouched() -> None:
    downstream, sent, _ = _call(
        "/pluginsv2/other-plugin/upload",
        [(b"content-length", b"1000")],
        [b"y" * 1000],
        served=_served_by_another_plugin,
    )
    assert _status(sent) == 200
    assert downstream.body == b"y" * 1000


def test_guard_chunked_body_passed_on_whole_with_its_length() -> None:
    downstream, sent, _ = _call(
        "/pluginsv2/webhook/trigger/x", [(b"transfer-encoding", b"chunked")], [b'{"a":', b" 1", b"}"]
    )
    assert _status(sent) == 200
    assert downstream.body == b'{"a": 1}'
    assert downstream.scope is not None
    headers = dict(downstream.scope["headers"])
    assert headers[b"content-length"] == b"8"
    assert b"transfer-encoding" not in headers


def test_guard_chunked_body_over_limit_413_stops_reading() -> None:
    downstream, sent, _ = _call(
        "/pluginsv2/webhook/trigger/x", [(b"transfer-encoding", b"chunked")], [b"x" * 60] * 50
    )
    assert _status(sent) == 413
    assert sent.pulled_before_answer == 2  # answered at the chunk that crossed the limit
    assert downstream.scope is None


@pytest.mark.parametrize(
    "path", ["/webhook/trigger/x", "/pluginsv2/other-plugin/upload", "/pluginsv2/webhookish/trigger/x"]
)
def test_guard_other_paths_untouched(path: str) -> None:
    downstream, sent, _ = _call(path, [(b"content-length", b"1000")], [b"y" * 1000])
    assert _status(sent) == 200
    assert downstream.body == b"y" * 1000


def test_guard_without_blueprint_leaves_pluginsv2_alone() -> None:
    downstream, sent, _ = _call(
        "/pluginsv2/webhook/trigger/x", [(b"content-length", b"1000")], [b"y" * 1000], blueprint=False
    )
    assert _status(sent) == 200
    assert downstream.body == b"y" * 1000


@pytest.mark.parametrize(
    "path",
    [
        "/webhook/trigger/a\nb",
        "/webhook/api/webhooks/\x00",
        "/pluginsv2/webhook/trigger/x\ty",
        "/webhook/trigger/\x7f",
    ],
)
def test_guard_control_character_in_our_paths_is_our_404(path: str) -> None:
    downstream, sent, _ = _call(path, [(b"content-length", b"3")], [b"abc"])
    assert _status(sent) == 404
    assert json.loads(sent[1]["body"]) == {"error": "Not Found"}
    assert downstream.scope is None
    assert sent.pulled_before_answer == 0


def test_guard_control_character_elsewhere_untouched() -> None:
    _, sent, _ = _call("/api/v2/dags/a\nb", [], [b""])
    assert _status(sent) == 200


def test_guard_declared_length_within_limit_passes_through() -> None:
    downstream, sent, _ = _call("/pluginsv2/webhook/trigger/x", [(b"content-length", b"3")], [b"abc"])
    assert _status(sent) == 200
    assert downstream.body == b"abc"


def test_guard_client_gone_while_reading_sends_nothing() -> None:
    downstream, sent, _ = _call("/pluginsv2/webhook/trigger/x", [], [])
    assert sent == []
    assert downstream.scope is None


# -- through the real api-server app -------------------------------------------------------


@pytest.fixture
def open_hook(store: Any) -> str:
    from airflow_webhook_trigger.storage.webhook_changes import upsert

    upsert(store, {"id": "hook-chunk-000001", "dag_id": "wt_plain"}, env={})
    return "hook-chunk-000001"


def _chunks(body: bytes) -> Any:
    yield body[:5]
    yield body[5:]


@pytest.mark.airflow
@pytest.mark.parametrize("prefix", ["/webhook", "/pluginsv2/webhook"])
def test_chunked_webhook_body_reaches_conf_through_both_adapters(
    client: Any, open_hook: str, prefix: str
) -> None:
    body = b'{"order": {"id": 17, "note": "chunked"}}'
    response = client.post(
        f"{prefix}/trigger/{open_hook}", content=_chunks(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    [run] = [r for r in runs_of("wt_plain") if r.run_id == response.headers["x-airflow-run-id"]]
    assert run.conf["body"] == {"order": {"id": 17, "note": "chunked"}}


@pytest.mark.airflow
@pytest.mark.parametrize("prefix", ["/webhook", "/pluginsv2/webhook"])
def test_chunked_webhook_body_over_limit_413_no_run(client: Any, open_hook: str, prefix: str) -> None:
    before = len(runs_of("wt_plain"))

    def big() -> Any:
        for _ in range(20):
            yield b" " * 65536  # 1.25 MiB in all

    response = client.post(
        f"{prefix}/trigger/{open_hook}", content=big(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "max_body_bytes" in response.json()["error"]
    assert len(runs_of("wt_plain")) == before


@pytest.mark.airflow
@pytest.mark.parametrize("prefix", ["/webhook", "/pluginsv2/webhook"])
def test_newline_in_a_webhook_url_is_our_json_404(client: Any, airflow_db: None, prefix: str) -> None:
    for path in ("/trigger/abc%0Adef", "/api/webhooks/a%0Ab", "/trigger/x/runs/y%0Az"):
        response = client.post(f"{prefix}{path}", content=b"{}", headers={"Content-Type": "application/json"})
        assert response.status_code == 404, (path, response.text)
        assert response.json() == {"error": "Not Found"}


@pytest.mark.airflow
def test_blueprint_declared_huge_body_to_unknown_id_413_at_once(client: Any, airflow_db: None) -> None:
    response = client.post(
        "/pluginsv2/webhook/trigger/no-such-hook-000",
        content=b"x" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"


# -- the trigger URL's fast path -----------------------------------------------------------


class _Tagging:
    """A root middleware of nobody's: adds a header, so a test sees whether it ran."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"x-tagged", b"1")]}
            await send(message)

        await self.app(scope, receive, tagged)


def _root_app(*outer: Any, fast_path: bool = True) -> Any:
    """A Starlette root app as Airflow builds one: ``outer`` middlewares around the guard."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def big(request: Any) -> Any:
        return PlainTextResponse("z" * 4000)

    return Starlette(
        routes=[
            Route("/webhook/trigger/{id}", big, methods=["POST"]),
            Route("/other", big, methods=["POST"]),
        ],
        middleware=[
            *outer,
            Middleware(MountGuard, limits=lambda: ("/webhook", LIMIT, False), fast_path=lambda: fast_path),
        ],
    )


def test_fast_path_leaves_gzip_out_of_the_trigger_url_only_and_keeps_cors() -> None:
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.testclient import TestClient

    from airflow_webhook_trigger.web.mount_guard import TriggerFastPath

    app = _root_app(
        Middleware(CORSMiddleware, allow_origins=["https://form.example"]),
        Middleware(GZipMiddleware, minimum_size=1000),
    )
    with TestClient(app) as client:
        gzip = {"Accept-Encoding": "gzip", "Origin": "https://form.example"}
        first = client.post("/webhook/trigger/x", headers=gzip)  # installs it: the whole stack still
        assert first.headers.get("content-encoding") == "gzip"
        assert isinstance(app.middleware_stack, TriggerFastPath)
        trigger = client.post("/webhook/trigger/x", headers=gzip)
        assert trigger.status_code == 200 and trigger.text == "z" * 4000
        assert "content-encoding" not in trigger.headers
        assert trigger.headers["access-control-allow-origin"] == "https://form.example"
        # anything else, a GET of the same URL included, goes through the whole stack
        assert client.post("/other", headers=gzip).headers.get("content-encoding") == "gzip"
        assert client.get("/webhook/trigger/x", headers=gzip).status_code == 405


def test_fast_path_off_with_a_root_middleware_it_does_not_know(caplog: pytest.LogCaptureFixture) -> None:
    from starlette.middleware import Middleware
    from starlette.testclient import TestClient

    from airflow_webhook_trigger.web.mount_guard import TriggerFastPath

    app = _root_app(Middleware(_Tagging))
    with caplog.at_level("INFO", logger="airflow_webhook_trigger.web.mount_guard"), TestClient(app) as client:
        for _ in range(2):
            assert client.post("/webhook/trigger/x").headers["x-tagged"] == "1"  # never skipped
    assert not isinstance(app.middleware_stack, TriggerFastPath)
    assert "fast path off: a root middleware not known to be safe to leave out" in caplog.text
    assert "_Tagging" in caplog.text


def test_fast_path_off_by_the_setting() -> None:
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.testclient import TestClient

    from airflow_webhook_trigger.web.mount_guard import TriggerFastPath

    app = _root_app(Middleware(GZipMiddleware, minimum_size=1000), fast_path=False)
    with TestClient(app) as client:
        for _ in range(2):
            response = client.post("/webhook/trigger/x", headers={"Accept-Encoding": "gzip"})
            assert response.headers.get("content-encoding") == "gzip"
    assert not isinstance(app.middleware_stack, TriggerFastPath)


@pytest.mark.airflow
def test_fast_path_on_airflows_app_keeps_the_access_log(
    client: Any, api_app: Any, open_hook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_webhook_trigger.web.mount_guard import KEPT_ON_TRIGGER, TriggerFastPath, _class_name

    headers = {"Content-Type": "application/json"}
    for _ in range(2):  # the first request installs it
        response = client.post(f"/webhook/trigger/{open_hook}", content=b'{"n": 1}', headers=headers)
        assert response.status_code == 200, response.text
    stack = api_app.middleware_stack
    assert isinstance(stack, TriggerFastPath), "the fast path is off on this Airflow"
    access_log_class = "airflow.api_fastapi.common.http_access_log.HttpAccessLogMiddleware"
    assert access_log_class in KEPT_ON_TRIGGER
    if access_log_class in {_class_name(m.cls) for m in api_app.user_middleware}:
        # Airflow's access log (3.3; before, uvicorn's): a trigger request still has its line
        import airflow.api_fastapi.common.http_access_log as access_log

        logs: list[dict[str, Any]] = []

        class Recorder:
            def info(self, event: str, **fields: Any) -> None:
                logs.append({"event": event, **fields})

        monkeypatch.setattr(access_log, "logger", Recorder())
        client.post(f"/webhook/trigger/{open_hook}?n=2", content=b'{"n": 2}', headers=headers)
        [line] = [e for e in logs if e.get("path") == f"/webhook/trigger/{open_hook}"]
        assert (line["event"], line["method"], line["status_code"], line["query"]) == (
            "request finished",
            "POST",
            200,
            "n=2",
        )
    run_id = response.headers["x-airflow-run-id"]
    assert any(r.run_id == run_id for r in runs_of("wt_plain"))


# -- through a real server: every sender sees its 413 (lingering close) ---------------------


@contextlib.contextmanager
def _serving(app: Any) -> Iterator[int]:
    """uvicorn, as Airflow's api-server runs it, in this process on a free port."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            threading.Event().wait(0.05)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _upload_and_read(port: int, path: str, size: int) -> bytes:
    """Headers declaring ``size`` bytes, then the whole body, then the answer (a raw client)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Content-Length: {size}\r\n\r\n".encode())
        chunk = b"x" * (64 * 1024)
        left = size
        while left:  # BrokenPipeError / ConnectionResetError here is the defect
            sock.sendall(chunk[: min(left, len(chunk))])
            left -= min(left, len(chunk))
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 4 + 20:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        return answer


@pytest.mark.airflow
@pytest.mark.parametrize(
    "path",
    [
        "/webhook/trigger/hook-chunk-000001",
        "/pluginsv2/webhook/trigger/hook-chunk-000001",
        "/pluginsv2/no-blueprint-serves-this",
    ],
)
def test_sender_still_uploading_reads_its_413_every_time(api_app: Any, open_hook: str, path: str) -> None:
    size = 1024 * 1024 + 10  # just over max_body_bytes: the sender is still sending when answered
    with _serving(api_app) as port:
        for attempt in range(20):
            answer = _upload_and_read(port, path, size)
            assert answer.startswith(b"HTTP/1.1 413 "), (attempt, answer[:200])
            assert b"webhook_trigger.max_body_bytes" in answer
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime

    shared_runtime().deliveries.flush()  # the 413s' records now, not into a later test's tables


@pytest.mark.airflow
def test_unserved_pluginsv2_path_declared_huge_body_413_at_once(client: Any, airflow_db: None) -> None:
    def body() -> Iterator[bytes]:  # far less than declared: a read of it all would hang
        for _ in range(16):
            yield b"x" * 1024

    response = client.post(
        "/pluginsv2/no-blueprint-serves-this",
        content=body(),
        headers={"Content-Type": "application/json", "Content-Length": str(256 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": "request body is larger than 1048576 bytes (webhook_trigger.max_body_bytes)"
    }
