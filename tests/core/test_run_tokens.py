from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timezone

import pytest

from airflow_webhook_trigger.core.run_tokens import RunTokens
from airflow_webhook_trigger.core.runs import RUN_ID_RE, make_run_id

NOW = datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
SECRET = b"the replicas' shared secret"


def test_run_tokens_known_answer() -> None:
    # the derivation, written out: a key per use from the shared secret, then an HMAC
    handle_key = hmac.new(SECRET, b"airflow-webhook-trigger webhook handle v1", hashlib.sha256).digest()
    token_key = hmac.new(SECRET, b"airflow-webhook-trigger status token v1", hashlib.sha256).digest()
    tokens = RunTokens(SECRET)
    assert (
        tokens.handle("hook-0123456789")
        == hmac.new(handle_key, b"hook-0123456789", "sha256").hexdigest()[:16]
    )
    expected = hmac.new(token_key, b"hook-0123456789\0webhook__x__1", "sha256").hexdigest()[:32]
    assert tokens.token("hook-0123456789", "webhook__x__1") == expected
    assert tokens.status_query("hook-0123456789", "webhook__x__1") == f"token={expected}"


def test_run_tokens_same_secret_same_answers_other_secret_other() -> None:
    one, same, other = RunTokens(SECRET), RunTokens(SECRET), RunTokens(b"another")
    assert one.handle("hook-a-000000") == same.handle("hook-a-000000") != other.handle("hook-a-000000")
    assert (
        one.token("hook-a-000000", "r")
        == same.token("hook-a-000000", "r")
        != other.token("hook-a-000000", "r")
    )
    assert RunTokens().handle("hook-a-000000") != RunTokens().handle("hook-a-000000")  # random secrets


def test_run_tokens_handle_names_without_telling_and_fits_run_ids() -> None:
    tokens = RunTokens(SECRET)
    handle = tokens.handle("hook-0123456789")
    assert re.fullmatch(r"[0-9a-f]{16}", handle)
    run_id = make_run_id(handle, NOW)
    assert RUN_ID_RE.match(run_id) and run_id.startswith(tokens.run_prefix("hook-0123456789"))
    assert "hook-0123456789" not in run_id
    # ids where one extends the other have unrelated handles
    assert not tokens.run_prefix("hook-0123456789__x").startswith(tokens.run_prefix("hook-0123456789"))


def test_run_tokens_repr_hides_the_key() -> None:
    assert repr(RunTokens(SECRET)) == "RunTokens('**********')"


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        ("{q}", True),
        ("a=1&{q}", True),
        ("", False),
        ("token=", False),
        ("{q}&{q}", False),  # one token, not a list of them
        ("TOKEN={t}", False),
        ("token={t}x", False),
        ("token=%E2%98%83", False),
        ("token=%FF", False),
    ],
)
def test_run_tokens_matches_only_the_runs_own_token(query: str, ok: bool) -> None:
    tokens = RunTokens(SECRET)
    q, t = tokens.status_query("hook-0123456789", "R"), tokens.token("hook-0123456789", "R")
    given = query.format(q=q, t=t).encode("latin-1")
    assert tokens.matches("hook-0123456789", "R", given) is ok
    assert not tokens.matches("hook-0123456789", "S", given)
    assert not tokens.matches("hook-0123456789__x", "R", given)
