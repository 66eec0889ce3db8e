from __future__ import annotations

import pytest

from airflow_webhook_trigger.core.errors import ConfigError
from airflow_webhook_trigger.core.settings import Settings, settings_from_lookup
from tests.airflow_env import ROOT


def test_settings_from_lookup_no_values_gives_documented_defaults() -> None:
    settings = settings_from_lookup(lambda key: None)
    assert settings == Settings()
    assert settings.url_prefix == "/webhook"
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.json_max_depth == 64
    assert settings.query_max_params == 1000
    assert settings.max_conf_bytes == 64 * 1024
    assert settings.flask_sync_max_waiting == 8
    assert (settings.db_timeout_seconds, settings.db_pool_timeout_seconds) == (5.0, 1.0)
    assert settings.db_lock_timeout_seconds == 3.0
    assert settings.flask_blueprint is True


@pytest.mark.parametrize(("raw", "value"), [("False", False), ("0", False), ("true", True), (" T ", True)])
def test_settings_flask_blueprint_reads_like_airflow_booleans(raw: str, value: bool) -> None:
    assert settings_from_lookup({"flask_blueprint": raw}.get).flask_blueprint is value


def test_settings_from_lookup_values_are_converted() -> None:
    raw = {
        "max_body_bytes": " 2048 ",
        "waiter_tick_seconds": "0.1",
        "url_prefix": "/hooks/in",
        "flask_sync_max_waiting": "3",
    }
    settings = settings_from_lookup(raw.get)
    assert (
        settings.max_body_bytes,
        settings.waiter_tick_seconds,
        settings.url_prefix,
        settings.flask_sync_max_waiting,
    ) == (2048, 0.1, "/hooks/in", 3)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_body_bytes", "abc", "webhook_trigger.max_body_bytes has value 'abc'. Not a valid int."),
        ("max_body_bytes", "0", "limits cannot be disabled"),
        ("query_max_params", "-1", "limits cannot be disabled"),
        ("json_max_depth", "1.5", "Not a valid int"),
        ("json_max_depth", "100000", "must be <= 512"),
        ("waiter_tick_seconds", "nan", "Not a finite number"),
        ("waiter_tick_seconds", "inf", "Not a finite number"),
        ("url_prefix", "webhook", "must look like '/webhook'"),
        ("url_prefix", "/webhook/", "must look like '/webhook'"),
        ("url_prefix", "/api/v2", "reserved"),
        ("url_prefix", "/pluginsv2/x", "reserved"),
        ("registry_cache_seconds", "-1", "must be >= 0"),
        ("sync_default_timeout_seconds", "500", "must be <= sync_max_timeout_seconds"),
        ("flask_sync_max_waiting", "0", "limits cannot be disabled"),
        ("flask_sync_max_waiting", "-3", "limits cannot be disabled"),
        ("flask_sync_max_waiting", "2.5", "Not a valid int"),
        ("db_timeout_seconds", "0", "limits cannot be disabled"),
        ("db_pool_timeout_seconds", "-1", "limits cannot be disabled"),
        ("db_lock_timeout_seconds", "9", "must be < db_timeout_seconds"),
        ("flask_blueprint", "yes please", "Not a boolean"),
    ],
)
def test_settings_from_lookup_invalid_value_fails_naming_the_key(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")) as info:
        settings_from_lookup({key: value}.get)
    assert key in str(info.value)


def test_settings_module_import_reads_no_config() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import airflow_webhook_trigger.core.settings, airflow_webhook_trigger.core.endpoint;"
        "bad = [m for m in ('airflow', 'flask', 'fastapi', 'starlette') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_docs_document_every_setting_with_its_default() -> None:
    import re
    from dataclasses import fields

    page = (ROOT / "docs" / "configuration.md").read_text()
    table = dict(re.findall(r"^\| `([a-z_]+)` \| `([^`]+)` \|", page, flags=re.M))
    for f in fields(Settings):
        assert f.name in table, f"docs/configuration.md lacks the setting {f.name}"
        default = getattr(Settings(), f.name)
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        assert table[f.name] in (shown, shown.removesuffix(".0")), (f.name, table[f.name], default)


def test_every_number_is_a_limit_that_cannot_be_disabled() -> None:
    # by type, not by a list of names: a new numeric setting is checked, a new boolean is not
    from dataclasses import fields

    from airflow_webhook_trigger.core.settings import ZERO_ALLOWED, Settings

    for f in fields(Settings):
        default = f.default
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            continue
        for bad in (-1, 0):
            if bad == 0 and f.metadata.get(ZERO_ALLOWED):
                continue
            raw = {f.name: str(bad)}
            with pytest.raises(ConfigError, match=f.name):
                settings_from_lookup(raw.get)
    assert settings_from_lookup({"registry_cache_seconds": "0"}.get).registry_cache_seconds == 0
    assert settings_from_lookup({"gc_freeze": "false"}.get).gc_freeze is False


def test_a_new_boolean_setting_is_not_a_limit_and_a_new_number_is() -> None:
    # the check reads types and field metadata, never a list of names: a setting added later is covered
    from dataclasses import dataclass, field, fields

    from airflow_webhook_trigger.core.settings import ZERO_ALLOWED, Settings

    @dataclass(frozen=True)
    class Later(Settings):
        new_switch: bool = False
        new_limit: int = 3
        new_optional_wait: float = field(default=0.0, metadata={ZERO_ALLOWED: True})

    assert Later().new_switch is False
    assert Later(new_optional_wait=0.0).new_optional_wait == 0.0
    for bad in (0, -1):
        with pytest.raises(ConfigError, match="new_limit"):
            Later(new_limit=bad)
    with pytest.raises(ConfigError, match="new_optional_wait"):
        Later(new_optional_wait=-1.0)
    for f in fields(Settings):
        if isinstance(f.default, bool):
            assert getattr(settings_from_lookup({f.name: "false"}.get), f.name) is False
