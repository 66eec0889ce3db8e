"""Basic authentication: password hashing and the per-request check.

Passwords are stored as salted scrypt hashes (never in plain text). scrypt is slow
on purpose, so it must not run once per request: after the first successful check
a process keeps a fast verifier (HMAC-SHA256 under a per-process random key) of the
right password, and every later request, right or wrong, costs one HMAC. Until
the first success, slow checks of one password are serialised (at most one at a time
per stored hash and process), so a flood of wrong passwords for one webhook costs at
most one core and delays no other webhook.

Every parse of attacker-controlled input here ends in :class:`Unauthorized`
(RFC 7617 Basic; scheme case-insensitive per RFC 9110 §11.1); comparisons are
constant-time on bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable

from airflow_webhook_trigger.core.definition import BasicAuth
from airflow_webhook_trigger.core.errors import Unauthorized
from airflow_webhook_trigger.core.request import Headers

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_DKLEN = 32
_MAX_HEADER = 4096
REALM = "airflow-webhook-trigger"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Hash a password as ``scrypt$N$r$p$salt$hash`` (base64 fields).

    :param password: the plain password
    :param salt: for known-answer tests only; random by default
    """
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password.encode("utf-8"), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=_DKLEN)


def verify_password_slow(password: bytes, stored: str) -> bool:
    """Check a password against a stored hash (slow: one scrypt)."""
    try:
        scheme, n, r, p, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(hash_b64, validate=True)
        actual = _scrypt(password, salt, int(n), int(r), int(p))
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)


def password_matches_hash(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (used by ``apply``)."""
    return verify_password_slow(password.encode("utf-8"), stored)


def challenge_headers() -> dict[str, str]:
    return {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}


def _unauthorized(detail: str) -> Unauthorized:
    return Unauthorized(detail, headers=challenge_headers())


def parse_basic_header(value: str | None) -> tuple[bytes, bytes]:
    """Split an ``Authorization: Basic`` header into (username, password) bytes.

    :raises Unauthorized: missing, other scheme, bad base64, no colon
    """
    if value is None:
        raise _unauthorized("authentication required")
    if len(value) > _MAX_HEADER:
        raise _unauthorized("malformed Authorization header")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic":
        raise _unauthorized("Basic authentication required")
    try:
        decoded = base64.b64decode(token.strip().encode("ascii"), validate=True)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise _unauthorized("malformed Basic credentials") from None
    username, colon, password = decoded.partition(b":")
    if not colon:
        raise _unauthorized("malformed Basic credentials")
    return username, password


def basic_authorization(headers: Headers) -> str | None:
    """The request's one ``Authorization: Basic`` value.

    Other schemes are passed over: a proxy or middleware may add its own header
    (Airflow's ``simple_auth_manager_all_admins`` mode appends a Bearer token to
    every request). Two Basic values are ambiguous and count as malformed.
    """
    values = headers.get_all("authorization")
    # A WSGI bridge joins repeated fields with ", "; Basic tokens never hold a comma.
    parts = [p.strip() for v in values for p in v.split(",")]
    basic = [p for p in parts if p.partition(" ")[0].lower() == "basic"]
    if len(basic) == 1:
        return basic[0]
    if len(basic) > 1:
        raise _unauthorized("malformed Authorization header")
    return values[0] if values else None


class BasicAuthChecker:
    """Checks Basic credentials against stored hashes, cheaply after the first success.

    Slow checks (scrypt) run one at a time *per stored hash*: a flood of wrong passwords
    for one webhook waits on that webhook's lock and never delays the first check of
    another webhook's password.

    :param verify_slow: the slow check of a password against a stored hash (injected in tests)
    """

    def __init__(self, verify_slow: Callable[[bytes, str], bool] = verify_password_slow) -> None:
        self._verify_slow = verify_slow
        self._key = secrets.token_bytes(32)
        self._verified: dict[str, bytes] = {}  # stored hash -> HMAC of the right password
        self._lock = threading.Lock()
        self._slow: dict[str, threading.Lock] = {}  # stored hash -> its slow-check lock

    def _fast(self, password: bytes) -> bytes:
        return hmac.new(self._key, password, hashlib.sha256).digest()

    def needs_slow_check(self, auth: BasicAuth) -> bool:
        """Whether checking a password for ``auth`` may cost a scrypt (none succeeded yet)."""
        with self._lock:
            return auth.password_hash not in self._verified

    def _slow_lock(self, password_hash: str) -> threading.Lock:
        with self._lock:
            lock = self._slow.get(password_hash)
            if lock is None:
                if len(self._slow) > 10_000:
                    self._slow.clear()
                lock = self._slow[password_hash] = threading.Lock()
            return lock

    def check(self, auth: BasicAuth, headers: Headers) -> None:
        """Raise :class:`Unauthorized` unless the request carries the right credentials.

        :param auth: the webhook's stored auth
        :param headers: the request headers
        """
        username, password = parse_basic_header(basic_authorization(headers))
        user_ok = hmac.compare_digest(username, auth.username.encode("utf-8"))
        fast = self._fast(password)
        with self._lock:
            known = self._verified.get(auth.password_hash)
        if known is None:
            # Serialise slow checks of this hash: the first success makes every later check cheap.
            with self._slow_lock(auth.password_hash):
                with self._lock:
                    known = self._verified.get(auth.password_hash)
                if known is None:
                    if not self._verify_slow(password, auth.password_hash):
                        raise _unauthorized("invalid credentials")
                    with self._lock:
                        if len(self._verified) > 10_000:
                            self._verified.clear()
                        self._verified[auth.password_hash] = fast
                    known = fast
        if not (hmac.compare_digest(fast, known) and user_ok):
            raise _unauthorized("invalid credentials")
