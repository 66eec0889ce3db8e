"""``airflow-webhooks``: manage webhooks from the shell, with the Airflow config of the environment."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import yaml

from airflow_webhook_trigger.cli.deliveries import add_delivery_commands, replay, show_deliveries, show_sample
from airflow_webhook_trigger.core.definition import ALIAS_RE, Webhook, to_document
from airflow_webhook_trigger.core.errors import ConfigError, WebhookError
from airflow_webhook_trigger.core.sample import paths_from_sample
from airflow_webhook_trigger.core.senders import SCHEMES
from airflow_webhook_trigger.storage.webhook_changes import apply_documents, load_file_documents, upsert


class CliError(Exception):
    """A user error: printed as ``error: ...`` with exit status 1."""


def _field(text: str, key: str) -> dict[str, object]:
    """``PATH`` or ``PATH=alias`` (the alias after the last ``=``, when it is an identifier)."""
    left, sep, right = text.rpartition("=")
    if sep and left and ALIAS_RE.match(right):
        return {key: left, "alias": right}
    return {key: text}


def _response_body(text: str) -> object:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict | list) else text


def _definition_flags(p: argparse.ArgumentParser, *, creating: bool) -> None:
    p.add_argument("--dag-id", required=creating, help="the DAG this webhook triggers")
    p.add_argument("--mode", choices=["async", "sync"])
    p.add_argument("--username", help="Basic auth user name")
    pw = p.add_mutually_exclusive_group()
    pw.add_argument("--password-env", metavar="VAR", help="read the Basic auth password from $VAR")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    if not creating:
        p.add_argument("--no-auth", action="store_true", help="remove Basic auth")
    p.add_argument("--signature", choices=SCHEMES, help="check the sender's signature (README: Senders)")
    secret = p.add_mutually_exclusive_group()
    secret.add_argument(
        "--secret-env", metavar="VAR", help="the signing secret is in $VAR (read per request)"
    )
    secret.add_argument(
        "--secret-conn-id", metavar="ID", help="the signing secret is this connection's password"
    )
    secret.add_argument(
        "--secret-stdin", action="store_true", help="read the secret from stdin (stored encrypted)"
    )
    previous = p.add_mutually_exclusive_group()
    previous.add_argument("--previous-secret-env", metavar="VAR", help="rotation: the previous secret's $VAR")
    previous.add_argument("--previous-secret-conn-id", metavar="ID", help="rotation: the previous connection")
    p.add_argument(
        "--tolerance", type=int, metavar="SECONDS", help="stripe, slack, standard-webhooks: max age"
    )
    p.add_argument("--signature-header", metavar="NAME", help="hmac: the header the signature is in")
    p.add_argument("--signature-algorithm", choices=["sha256", "sha512"], help="hmac: the digest")
    p.add_argument("--signature-encoding", choices=["hex", "base64"], help="hmac: how the digest is written")
    p.add_argument("--signature-prefix", metavar="TEXT", help="hmac: text before the digest, e.g. sha256=")
    if not creating:
        p.add_argument("--no-signature", action="store_true", help="remove the signature check")
    replaces = "" if creating else "; replaces the webhook's whole list"
    p.add_argument(
        "--header", action="append", metavar="NAME[=alias]", help=f"header to read (repeat){replaces}"
    )
    p.add_argument(
        "--query", action="append", metavar="PATH[=alias]", help=f"query path to read (repeat){replaces}"
    )
    p.add_argument(
        "--body", action="append", metavar="PATH[=alias]", help=f"body path to read (repeat){replaces}"
    )
    if not creating:
        p.add_argument("--clear-fields", action="store_true", help="read no configured field any more")
    p.add_argument(
        "--allow-empty-body",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a signed webhook accepts a delivery with an empty body (default: refused, 400)",
    )
    p.add_argument("--response-status", type=int, metavar="CODE", help="async answer status (2xx)")
    p.add_argument("--response-body", metavar="TEXT", help="async answer body: text or JSON object/array")
    p.add_argument("--response-header", action="append", metavar="NAME=VALUE", help="async answer header")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="sync mode: how long a caller waits")
    p.add_argument(
        "--dedupe",
        metavar="KEY",
        help='one run per delivery key: auto (the signature scheme\'s), "header:NAME", '
        '"body:PATH" or "query:PATH"',
    )
    p.add_argument(
        "--filter",
        action="append",
        metavar="JSON",
        help='a condition a request must meet, e.g. \'{"body": "ref", "equals": "refs/heads/main"}\' '
        f"(repeat){replaces}",
    )
    if not creating:
        p.add_argument("--no-dedupe", action="store_true", help="start a run for every request again")
        p.add_argument("--no-filter", action="store_true", help="remove every filter condition")


def _apply_flags(doc: dict[str, Any], args: argparse.Namespace, stdin: TextIO) -> None:
    if args.dag_id:
        doc["dag_id"] = args.dag_id
    if args.mode:
        doc["mode"] = args.mode
    auth: dict[str, Any] = dict(doc.get("auth") or {})
    if getattr(args, "no_auth", False):
        auth.pop("basic", None)
    if getattr(args, "no_signature", False):
        auth.pop("signature", None)
    if args.username or args.password_env or args.password_stdin:
        basic = dict(doc.get("auth", {}).get("basic", {}))
        if args.username:
            basic["username"] = args.username
        if args.password_env or args.password_stdin:
            basic.pop("password", None)
            basic.pop("password_env", None)
        if args.password_env:
            basic["password_env"] = args.password_env
        if args.password_stdin:
            basic["password"] = stdin.readline().rstrip("\r\n")
        if "username" not in basic:
            raise CliError("--username is required with a password")
        if "password" not in basic and "password_env" not in basic:
            raise CliError("give --password-env VAR or --password-stdin with --username")
        auth["basic"] = basic
    _signature_flags(auth, args, stdin)
    if auth:
        doc["auth"] = auth
    else:
        doc.pop("auth", None)
    request = dict(doc.get("request", {}))
    if getattr(args, "clear_fields", False):
        request = {k: v for k, v in request.items() if k not in ("headers", "query", "body")}
    if args.header:
        request["headers"] = [_field(h, "name") for h in args.header]
    if args.query:
        request["query"] = [_field(q, "path") for q in args.query]
    if args.body:
        request["body"] = [_field(b, "path") for b in args.body]
    if args.allow_empty_body is not None:
        request["allow_empty_body"] = args.allow_empty_body
    doc["request"] = request
    response = dict(doc.get("response", {}))
    if args.response_status is not None:
        response["status"] = args.response_status
    if args.response_body is not None:
        response["body"] = _response_body(args.response_body)
    if args.response_header:
        headers = dict(response.get("headers", {}))
        for item in args.response_header:
            name, sep, value = item.partition("=")
            if not sep:
                raise CliError(f"--response-header {item!r}: expected NAME=VALUE")
            headers[name] = value
        response["headers"] = headers
    if response:
        doc["response"] = response
    if args.timeout is not None:
        doc["sync"] = {"timeout_seconds": args.timeout}
    if getattr(args, "no_dedupe", False):
        doc.pop("dedupe", None)
    if args.dedupe:
        doc["dedupe"] = {"key": args.dedupe}
    if getattr(args, "no_filter", False):
        doc.pop("filter", None)
    if args.filter:
        conditions = []
        for text in args.filter:
            try:
                conditions.append(json.loads(text))
            except ValueError:
                raise CliError(
                    f'--filter {text!r}: not JSON (e.g. \'{{"body": "type", "in": ["push"]}}\')'
                ) from None
        doc["filter"] = conditions


_SOURCES = ("_env", "_conn_id", "", "_stored")


def _signature_flags(auth: dict[str, Any], args: argparse.Namespace, stdin: TextIO) -> None:
    names = ("signature", "secret_env", "secret_conn_id", "secret_stdin", "previous_secret_env",
             "previous_secret_conn_id", "tolerance", "signature_header", "signature_algorithm",
             "signature_encoding", "signature_prefix")  # fmt: skip
    if not any(getattr(args, n, None) not in (None, False) for n in names):
        return
    signature = dict(auth.get("signature") or {})
    if args.signature:
        signature["scheme"] = args.signature
    if "scheme" not in signature:
        raise CliError("--signature SCHEME is required to configure a signature")

    def source(stem: str, env: str | None, conn_id: str | None, literal: str | None) -> None:
        if env is None and conn_id is None and literal is None:
            return
        for suffix in _SOURCES:
            signature.pop(stem + suffix, None)
        if env is not None:
            signature[f"{stem}_env"] = env
        elif conn_id is not None:
            signature[f"{stem}_conn_id"] = conn_id
        else:
            signature[stem] = literal

    literal = stdin.readline().rstrip("\r\n") if args.secret_stdin else None
    source("secret", args.secret_env, args.secret_conn_id, literal)
    source("previous_secret", args.previous_secret_env, args.previous_secret_conn_id, None)
    if not any(f"secret{suffix}" in signature for suffix in _SOURCES):
        raise CliError("give --secret-env VAR, --secret-conn-id ID or --secret-stdin with --signature")
    for flag, key in (("tolerance", "tolerance_seconds"), ("signature_header", "header"),
                      ("signature_algorithm", "algorithm"), ("signature_encoding", "encoding"),
                      ("signature_prefix", "prefix")):  # fmt: skip
        value = getattr(args, flag, None)
        if value is not None:
            signature[key] = value
    auth["signature"] = signature


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airflow-webhooks", description="Manage webhook URLs that start Airflow DAG runs."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("create", help="create a webhook and print its URL")
    p.add_argument("--id", help="choose the id ([A-Za-z0-9_-]{8,64}); generated when absent")
    p.add_argument("--strict", action="store_true", help="refuse a DAG that Airflow's DB does not know")
    p.add_argument("--disabled", action="store_true", help="create it disabled")
    _definition_flags(p, creating=True)
    p.add_argument("--json", action="store_true", help="print the webhook as JSON")

    p = sub.add_parser("list", help="list webhooks")
    p.add_argument("--dag-id")
    p.add_argument("--json", action="store_true")

    for name, text in (
        ("show", "show a webhook (YAML, no secret)"),
        ("delete", "delete a webhook"),
        ("enable", "enable a webhook"),
        ("disable", "disable a webhook (its URL answers 404)"),
        ("url", "print a webhook's full URL"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("id")
        if name == "show":
            p.add_argument("--json", action="store_true")

    p = sub.add_parser("update", help="change some settings of a webhook")
    p.add_argument("id")
    _definition_flags(p, creating=False)

    p = sub.add_parser("apply", help="create/update the webhooks of a YAML file (idempotent)")
    p.add_argument("-f", "--file", required=True, help="YAML file, or - for stdin")

    p = sub.add_parser("export", help="print webhooks as a YAML file for apply (no secrets)")
    p.add_argument("--dag-id")

    p = sub.add_parser("parse-sample", help="list the paths of a sample URL, query string or JSON")
    p.add_argument("sample", help="a URL, a query string, JSON text, @file, or - for stdin")
    p.add_argument(
        "--form", action="store_true", help="the sample is a form body (Slack, Twilio): body paths"
    )
    p.add_argument("--json", action="store_true")

    add_delivery_commands(sub)

    p = sub.add_parser("db", help="database commands")
    p.add_argument("action", choices=["migrate"])
    return parser


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
        _apply_flags(doc, args, self.stdin)
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
        _apply_flags(doc, args, self.stdin)
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli = Cli(sys.stdout, sys.stderr, sys.stdin)
    try:
        return cli.run(args)
    except (CliError, ConfigError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except WebhookError as exc:
        sys.stderr.write(f"error: {exc.detail}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
