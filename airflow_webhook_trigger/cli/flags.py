"""The ``create``/``update`` flags applied to a webhook's definition document (what ``apply`` reads)."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from airflow_webhook_trigger.core.definition import ALIAS_RE


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


def apply_flags(doc: dict[str, Any], args: argparse.Namespace, stdin: TextIO) -> None:
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
