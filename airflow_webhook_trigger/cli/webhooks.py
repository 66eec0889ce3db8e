"""The webhook commands (create, list, show, update, apply, export, ...) run on parsed arguments."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any, TextIO

import yaml

from airflow_webhook_trigger.cli.deliveries import replay, show_deliveries, show_sample
from airflow_webhook_trigger.cli.flags import CliError, apply_flags
from airflow_webhook_trigger.core.definition import Webhook
from airflow_webhook_trigger.core.sample import paths_from_sample
from airflow_webhook_trigger.core.webhook_document import to_document
from airflow_webhook_trigger.storage.webhook_changes import apply_documents, load_file_documents, upsert


def _read_source(value: str, stdin: TextIO) -> str:
    if value == "-":
        return stdin.read()
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as f:
                return f.read()
        except OSError as exc:
            raise CliError(f"cannot read {value[1:]}: {exc.strerror}") from None
    return value


def _dump_yaml(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _vault() -> Any:
    from airflow_webhook_trigger.airflow_seam.secrets import AirflowVault

    return AirflowVault()


class Cli:
    def __init__(self, out: TextIO, err: TextIO, stdin: TextIO) -> None:
        self.out, self.err, self.stdin = out, err, stdin
        self._base_url_checked = False

    def _store(self) -> Any:
        from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
        from airflow_webhook_trigger.storage.webhook_store import WebhookStore

        return WebhookStore(db_session)

    def _url(self, webhook_id: str) -> str:
        from airflow_webhook_trigger.airflow_seam.airflow_config import (
            base_url,
            base_url_configured,
            read_settings,
        )
        from airflow_webhook_trigger.core.urls import webhook_url

        if not self._base_url_checked:
            self._base_url_checked = True
            if not base_url_configured():
                self._warn([
                    f"[api] base_url is not set, so URLs say {base_url()}; set it "
                    "(AIRFLOW__API__BASE_URL) to the address the senders reach"
                ])  # fmt: skip
        return webhook_url(base_url(), read_settings().url_prefix, webhook_id)

    def _check_dag(self, dag_id: str, *, strict: bool = False) -> None:
        from airflow_webhook_trigger.airflow_seam.metadata_db import dag_known

        if dag_known(dag_id):
            return
        message = (
            f"DAG {dag_id!r} is not in Airflow's DB (misspelled, or not parsed yet): "
            "its webhooks answer 404 until it is"
        )
        if strict:
            raise CliError(message)
        self._warn([message])

    def _print_webhook(self, webhook: Webhook, as_json: bool) -> None:
        doc = {**to_document(webhook), "url": self._url(webhook.id)}
        self.out.write(json.dumps(doc, indent=2) + "\n" if as_json else _dump_yaml(doc))

    def _warn(self, warnings: Sequence[str]) -> None:
        for warning in warnings:
            self.err.write(f"warning: {warning}\n")

    def run(self, args: argparse.Namespace) -> int:
        command = args.command.replace("-", "_")
        result: int = getattr(self, f"cmd_{command}")(args)
        return result

    def cmd_create(self, args: argparse.Namespace) -> int:
        doc: dict[str, Any] = {"dag_id": args.dag_id}
        if args.id:
            doc["id"] = args.id
        if args.disabled:
            doc["enabled"] = False
        apply_flags(doc, args, self.stdin)
        self._check_dag(args.dag_id, strict=args.strict)
        applied = upsert(self._store(), doc, env=os.environ, create_only=True, vault=_vault())
        self._warn(applied.warnings)
        if args.json:
            self._print_webhook(applied.webhook, True)
        else:
            self.out.write(f"created webhook {applied.webhook.id} for DAG {applied.webhook.dag_id}\n")
            self.out.write(self._url(applied.webhook.id) + "\n")
        return 0

    def cmd_list(self, args: argparse.Namespace) -> int:
        webhooks = self._store().list(args.dag_id)
        if args.json:
            docs = [{**to_document(w), "url": self._url(w.id)} for w in webhooks]
            self.out.write(json.dumps(docs, indent=2) + "\n")
            return 0
        for w in webhooks:
            state = "enabled" if w.enabled else "disabled"
            kinds = [*(["basic"] if w.auth else []), *([w.signature.scheme] if w.signature else [])]
            auth = "+".join(kinds) or "no-auth"
            self.out.write(f"{w.id}\t{w.dag_id}\t{w.mode}\t{state}\t{auth}\t{self._url(w.id)}\n")
        return 0

    def cmd_show(self, args: argparse.Namespace) -> int:
        self._print_webhook(self._store().require(args.id), args.json)
        return 0

    def cmd_url(self, args: argparse.Namespace) -> int:
        self.out.write(self._url(self._store().require(args.id).id) + "\n")
        return 0

    def cmd_delete(self, args: argparse.Namespace) -> int:
        self._store().delete(args.id)
        self.out.write(f"deleted webhook {args.id}\n")
        return 0

    def _set_enabled(self, webhook_id: str, enabled: bool) -> int:
        store = self._store()
        store.save(store.require(webhook_id).with_changes(enabled=enabled))
        self.out.write(f"{'enabled' if enabled else 'disabled'} webhook {webhook_id}\n")
        return 0

    def cmd_enable(self, args: argparse.Namespace) -> int:
        return self._set_enabled(args.id, True)

    def cmd_disable(self, args: argparse.Namespace) -> int:
        return self._set_enabled(args.id, False)

    def cmd_update(self, args: argparse.Namespace) -> int:
        store = self._store()
        doc: dict[str, Any] = to_document(store.require(args.id))
        apply_flags(doc, args, self.stdin)
        if args.dag_id:
            self._check_dag(args.dag_id)
        applied = upsert(store, doc, env=os.environ, vault=_vault())
        self._warn(applied.warnings)
        self.out.write(f"{applied.action} webhook {applied.webhook.id}\n")
        return 0

    def cmd_apply(self, args: argparse.Namespace) -> int:
        text = self.stdin.read() if args.file == "-" else _read_source("@" + args.file, self.stdin)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CliError(f"{args.file} is not valid YAML: {exc}") from None
        results = apply_documents(self._store(), load_file_documents(data), env=os.environ, vault=_vault())
        for applied in results:
            self._warn(applied.warnings)
            self.out.write(f"{applied.action}\t{applied.webhook.id}\t{applied.webhook.dag_id}\n")
        return 0

    def cmd_export(self, args: argparse.Namespace) -> int:
        docs = [to_document(w) for w in self._store().list(args.dag_id)]
        self.out.write(_dump_yaml({"webhooks": docs}))
        return 0

    def cmd_parse_sample(self, args: argparse.Namespace) -> int:
        parsed = paths_from_sample(_read_source(args.sample, self.stdin), form=args.form)
        if args.json:
            self.out.write(json.dumps({"part": parsed.part, "paths": list(parsed.paths)}) + "\n")
        else:
            for path in parsed.paths:
                self.out.write(path + "\n")
        return 0

    def cmd_deliveries(self, args: argparse.Namespace) -> int:
        return show_deliveries(args, self.out)

    def cmd_replay(self, args: argparse.Namespace) -> int:
        return replay(args, self.out)

    def cmd_sample(self, args: argparse.Namespace) -> int:
        return show_sample(args, self.out)

    def cmd_db(self, args: argparse.Namespace) -> int:
        from airflow_webhook_trigger.airflow_seam.db_manager import migrate

        migrate()
        self.out.write("webhook tables are up to date\n")
        return 0
