from __future__ import annotations

import base64

import pytest

from airflow_webhook_trigger.core.auth import (
    BasicAuthChecker,
    hash_password,
    parse_basic_header,
    password_matches_hash,
    verify_password_slow,
)
from airflow_webhook_trigger.core.definition import BasicAuth
from airflow_webhook_trigger.core.errors import Unauthorized
from airflow_webhook_trigger.core.request import Headers

# Known-answer vector: scrypt(N=2**14, r=8, p=1, dklen=32) of "hunter2" with a fixed salt.
KNOWN_SALT = bytes(range(16))
KNOWN_HASH = hash_password("hunter2", salt=KNOWN_SALT)


def _header(raw: bytes) -> Headers:
    return Headers([("Authorization", "Basic " + base64.b64encode(raw).decode())])


def test_hash_password_known_answer_is_stable() -> None:
    import hashlib

    digest = hashlib.scrypt(b"hunter2", salt=KNOWN_SALT, n=2**14, r=8, p=1, dklen=32)
    assert (
        "scrypt$16384$8$1$" + base64.b64encode(KNOWN_SALT).decode() + "$" + base64.b64encode(digest).decode()
    ) == KNOWN_HASH
    assert "hunter2" not in KNOWN_HASH


def test_hash_password_random_salt_differs_each_time() -> None:
    assert hash_password("x") != hash_password("x")


@pytest.mark.parametrize(
    ("password", "stored", "expected"),
    [
        ("hunter2", KNOWN_HASH, True),
        ("hunter3", KNOWN_HASH, False),
        ("hunter2", "bcrypt$xx", False),
        ("hunter2", "scrypt$16384$8$1$!!!$abc", False),
        ("hunter2", "garbage", False),
    ],
)
def test_password_matches_hash_table(password: str, stored: str, expected: bool) -> None:
    assert password_matches_hash(password, stored) is expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "Bearer abc",
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + "A" * 5000,
        "Basic dXNlcjpwYXNz=garbage",
        "Basic \u00e9\u00e9",
        "Digest username=x",
    ],
)
def test_parse_basic_header_malformed_raises_unauthorized_with_challenge(value: str | None) -> None:
    with pytest.raises(Unauthorized) as info:
        parse_basic_header(value)
    assert info.value.headers["WWW-Authenticate"] == (
        'Basic realm="airflow-webhook-trigger", charset="UTF-8"'
    )


@pytest.mark.parametrize("scheme", ["Basic", "basic", "BASIC", "bAsIc"])
def test_parse_basic_header_scheme_case_insensitive(scheme: str) -> None:
    token = base64.b64encode(b"user:pa:ss").decode()
    assert parse_basic_header(f"{scheme} {token}") == (b"user", b"pa:ss")


def test_parse_basic_header_non_utf8_bytes_are_kept_as_bytes() -> None:
    token = base64.b64encode(b"\xff\xfe:\x80").decode()
    assert parse_basic_header(f"Basic {token}") == (b"\xff\xfe", b"\x80")


def test_checker_right_credentials_pass_wrong_fail() -> None:
    checker = BasicAuthChecker()
    stored = BasicAuth("stripe", KNOWN_HASH)
    checker.check(stored, _header(b"stripe:hunter2"))
    for raw in (b"stripe:hunter3", b"Stripe:hunter2", b"stripe:", b"\xff:\xff", b"stripe:hunter2 "):
        with pytest.raises(Unauthorized):
            checker.check(stored, _header(raw))
    with pytest.raises(Unauthorized):
        checker.check(stored, Headers())


def test_checker_after_first_success_never_runs_scrypt_again() -> None:
    calls: list[bytes] = []

    def counted(password: bytes, stored: str) -> bool:
        calls.append(password)
        return verify_password_slow(password, stored)

    checker = BasicAuthChecker(verify_slow=counted)
    stored = BasicAuth("stripe", KNOWN_HASH)
    checker.check(stored, _header(b"stripe:hunter2"))
    calls.clear()
    for i in range(50):
        with pytest.raises(Unauthorized):
            checker.check(stored, _header(f"stripe:wrong{i}".encode()))
    checker.check(stored, _header(b"stripe:hunter2"))
    assert calls == []


def test_checker_wrong_password_before_success_does_not_cache() -> None:
    checker = BasicAuthChecker()
    stored = BasicAuth("stripe", KNOWN_HASH)
    with pytest.raises(Unauthorized):
        checker.check(stored, _header(b"stripe:wrong"))
    checker.check(stored, _header(b"stripe:hunter2"))


def test_basic_auth_repr_hides_hash() -> None:
    assert KNOWN_HASH not in repr(BasicAuth("u", KNOWN_HASH))


def test_checker_basic_value_found_among_other_authorization_headers() -> None:
    checker = BasicAuthChecker()
    stored = BasicAuth("stripe", KNOWN_HASH)
    token = base64.b64encode(b"stripe:hunter2").decode()
    checker.check(stored, Headers([("Authorization", f"Basic {token}"), ("authorization", "Bearer jwt")]))
    checker.check(stored, Headers([("Authorization", f"Bearer jwt, Basic {token}")]))
    with pytest.raises(Unauthorized, match="malformed"):
        checker.check(
            stored, Headers([("Authorization", f"Basic {token}"), ("Authorization", f"basic {token}")])
        )
    with pytest.raises(Unauthorized, match="Basic authentication required"):
        checker.check(stored, Headers([("Authorization", "Bearer jwt")]))


def test_checker_slow_checks_serialise_per_hash_not_per_process() -> None:
    import threading

    release_a = threading.Event()

    def slow(password: bytes, stored: str) -> bool:
        if stored == hash_a:
            release_a.wait(10)  # webhook A's first check hangs (a flood of them, say)
        return verify_password_slow(password, stored)

    hash_a, hash_b = hash_password("a-pass"), hash_password("b-pass")
    checker = BasicAuthChecker(verify_slow=slow)
    stuck = threading.Thread(target=lambda: _raises(checker, BasicAuth("u", hash_a), "nope"))
    stuck.start()
    try:
        assert checker.needs_slow_check(BasicAuth("u", hash_b))
        checker.check(BasicAuth("u", hash_b), Headers([("Authorization", _basic("u", "b-pass"))]))
        assert not checker.needs_slow_check(BasicAuth("u", hash_b))
        assert checker.needs_slow_check(BasicAuth("u", hash_a))
    finally:
        release_a.set()
        stuck.join()


def _raises(checker: BasicAuthChecker, auth: BasicAuth, password: str) -> None:
    with pytest.raises(Unauthorized):
        checker.check(auth, Headers([("Authorization", _basic(auth.username, password))]))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
