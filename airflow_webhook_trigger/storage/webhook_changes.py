"""Creating, changing and applying webhook definitions (shared by the CLI and the API)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from airflow_webhook_trigger.core.auth import hash_password, password_matches_hash
from airflow_webhook_trigger.core.definition import BasicAuth, Webhook, WebhookDocument, parse_document
from airflow_webhook_trigger.core.errors import ConfigError, Conflict
from airflow_webhook_trigger.core.signature_config import SecretInput
from airflow_webhook_trigger.core.signatures import SecretRef, SignatureSpec, UnusableSecret, check_secret
from airflow_webhook_trigger.storage.webhook_store import WebhookStore


class Vault(Protocol):
    """What writing a signing secret needs from Airflow (``airflow_seam.secrets.AirflowVault``)."""

    def encrypt(self, secret: str) -> str:
        """:raises ConfigError: Airflow has no Fernet key (the secret would be stored in plain text)"""
        ...

    def decrypt(self, token: str) -> str: ...

    def connection_password(self, conn_id: str) -> str | None:
        """The connection's password, or None when there is no such connection (or no password)."""
        ...


Action = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class Applied:
    webhook: Webhook
    action: Action
    warnings: tuple[str, ...] = ()


def _resolve_auth(
    parsed: WebhookDocument, existing: Webhook | None, env: Mapping[str, str], where: str = "webhook"
) -> BasicAuth | None:
    """Turn the document's password into a stored hash, reusing the stored one when unchanged."""
    if parsed.username is None or parsed.password is None:
        return None
    old = existing.auth if existing is not None else None
    password = parsed.password
    if password.env is not None:
        value = env.get(password.env)
        if not value:
            if old is not None and old.username == parsed.username:
                # Unset variable: keep the stored password (what `export` + `apply` relies on).
                return old
            raise ConfigError(
                f"{where}.auth.basic.password_env: environment variable {password.env} is not set"
            )
    else:
        value = password.literal or ""
    if old is not None and password_matches_hash(value, old.password_hash):
        return BasicAuth(parsed.username, old.password_hash, password.env)
    return BasicAuth(parsed.username, hash_password(value), password.env)


def _same_source(old: SecretRef | None, source: SecretInput) -> bool:
    return old is not None and (
        (source.env is not None and old.env == source.env)
        or (source.conn_id is not None and old.conn_id == source.conn_id)
    )


def _resolve_secret(
    scheme: str,
    source: SecretInput,
    old: SecretRef | None,
    env: Mapping[str, str],
    vault: Vault | None,
    where: str,
) -> SecretRef:
    """A secret source made storable: checked that it is set, a literal encrypted.

    A source is refused when it is unset now, unless the webhook already reads it (an
    ``export`` applied where the variable is not set changes nothing).
    """

    def usable(value: str) -> None:
        try:
            check_secret(scheme, value.encode("utf-8"))
        except UnusableSecret as exc:
            raise ConfigError(f"{where}: {exc}") from None

    if source.keep_stored:
        if old is None or old.stored is None:
            raise ConfigError(f"{where}: secret_stored: true, but this webhook has no stored secret")
        return SecretRef(stored=old.stored)
    if source.env is not None:
        value = env.get(source.env)
        if value:
            usable(value)
        elif not _same_source(old, source):
            raise ConfigError(f"{where}: environment variable {source.env} is not set")
        return SecretRef(env=source.env)
    if source.conn_id is not None:
        password = vault.connection_password(source.conn_id) if vault is not None else None
        if password:
            usable(password)
        elif not _same_source(old, source):
            raise ConfigError(
                f"{where}: Airflow connection {source.conn_id} does not exist or has no password"
            )
        return SecretRef(conn_id=source.conn_id)
    literal = source.literal or ""
    usable(literal)
    if vault is None:
        raise ConfigError(
            f"{where}: a literal secret cannot be stored here; use secret_env or secret_conn_id"
        )
    if old is not None and old.stored is not None and vault.decrypt(old.stored) == literal:
        return SecretRef(stored=old.stored)  # unchanged: keep the ciphertext (apply stays idempotent)
    return SecretRef(stored=vault.encrypt(literal))


