"""Signing secrets at request time: env read per request, connections cached, fail closed."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_webhook_trigger.airflow_seam.secrets import AirflowSecrets, AirflowVault
from airflow_webhook_trigger.core.errors import ConfigError, ServiceUnavailable
from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.core.signatures import SecretRef


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _secrets(**kwargs: Any) -> AirflowSecrets:
    return AirflowSecrets(Settings(registry_cache_seconds=1.0, retry_after_seconds=9), **kwargs)


def test_env_secret_read_on_every_request_so_rotation_needs_no_restart() -> None:
    environ = {"SIGNING": "first"}
    secrets = _secrets(environ=environ)
    assert secrets.resolve("hook-1", "github", SecretRef(env="SIGNING")) == b"first"
    environ["SIGNING"] = "rotated"
    assert secrets.resolve("hook-1", "github", SecretRef(env="SIGNING")) == b"rotated"
    assert not secrets.may_block(SecretRef(env="SIGNING"))


def test_unset_secret_503_with_retry_after_logged_once_without_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    environ: dict[str, str] = {}
    secrets = _secrets(environ=environ)
    with caplog.at_level(logging.WARNING, logger="airflow_webhook_trigger.airflow_seam.secrets"):
        for _ in range(5):
            with pytest.raises(ServiceUnavailable) as info:
                secrets.resolve("hook-1", "github", SecretRef(env="SIGNING"))
            assert info.value.headers == {"Retry-After": "9"}
        environ["SIGNING"] = "now-set"
        assert secrets.resolve("hook-1", "github", SecretRef(env="SIGNING")) == b"now-set"
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "webhook hook-1: its signing secret (environment variable SIGNING) is not set; answering 503",
        "webhook hook-1: its signing secret (environment variable SIGNING) can be read again",
    ]
    assert "now-set" not in caplog.text


def test_connection_password_cached_for_registry_cache_seconds() -> None:
    clock = Clock()
    calls: list[str] = []
    passwords = {"slack_conn": "pw-1"}

    def lookup(conn_id: str) -> str | None:
        calls.append(conn_id)
        return passwords.get(conn_id)

    secrets = _secrets(lookup_connection=lookup, clock=clock)
    ref = SecretRef(conn_id="slack_conn")
    assert secrets.may_block(ref)
    assert secrets.resolve("hook-1", "slack", ref) == b"pw-1"
    passwords["slack_conn"] = "pw-2"
    clock.now = 0.5
    assert not secrets.may_block(ref)
    assert secrets.resolve("hook-1", "slack", ref) == b"pw-1"
    clock.now = 1.5
    assert secrets.resolve("hook-1", "slack", ref) == b"pw-2"
    assert calls == ["slack_conn", "slack_conn"]


def test_backend_error_and_unusable_secret_are_503_not_500() -> None:
    def broken(conn_id: str) -> str | None:
        raise ConnectionError("secrets backend down")

    with pytest.raises(ServiceUnavailable):
        _secrets(lookup_connection=broken).resolve("hook-1", "slack", SecretRef(conn_id="c"))
    with pytest.raises(ServiceUnavailable):
        _secrets(environ={"SW": "whsec_***"}).resolve("hook-1", "standard-webhooks", SecretRef(env="SW"))


def test_stored_secret_decrypted_once() -> None:
    calls: list[str] = []

    def decrypt(token: str) -> str:
        calls.append(token)
        return "plain"

    secrets = _secrets(decrypt=decrypt)
    for _ in range(3):
        assert secrets.resolve("hook-1", "stripe", SecretRef(stored="tok")) == b"plain"
    assert calls == ["tok"]


@pytest.mark.airflow
def test_vault_round_trip_with_airflow_fernet_key(airflow_db: None) -> None:
    vault = AirflowVault()
    token = vault.encrypt("whsec_vault")
    assert "whsec_vault" not in token
    assert vault.decrypt(token) == "whsec_vault"


@pytest.mark.airflow
def test_vault_without_fernet_key_refuses_literal(airflow_db: None) -> None:
    from airflow.models import crypto

    null_fernet = getattr(crypto, "_NullFernet", None) or crypto.NullFernet  # (the name of 3.1)
    # what Airflow's get_fernet() gives when [core] fernet_key is empty: plain text
    with pytest.raises(ConfigError, match="fernet_key"):
        AirflowVault(fernet=null_fernet).encrypt("x")
