"""``airflow-webhooks``: manage webhooks from the shell, with the Airflow config of the environment."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from airflow_webhook_trigger.cli.deliveries import add_delivery_commands
from airflow_webhook_trigger.cli.flags import CliError
from airflow_webhook_trigger.cli.webhooks import Cli
from airflow_webhook_trigger.core.errors import ConfigError, WebhookError
from airflow_webhook_trigger.core.senders import SCHEMES


def _definition_flags(p: argparse.ArgumentParser, *, creating: bool) -> None:
    p.add_argument("--dag-id", required=creating, help="the DAG this webhook triggers")
    p.add_argument("--mode", choices=["async", "sync"])
    p.add_argument("--username", help="Basic auth user name")
    pw = p.add_mutually_exclusive_group()
    pw.add_argument("--password-env", metavar="VAR", help="read the Basic auth password from $VAR")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    if not creating:
        p.add_argument("--no-auth", action="store_true", help="remove Basic auth")
    p.add_argument("--signature", choices=SCHEMES, help="check the sender's signature (docs/senders.md)")
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