def _resolve_signature(
    parsed: WebhookDocument, existing: Webhook | None, env: Mapping[str, str], vault: Vault | None, where: str
) -> SignatureSpec | None:
    if parsed.signature is None:
        return None
    here = f"{where}.auth.signature"
    old = existing.signature if existing is not None else None
    spec = parsed.signature.spec
    secret = _resolve_secret(
        spec.scheme, parsed.signature.secret, old.secret if old else None, env, vault, here
    )
    previous = None
    if parsed.signature.previous is not None:
        previous = _resolve_secret(
            spec.scheme,
            parsed.signature.previous,
            old.previous if old else None,
            env,
            vault,
            f"{here}.previous",
        )
    return replace(spec, secret=secret, previous=previous)


def _warnings(parsed: WebhookDocument, webhook: Webhook, existing: Webhook | None) -> tuple[str, ...]:
    # Only when the id is chosen here (a new webhook) or auth is removed: a document that
    # merely carries a stored id (export, `update`, PATCH) does not mean it was chosen.
    unauthenticated = webhook.auth is None and webhook.signature is None
    had_auth = existing is None or existing.auth is not None or existing.signature is not None
    if parsed.id_given and unauthenticated and had_auth:
        return (
            f"webhook {webhook.id}: a chosen id is a guessable secret and this webhook has no "
            "auth; anyone who knows the URL can start runs",
        )
    return ()


def upsert(
    store: WebhookStore,
    document: object,
    *,
    env: Mapping[str, str],
    create_only: bool = False,
    where: str = "webhook",
    dry_run: bool = False,
    vault: Vault | None = None,
) -> Applied:
    """Create the webhook a document describes, or bring the stored one in line with it.

    :param dry_run: decide (and raise) as usual, but write nothing
    :param vault: encrypts literal signing secrets and looks connections up (None: neither
        is possible, and a document needing them is refused)
    :raises ConfigError: invalid document
    :raises Conflict: ``create_only`` and the id exists
    """
    parsed = parse_document(document, where=where)
    if not parsed.id_given and not create_only:
        # No id: an identical webhook of the same DAG is this one (keeps apply idempotent).
        for candidate in store.list(parsed.webhook.dag_id):
            try:
                auth = _resolve_auth(parsed, candidate, env, where)
                signature = _resolve_signature(parsed, candidate, env, vault, where)
            except ConfigError:  # a source unset, and this webhook is not ours
                continue
            if parsed.webhook.with_changes(id=candidate.id, auth=auth, signature=signature) == candidate:
                return Applied(candidate, "unchanged", _warnings(parsed, candidate, candidate))
    existing = store.get(parsed.webhook.id) if parsed.id_given else None
    webhook = parsed.webhook.with_changes(
        auth=_resolve_auth(parsed, existing, env, where),
        signature=_resolve_signature(parsed, existing, env, vault, where),
    )
    warnings = _warnings(parsed, webhook, existing)
    if existing is None or create_only:
        if existing is not None:
            raise Conflict(f"a webhook with id {webhook.id!r} already exists")
        return Applied(webhook if dry_run else store.create(webhook), "created", warnings)
    if existing == webhook:
        return Applied(existing, "unchanged", warnings)
    return Applied(webhook if dry_run else store.save(webhook), "updated", warnings)


def apply_documents(
    store: WebhookStore, documents: Sequence[object], *, env: Mapping[str, str], vault: Vault | None = None
) -> list[Applied]:
    """Apply a list of documents (the ``webhooks:`` list of a YAML file); idempotent.

    All documents are checked (passwords resolved too) before anything is written,
    so an invalid one writes nothing.
    """
    ids: dict[str, int] = {}
    for i, doc in enumerate(documents):
        parsed = parse_document(doc, where=f"webhooks[{i}]")
        if parsed.id_given:
            if parsed.webhook.id in ids:
                raise ConfigError(
                    f"webhooks[{i}].id: {parsed.webhook.id!r} is also the id of "
                    f"webhooks[{ids[parsed.webhook.id]}]"
                )
            ids[parsed.webhook.id] = i
    for i, doc in enumerate(documents):
        upsert(store, doc, env=env, where=f"webhooks[{i}]", dry_run=True, vault=vault)
    return [
        upsert(store, doc, env=env, where=f"webhooks[{i}]", vault=vault) for i, doc in enumerate(documents)
    ]


def load_file_documents(data: object) -> list[object]:
    """The webhook documents of a parsed YAML file (``{webhooks: [...]}``)."""
    if not isinstance(data, Mapping) or set(data) - {"webhooks"}:
        raise ConfigError("the file must be a mapping with one key, 'webhooks'")
    items = data.get("webhooks") or []
    if not isinstance(items, list):
        raise ConfigError("webhooks: must be a list")
    return list(items)
