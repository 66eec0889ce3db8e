"""The Webhooks page in the Airflow UI: its ``react_apps`` entries and assets.

The page is a React component built from ``ui/`` into ``ui/webhooks.js`` inside this
package (a UMD build named ``AirflowPlugin``; React and the router stay the UI's own),
so ``pip install`` needs no Node. Airflow's UI imports the ``bundle_url`` as a module and
renders the component: in the nav (every webhook) and as a tab of each DAG (its own).

The bundle URL is an absolute path that carries ``[api] base_url``'s own path: Airflow
3.1 and 3.2 resolve a relative one against their own script's URL, 3.3 against the page.
The served bundle starts with one line of configuration (where the management API is),
so the committed file stays the same whatever the prefix. No Airflow import here.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

#: the built page, inside the package (``make ui`` writes it; CI checks it is current)
BUNDLE = Path(__file__).with_name("ui") / "webhooks.js"
#: what the nav and the DAG tab call the page
PAGE_NAME = "Webhooks"

_ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="{color}" '
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
    '<path d="M18 16.98h-5.99c-1.1 0-1.95.94-2.48 1.9A4 4 0 0 1 2 17c.01-.7.2-1.4.57-2"/>'
    '<path d="m6 17 3.13-5.78c.53-.97.1-2.18-.5-3.1a4 4 0 1 1 6.89-4.06"/>'
    '<path d="m12 6 3.13 5.73C15.66 12.7 16.9 13 18 13a4 4 0 0 1 0 8"/></svg>'
)
#: the nav's icons, light mode and dark mode
ICONS = {"icon.svg": _ICON.format(color="#3f4756"), "icon-dark.svg": _ICON.format(color="#d4d8de")}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def root_path(base_url: str, prefix: str) -> str:
    """The plugin's path as a browser asks for it: ``[api] base_url``'s path, then the prefix."""
    return urlsplit(base_url).path.rstrip("/") + prefix


@functools.cache
def bundle_text() -> str | None:
    """The built page, or None in a checkout where ``make ui`` has not run."""
    try:
        return BUNDLE.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


@functools.cache
def bundle_version() -> str:
    text = bundle_text() or ""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def react_apps(base_url: str, prefix: str) -> list[dict[str, object]]:
    """The plugin's two ``react_apps`` entries (none when the page is not built)."""
    if bundle_text() is None:
        return []
    root = root_path(base_url, prefix)
    common: dict[str, object] = {
        "name": PAGE_NAME,
        "bundle_url": f"{root}/ui/webhooks.js?v={bundle_version()}",
        "icon": f"{root}/ui/icon.svg",
        "icon_dark_mode": f"{root}/ui/icon-dark.svg",
    }
    return [
        {**common, "destination": "nav", "url_route": "webhooks"},
        {**common, "destination": "dag", "url_route": "dag-webhooks"},
    ]


def _asset(body: bytes, media_type: str) -> Asset:
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def asset(name: str, base_url: str, prefix: str) -> Asset | None:
    """``GET {prefix}/ui/{name}``: the bundle with its configuration line, or an icon.

    Only known names reach a cache: a name from the URL never grows one.
    """
    if name in ICONS:
        return _icon(name)
    if name != "webhooks.js" or bundle_text() is None:
        return None
    return _bundle(base_url, prefix)


@functools.cache
def _icon(name: str) -> Asset:
    return _asset(ICONS[name].encode(), "image/svg+xml")


@functools.cache
def _bundle(base_url: str, prefix: str) -> Asset:
    config = {"apiBase": f"{root_path(base_url, prefix)}/api", "version": bundle_version()}
    preamble = f"globalThis.WebhookTriggerConfig = {json.dumps(config)};\n"
    return _asset((preamble + (bundle_text() or "")).encode(), "text/javascript; charset=utf-8")
