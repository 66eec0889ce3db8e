"""The webhook registry: plugin-owned tables in the Airflow metadata DB.

Plain SQLAlchemy Core over a session factory handed in by the caller, so the
registry is tested on SQLite and PostgreSQL without importing Airflow here.
The schema is versioned by the alembic migrations in ``migrations/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airflow_webhook_trigger.core.access import unknown_webhook
from airflow_webhook_trigger.core.definition import (
    DEFINITION_KEYS,
    ID_RE,
    BasicAuth,
    Webhook,
    parse_document,
)
from airflow_webhook_trigger.core.errors import Conflict, NotFound
from airflow_webhook_trigger.core.signature_config import SecretInput, parse_signature, signature_document
from airflow_webhook_trigger.core.signatures import SecretRef, SignatureSpec
from airflow_webhook_trigger.core.webhook_document import to_document

metadata = MetaData()

webhooks_table = Table(
    "webhook_trigger_webhook",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("dag_id", String(250), nullable=False, index=True),
    Column("mode", String(8), nullable=False),
    Column("enabled", Boolean, nullable=False),
    # request fields, response and sync settings as the JSON of the declarative form
    Column("definition", Text, nullable=False),
    Column("auth_username", String(128), nullable=True),
    Column("auth_password_hash", String(256), nullable=True),
    Column("auth_password_env", String(128), nullable=True),
    # the signature check: its settings as JSON (secret sources by name only), and the
    # secrets given literally, encrypted with Airflow's Fernet key
    Column("signature", Text, nullable=True),
    Column("signature_secret", Text, nullable=True),
    Column("signature_previous_secret", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: one row per request that named an existing webhook; never a secret,
#: an auth header, a signature or a cookie
deliveries_table = Table(
    "webhook_trigger_delivery",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("webhook_id", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),  # accepted, duplicate, filtered, rejected, handshake
    Column("status", Integer, nullable=True),  # a sync delivery's, once answered
    Column("error", Text, nullable=True),
    Column("dag_id", String(250), nullable=True),
    Column("run_id", String(250), nullable=True),
    Column("delivery_key", String(256), nullable=True),
    Column("duration_ms", Float, nullable=True),
    Column("replay_of", String(32), nullable=True),
    Index("webhook_trigger_delivery_by_webhook", "webhook_id", "received_at"),
)

#: the delivery keys seen, one run each: the primary key is what makes any
#: number of concurrent repeats, on any number of replicas, start exactly one run
delivery_keys_table = Table(
    "webhook_trigger_delivery_key",
    metadata,
    Column("webhook_id", String(64), primary_key=True),
    Column("key_sha256", String(64), primary_key=True),
    Column("body_sha256", String(64), nullable=False),
    Column("dag_id", String(250), nullable=False),
    Column("run_id", String(250), nullable=False),
    Column("delivery_id", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

#: the latest test capture of each webhook (``POST {prefix}/test/{id}``): the seed's sample
samples_table = Table(
    "webhook_trigger_sample",
    metadata,
    Column("webhook_id", String(64), primary_key=True),
    Column("captured_at", DateTime(timezone=True), nullable=False),
    Column("sample", Text, nullable=False),  # JSON: headers (no auth, no cookies), query, body
)

SessionFactory = Callable[[], AbstractContextManager[Session]]


def _definition(webhook: Webhook) -> str:
    doc = to_document(webhook)
    kept = {k: doc[k] for k in DEFINITION_KEYS if k in doc}
    return json.dumps(kept, separators=(",", ":"), sort_keys=True)


def _signature_values(spec: SignatureSpec | None) -> dict[str, object]:
    if spec is None:
        return {"signature": None, "signature_secret": None, "signature_previous_secret": None}
    return {
        "signature": json.dumps(signature_document(spec), separators=(",", ":"), sort_keys=True),
        "signature_secret": spec.secret.stored,
        "signature_previous_secret": spec.previous.stored if spec.previous is not None else None,
    }


def _signature_from_row(m: Mapping[str, Any], where: str) -> SignatureSpec | None:
    if m["signature"] is None:
        return None
    parsed = parse_signature(json.loads(m["signature"]), where)

    def ref(source: SecretInput | None, stored: str | None) -> SecretRef | None:
        if source is None:
            return None
        return SecretRef(
            env=source.env, conn_id=source.conn_id, stored=stored if source.keep_stored else None
        )

    secret = ref(parsed.secret, m["signature_secret"]) or SecretRef()
    return replace(parsed.spec, secret=secret, previous=ref(parsed.previous, m["signature_previous_secret"]))


def _row_values(webhook: Webhook) -> dict[str, object]:
    return {
        **_signature_values(webhook.signature),
        "dag_id": webhook.dag_id,
        "mode": webhook.mode,
        "enabled": webhook.enabled,
        "definition": _definition(webhook),
        "auth_username": webhook.auth.username if webhook.auth else None,
        "auth_password_hash": webhook.auth.password_hash if webhook.auth else None,
        "auth_password_env": webhook.auth.password_env if webhook.auth else None,
    }


def webhook_from_row(row: object) -> Webhook:
    """Rebuild a :class:`Webhook` from a row (validated again, as on input)."""
    m = row._mapping  # type: ignore[attr-defined]
    doc = {"id": m["id"], "dag_id": m["dag_id"], "mode": m["mode"], "enabled": bool(m["enabled"])}
    doc.update(json.loads(m["definition"]))
    webhook = parse_document(doc, where=f"stored webhook {m['id']}", stored=True).webhook
    signature = _signature_from_row(m, f"stored webhook {m['id']}.signature")
    if signature is not None:
        webhook = webhook.with_changes(signature=signature)
    if m["auth_username"] is not None:
        webhook = webhook.with_changes(
            auth=BasicAuth(
                username=m["auth_username"],
                password_hash=m["auth_password_hash"],
                password_env=m["auth_password_env"],
            )
        )
    return webhook


class WebhookStore:
    """CRUD over the webhook table.

    :param session_factory: a context manager yielding a session and committing on exit
    """

    def __init__(self, session_factory: SessionFactory) -> None:
        self._sessions = session_factory

    def get(self, webhook_id: str) -> Webhook | None:
        # Never stored, and PostgreSQL's driver refuses a NUL byte with a ValueError (a 500).
        if not ID_RE.match(webhook_id):
            return None
        with self._sessions() as session:
            row = session.execute(select(webhooks_table).where(webhooks_table.c.id == webhook_id)).first()
        return webhook_from_row(row) if row is not None else None

    def require(self, webhook_id: str) -> Webhook:
        webhook = self.get(webhook_id)
        if webhook is None:
            raise unknown_webhook(webhook_id)
        return webhook

    def list(self, dag_id: str | None = None) -> list[Webhook]:
        query = select(webhooks_table).order_by(webhooks_table.c.dag_id, webhooks_table.c.id)
        if dag_id is not None:
            query = query.where(webhooks_table.c.dag_id == dag_id)
        with self._sessions() as session:
            rows = session.execute(query).all()
        return [webhook_from_row(row) for row in rows]

    def create(self, webhook: Webhook) -> Webhook:
        now = datetime.now(timezone.utc)
        conflict = Conflict(f"a webhook with id {webhook.id!r} already exists")
        try:
            with self._sessions() as session:
                exists = session.execute(
                    select(webhooks_table.c.id).where(webhooks_table.c.id == webhook.id)
                ).first()
                if exists is not None:
                    raise conflict
                session.execute(
                    insert(webhooks_table).values(
                        id=webhook.id, created_at=now, updated_at=now, **_row_values(webhook)
                    )
                )
        except IntegrityError:
            # Another replica inserted the same id between our check and our insert.
            raise conflict from None
        return webhook

    def save(self, webhook: Webhook) -> Webhook:
        """Replace an existing webhook's definition."""
        with self._sessions() as session:
            result = session.execute(
                update(webhooks_table)
                .where(webhooks_table.c.id == webhook.id)
                .values(updated_at=datetime.now(timezone.utc), **_row_values(webhook))
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"no webhook with id {webhook.id!r}")
        return webhook

    def delete(self, webhook_id: str) -> None:
        if not ID_RE.match(webhook_id):
            raise NotFound(f"no webhook with id {webhook_id!r}")
        with self._sessions() as session:
            result = session.execute(delete(webhooks_table).where(webhooks_table.c.id == webhook_id))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"no webhook with id {webhook_id!r}")
