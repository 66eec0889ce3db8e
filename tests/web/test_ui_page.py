"""The Webhooks page's plugin side: its ``react_apps`` entries and the assets the app serves.

The page itself is tested by Vitest (``ui/``) and in a real browser (``tests/web/test_browser.py``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from airflow_webhook_trigger.web import ui_page
from tests.airflow_env import ROOT
from tests.integration import jwt_for

PREAMBLE = 'globalThis.WebhookTriggerConfig = {"apiBase": "/webhook/api", "version": "'


@pytest.mark.parametrize(
    ("base_url", "prefix", "expected"),
    [
        ("http://localhost:8080", "/webhook", "/webhook"),
        ("http://localhost:8080/", "/webhook", "/webhook"),
        ("https://example.com/airflow/", "/hooks", "/airflow/hooks"),
        ("https://example.com/a/b", "/webhook", "/a/b/webhook"),
    ],
)
def test_root_path_carries_the_base_urls_path(base_url: str, prefix: str, expected: str) -> None:
    assert ui_page.root_path(base_url, prefix) == expected


def test_the_built_page_ships_in_the_checkout() -> None:
    text = ui_page.bundle_text()
    assert text is not None, "run `make ui`"
    # a UMD build that sets globalThis.AirflowPlugin from the UI's own React globals ...
    assert re.search(r"\.AirflowPlugin=\w+\((\w+)\.React,\1\.ReactJSXRuntime,\1\.ReactDOM\)", text)
    # ... and carries no React of its own (a second copy breaks hooks), nor Node's globals
    assert not re.search(r"\.version=.19\.", text)
    assert "process.env" not in text


def test_the_docs_screenshots_show_the_current_build() -> None:
    shown = (ROOT / "docs/screenshots/bundle-version.txt").read_text().strip()
    assert shown == ui_page.bundle_version(), "the page changed: run `make screenshots` and commit them"
    page = (ROOT / "docs/ui.md").read_text()
    for picture in ("list.png", "editor.png", "deliveries.png", "dag-tab-dark.png"):
        assert (ROOT / "docs/screenshots" / picture).is_file()
        assert f"](screenshots/{picture})" in page, picture
    # the README shows the list too, from its own folder
    assert "](docs/screenshots/list.png)" in (ROOT / "README.md").read_text()


def test_two_entries_nav_and_dag_tab_one_bundle() -> None:
    nav, tab = ui_page.react_apps("https://example.com/airflow", "/webhook")
    assert (nav["destination"], nav["url_route"]) == ("nav", "webhooks")
    assert (tab["destination"], tab["url_route"]) == ("dag", "dag-webhooks")
    assert nav["name"] == tab["name"] == "Webhooks"  # the UI keeps a loaded component by name
    bundle_url = f"/airflow/webhook/ui/webhooks.js?v={ui_page.bundle_version()}"
    assert nav["bundle_url"] == tab["bundle_url"] == bundle_url
    assert nav["icon"] == "/airflow/webhook/ui/icon.svg"
    assert nav["icon_dark_mode"] == "/airflow/webhook/ui/icon-dark.svg"


def test_no_entries_without_a_built_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui_page, "bundle_text", lambda: None)
    assert ui_page.react_apps("http://localhost:8080", "/webhook") == []
    assert ui_page.asset("webhooks.js", "http://localhost:8080", "/webhook") is None


def test_the_served_bundle_names_the_api_of_this_base_url() -> None:
    served = ui_page.asset("webhooks.js", "https://example.com/airflow/", "/hooks")
    assert served is not None and served.media_type == "text/javascript; charset=utf-8"
    first, rest = served.body.decode().split("\n", 1)
    config = json.loads(first.removeprefix("globalThis.WebhookTriggerConfig = ").removesuffix(";"))
    assert config == {"apiBase": "/airflow/hooks/api", "version": ui_page.bundle_version()}
    assert rest == ui_page.bundle_text()


@pytest.mark.parametrize("name", ["icon.svg", "icon-dark.svg"])
def test_icons_are_svg(name: str) -> None:
    served = ui_page.asset(name, "http://localhost:8080", "/webhook")
    assert served is not None and served.media_type == "image/svg+xml"
    assert served.body.startswith(b"<svg ")


def test_unknown_assets_are_none() -> None:
    for name in ("webhooks.cjs", "../plugin.py", "", "WEBHOOKS.JS"):
        assert ui_page.asset(name, "http://localhost:8080", "/webhook") is None


def test_names_from_the_url_grow_no_cache() -> None:
    before = ui_page._icon.cache_info().currsize, ui_page._bundle.cache_info().currsize
    for i in range(100):
        ui_page.asset(f"nope-{i}.js", "http://localhost:8080", "/webhook")
    assert (ui_page._icon.cache_info().currsize, ui_page._bundle.cache_info().currsize) == before


# -- through the real api-server app -------------------------------------------------------


@pytest.mark.airflow
def test_the_app_serves_the_bundle_as_javascript(client: Any) -> None:
    response = client.get("/webhook/ui/webhooks.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    # opened on its own (a tab, an <iframe>), the asset is a sandboxed document that runs nothing
    assert response.headers["content-security-policy"].startswith("sandbox")
    assert response.text.startswith(PREAMBLE)
    etag = response.headers["etag"]
    again = client.get("/webhook/ui/webhooks.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    head = client.head("/webhook/ui/icon.svg")
    assert head.status_code == 200 and head.headers["content-type"] == "image/svg+xml"


@pytest.mark.airflow
def test_an_unknown_asset_is_a_json_404(client: Any) -> None:
    response = client.get("/webhook/ui/nope.js")
    assert response.status_code == 404
    assert response.json() == {"error": "no UI asset named 'nope.js'"}
    assert client.post("/webhook/ui/webhooks.js").status_code == 405


@pytest.mark.airflow
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_airflow_lists_the_page_and_its_bundle_loads(client: Any) -> None:
    # what the UI itself asks for: every release's plugin endpoint accepts both entries
    response = client.get("/api/v2/plugins", headers={"Authorization": f"Bearer {jwt_for('admin')}"})
    assert response.status_code == 200, response.text
    [ours] = [p for p in response.json()["plugins"] if p["name"] == "webhook_trigger"]
    apps = {(a["destination"], a["url_route"]): a for a in ours["react_apps"]}
    assert set(apps) == {("nav", "webhooks"), ("dag", "dag-webhooks")}
    bundle = client.get(apps["nav", "webhooks"]["bundle_url"])
    assert bundle.status_code == 200 and bundle.text.startswith(PREAMBLE)
