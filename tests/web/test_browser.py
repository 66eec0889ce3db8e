"""The Webhooks page in a real headless Chromium, inside the real Airflow UI.

Debian's ``chromium``, driven by Playwright (which downloads no browser here), against the
api-server, scheduler and dag-processor of ``tests.integration.airflow_server``: the seed's
workflow from the nav (create, paste a sample, parse, alias, delete a row, save), the API
and a ``curl`` call to check it, the copy button, the deliveries and a replay, the DAG's
tab, a viewer's permission message, light and dark, and an Airflow under a subpath. No
console error on any page. The screenshots land in ``$WEBHOOK_SCREENSHOTS`` (``make
screenshots`` points it at ``docs/screenshots``, the pictures of docs/ui.md) or a temp dir.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_webhook_trigger.web.ui_page import bundle_version
from tests.auth_manager import HIDDEN_DAG, READ_ONLY_DAG
from tests.integration import jwt_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: without the background-networking flags Chromium calls Google's hosts, which this network refuses
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SAMPLE = json.dumps({"order": {"id": "o-42", "total": 12.5}, "customer": {"email": "a@b.c"}, "test": True})
PERMISSION = "You need Airflow's Connections permissions"
TIMEOUT_MS = 20_000


def _unavailable(why: str) -> None:
    if os.environ.get("WEBHOOK_TEST_BROWSER") == "required":
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    if not Path(CHROMIUM).exists():
        _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("WEBHOOK_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    # which build the pictures show (tests/web/test_ui_page.py checks the docs' are current)
    (folder / "bundle-version.txt").write_text(bundle_version() + "\n")
    return folder


class Tab:
    """A page with its console watched: every error is a test failure."""

    def __init__(self, page: Any, allowed: tuple[str, ...] = ()) -> None:
        self.page = page
        self.errors: list[str] = []
        #: everything the page logged, for a failure's message
        self.console: list[str] = []
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self._allowed = allowed

    def _console(self, message: Any) -> None:
        self.console.append(f"{message.type}: {message.text}")
        if message.type == "error":
            self._error(message.text)

    def _error(self, text: str) -> None:
        if not any(a in text for a in self._allowed):
            self.errors.append(text)

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors


@pytest.fixture(scope="module")
def open_as(browser: Any) -> Iterator[Callable[..., Tab]]:
    contexts: list[Any] = []

    def open_as(
        base: str, role: str, *, dark: bool = False, allowed: tuple[str, ...] = (), user: str | None = None
    ) -> Tab:
        context = browser.new_context(
            viewport={"width": 1400, "height": 900},
            color_scheme="dark" if dark else "light",
            base_url=base.rstrip("/") + "/",
        )
        context.add_cookies([{"name": "_token", "value": jwt_for(role, user), "url": base}])
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=_origin(base))
        # the Airflow UI keeps its color mode in localStorage (next-themes), "system" by default
        context.add_init_script(f"localStorage.setItem('theme', '{'dark' if dark else 'light'}')")
        contexts.append(context)
        return Tab(context.new_page(), allowed)

    yield open_as
    for context in contexts:
        context.close()


def _origin(base: str) -> str:
    scheme, rest = base.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _api(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {jwt_for('admin')}"}, timeout=30)


def _choose(tab: Tab, label: str, value: str) -> None:
    field = tab.page.get_by_label(label, exact=True)
    if field.evaluate("e => e.tagName") == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)


def _open_list(tab: Tab, path: str = "plugin/webhooks") -> None:
    tab.page.goto(path)
    try:
        tab.page.get_by_role("heading", name="Webhooks", exact=True).wait_for()
    except Exception as exc:
        text = tab.page.locator("body").inner_text()[:2000]
        raise AssertionError(f"the page did not load: {exc}\n{tab.console}\n{text}") from None


def test_the_seeds_workflow_in_the_nav_page(airflow_server: str, open_as: Any, shots: Path) -> None:
    tab = open_as(airflow_server, "admin")
    page = tab.page
    _open_list(tab)
    page.get_by_role("button", name="New webhook").click()
    page.get_by_role("heading", name="New webhook").wait_for()
    page.get_by_label("Webhook id", exact=True).fill("hook-browser-0001")
    _choose(tab, "DAG", "wt_plain")
    page.get_by_label("Sample", exact=True).fill(SAMPLE)
    page.get_by_role("button", name="Parse", exact=True).click()
    body = page.get_by_role("region", name="Body fields")
    rows = body.get_by_label("Path", exact=True)
    rows.nth(5).wait_for()  # one row per path
    paths = [rows.nth(i).input_value() for i in range(rows.count())]
    assert paths == ["order", "order.id", "order.total", "customer", "customer.email", "test"]
    index = paths.index("order.id")
    body.get_by_label("Alias", exact=True).nth(index).fill("order_id")
    for gone in ("order", "customer", "test"):
        body.get_by_role("button", name=f"Remove {gone}", exact=True).click()
    page.screenshot(path=str(shots / "editor.png"), full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("heading", name="Webhooks", exact=True).wait_for()
    row = page.locator('[data-webhook-id="hook-browser-0001"]')
    row.wait_for()

    # what the page saved, through the API
    with _api(airflow_server) as api:
        saved = api.get("/webhook/api/webhooks/hook-browser-0001").json()
    assert saved["dag_id"] == "wt_plain"
    assert saved["request"]["body"] == [
        {"path": "order.id", "alias": "order_id"},
        {"path": "order.total"},
        {"path": "customer.email"},
    ]

    # the copy button puts the full URL on the clipboard
    page.get_by_role("button", name="Copy URL of hook-browser-0001").click()
    assert page.evaluate("navigator.clipboard.readText()") == saved["url"]

    # a sender calls it (curl), and the run it started is Airflow's
    done = subprocess.run(
        ["curl", "-s", "-X", "POST", "-H", "Content-Type: application/json", "-d", SAMPLE,
         "-D", "-", saved["url"]],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.startswith("HTTP/1.1 200"), done.stdout
    run_id = next(
        line.split(":", 1)[1].strip()
        for line in done.stdout.splitlines()
        if line.lower().startswith("x-airflow-run-id:")
    )
    with _api(airflow_server) as api:
        run = api.get(f"/api/v2/dags/wt_plain/dagRuns/{run_id}").json()
    assert run["conf"]["order_id"] == "o-42"  # the alias: dag_run.conf["order_id"]

    # the deliveries: the accepted one links to its run; replay starts another
    page.reload()
    page.get_by_role("heading", name="Webhooks", exact=True).wait_for()
    page.screenshot(path=str(shots / "list.png"), full_page=True)
    page.get_by_role("button", name="Deliveries of hook-browser-0001").click()
    page.get_by_role("heading", name="Deliveries of hook-browser-0001").wait_for()
    delivery = page.locator("[data-delivery-id]").first
    delivery.wait_for()
    assert "accepted" in delivery.inner_text()
    assert (
        delivery.get_by_role("link")
        .first.get_attribute("href", timeout=TIMEOUT_MS)
        .endswith(f"dags/wt_plain/runs/{run_id}")
    )
    page.screenshot(path=str(shots / "deliveries.png"), full_page=True)
    delivery.get_by_role("button", name="Replay").click()
    page.locator("[data-delivery-id]").nth(1).wait_for()
    with _api(airflow_server) as api:
        listed = api.get("/webhook/api/webhooks/hook-browser-0001/deliveries").json()["deliveries"]
    assert [d["replay_of"] is not None for d in listed] == [True, False]
    tab.assert_clean()


def test_enable_disable_and_delete_with_confirmation(airflow_server: str, open_as: Any) -> None:
    with _api(airflow_server) as api:
        created = api.post("/webhook/api/webhooks", json={"id": "hook-browser-0002", "dag_id": "wt_plain"})
        assert created.status_code == 201, created.text
    tab = open_as(airflow_server, "admin")
    _open_list(tab)
    page = tab.page
    page.locator('[data-webhook-id="hook-browser-0002"]').wait_for()
    switch = page.get_by_label("Enabled hook-browser-0002", exact=True)
    assert switch.is_checked()
    switch.click()
    with _api(airflow_server) as api:
        _until(lambda: api.get("/webhook/api/webhooks/hook-browser-0002").json()["enabled"] is False)
    page.get_by_role("button", name="Delete hook-browser-0002").click()
    dialog = page.get_by_role("alertdialog").or_(page.get_by_role("dialog"))
    assert "hook-browser-0002" in dialog.inner_text()
    dialog.get_by_role("button", name="Delete", exact=True).click()
    page.locator('[data-webhook-id="hook-browser-0002"]').wait_for(state="detached")
    with _api(airflow_server) as api:
        assert api.get("/webhook/api/webhooks/hook-browser-0002").status_code == 404
    tab.assert_clean()


def test_the_dag_tab_lists_that_dags_webhooks_and_listens(
    airflow_server: str, open_as: Any, shots: Path
) -> None:
    with _api(airflow_server) as api:
        for doc in (
            {"id": "hook-browser-tab1", "dag_id": "wt_params"},
            {"id": "hook-browser-tab2", "dag_id": "wt_plain"},
        ):
            api.delete(f"/webhook/api/webhooks/{doc['id']}")
            assert api.post("/webhook/api/webhooks", json=doc).status_code == 201
    tab = open_as(airflow_server, "admin", dark=True)
    page = tab.page
    page.goto("dags/wt_params/plugin/dag-webhooks")
    page.locator('[data-webhook-id="hook-browser-tab1"]').wait_for()
    assert page.locator('[data-webhook-id="hook-browser-tab2"]').count() == 0
    assert "dark" in (page.locator("html").get_attribute("class") or "")
    page.screenshot(path=str(shots / "dag-tab-dark.png"), full_page=True)

    # listen for a test request, send one, parse what it captured into rows
    page.get_by_role("button", name="Edit hook-browser-tab1").click()
    page.get_by_role("heading", name="Edit webhook hook-browser-tab1").wait_for()
    page.get_by_role("button", name="Listen for a test request").click()
    with _api(airflow_server) as api:
        test_url = api.get("/webhook/api/webhooks/hook-browser-tab1").json()["test_url"]
    sent = httpx.post(test_url, params={"source": "ci"}, json={"event": {"kind": "ping"}}, timeout=30)
    assert sent.status_code == 200, sent.text
    page.get_by_text("event.kind", exact=True).first.wait_for()
    tab.assert_clean()


def test_a_viewer_sees_why_not(airflow_server: str, open_as: Any) -> None:
    # the browser logs the API's 403 itself; that one line is expected
    tab = open_as(airflow_server, "viewer", allowed=("status of 403",))
    tab.page.goto("plugin/webhooks")
    alert = tab.page.get_by_role("alert").filter(has_text=PERMISSION)
    alert.wait_for()
    assert "connections" in alert.inner_text().lower()
    tab.assert_clean()


def test_the_page_lists_only_what_the_dags_permissions_show(airflow_server: str, open_as: Any) -> None:
    # tests/auth_manager.py: the limited user may not see HIDDEN_DAG and may only read READ_ONLY_DAG
    docs = [
        {"id": "hook-browser-hide", "dag_id": HIDDEN_DAG},
        {"id": "hook-browser-read", "dag_id": READ_ONLY_DAG},
        {"id": "hook-browser-mine", "dag_id": "payment_callback"},
    ]
    with _api(airflow_server) as api:
        for doc in docs:
            api.delete(f"/webhook/api/webhooks/{doc['id']}")
            assert api.post("/webhook/api/webhooks", json=doc).status_code == 201
    tab = open_as(airflow_server, "op", user="limited", allowed=("status of 403",))
    _open_list(tab)
    page = tab.page
    page.locator('[data-webhook-id="hook-browser-mine"]').wait_for()
    page.locator('[data-webhook-id="hook-browser-read"]').wait_for()
    assert page.locator('[data-webhook-id="hook-browser-hide"]').count() == 0
    assert "hook-browser-hide" not in page.locator("body").inner_text()
    # a webhook of a DAG it may only read: switching it off is refused, and the page says why
    page.get_by_label("Enabled hook-browser-read", exact=True).click()
    alert = page.get_by_role("alert").filter(has_text=f"DAG {READ_ONLY_DAG}")
    alert.wait_for()
    assert "trigger" in alert.inner_text()
    with _api(airflow_server) as api:
        assert api.get("/webhook/api/webhooks/hook-browser-read").json()["enabled"] is True
        for doc in docs:
            api.delete(f"/webhook/api/webhooks/{doc['id']}")
    tab.assert_clean()


@pytest.fixture(scope="module")
def subpath_server(airflow_db: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An api-server behind ``[api] base_url`` = ``http://127.0.0.1:PORT/airflow``."""
    from tests.processes import airflow_processes

    log_dir = tmp_path_factory.mktemp("subpath-logs")
    with airflow_processes(log_dir, scheduler=False, base_path="/airflow") as base:
        yield base


def test_the_page_loads_under_a_base_url_subpath(subpath_server: str, open_as: Any) -> None:
    with _api(subpath_server) as api:
        api.delete("/webhook/api/webhooks/hook-browser-sub1")
        created = api.post("/webhook/api/webhooks", json={"id": "hook-browser-sub1", "dag_id": "wt_plain"})
        assert created.status_code == 201, created.text
        assert created.json()["url"] == f"{subpath_server}/webhook/trigger/hook-browser-sub1"
    tab = open_as(subpath_server, "admin")
    _open_list(tab)
    tab.page.locator('[data-webhook-id="hook-browser-sub1"]').wait_for()
    tab.assert_clean()


def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
