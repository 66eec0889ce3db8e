"""The sender records, and every list derived from them."""

from __future__ import annotations

import argparse

import pytest

from airflow_webhook_trigger.cli.commands import build_parser
from airflow_webhook_trigger.core import dedupe, signatures
from airflow_webhook_trigger.core.errors import ConfigError
from airflow_webhook_trigger.core.senders import (
    SCHEMES,
    SENDERS,
    SIGNATURE_HEADER_NAMES,
    SIGNED_PARTS,
    TIMESTAMPED,
    Sender,
    sender,
)
from airflow_webhook_trigger.core.signature_config import parse_signature
from airflow_webhook_trigger.web.management_schema import PROPERTIES


def test_one_record_per_scheme() -> None:
    assert len({s.name for s in SENDERS}) == len(SENDERS)
    assert tuple(s.name for s in SENDERS) == SCHEMES
    assert all(sender(s.name) is s for s in SENDERS)
    with pytest.raises(KeyError):
        sender("nobody")


@pytest.mark.parametrize("s", SENDERS, ids=lambda s: s.name)
def test_every_list_reads_the_record(s: Sender) -> None:
    assert (s.name in TIMESTAMPED) is s.timestamped
    assert SIGNED_PARTS[s.name] == s.signed
    assert ("timestamp" in s.signed) is s.timestamped
    assert set(s.signature_headers) <= SIGNATURE_HEADER_NAMES
    assert set(s.signature_headers) <= set(s.headers)
    assert all(signatures.is_credential_header(h) for h in s.signature_headers)
    if s.auto_key is None:
        assert s.name in dedupe.SIGNED_DIGEST_KEYS and s.name not in dedupe.AUTO_KEYS
    else:
        assert dedupe.AUTO_KEYS[s.name] == (s.auto_key.source, s.auto_key.name)
        assert (s.name in dedupe.OPTIONAL_AUTO_KEYS) is s.auto_key.optional
    assert s.doc and "\n" not in s.doc


def test_the_api_schema_and_the_cli_offer_every_scheme() -> None:
    enum = PROPERTIES["auth"]["properties"]["signature"]["properties"]["scheme"]["enum"]
    assert enum == list(SCHEMES)
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    create = commands.choices["create"]
    signature = next(a for a in create._actions if "--signature" in a.option_strings)
    assert list(signature.choices or ()) == list(SCHEMES)


def test_scheme_options_are_the_records() -> None:
    for s in SENDERS:
        for key in ("header", "algorithm", "encoding", "prefix"):
            doc = {"scheme": s.name, "secret_env": "S", key: "X-Sig" if key == "header" else "sha256"}
            if key in s.options:
                continue  # its own option (validated with the rest of its keys)
            with pytest.raises(ConfigError, match=f"{key}: only for scheme hmac"):
                parse_signature(doc, "auth.signature")
