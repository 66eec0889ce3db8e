"""``airflow-webhooks deliveries | replay | sample``: the delivery record from the shell."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from airflow_webhook_trigger.core.delivery import OUTCOMES


def add_delivery_commands(sub: Any) -> None:
    p = sub.add_parser("deliveries", help="list the latest deliveries (all webhooks, or one)")
    p.add_argument("id", nargs="?", help="a webhook id")
    p.add_argument("--outcome", choices=OUTCOMES)
    p.add_argument("--limit", type=int, default=20, help="how many (newest first; default 20, at most 500)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("replay", help="start a new run with the trigger variables of a delivery")
    p.add_argument("delivery", help="a delivery id (see: deliveries)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("sample", help="print a webhook's latest test capture and its paths")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")


def _runtime() -> Any:
    from airflow_webhook_trigger.airflow_seam.wiring import build_runtime

    return build_runtime()


def show_deliveries(args: argparse.Namespace, out: TextIO) -> int:
    from airflow_webhook_trigger.core.delivery import MAX_LIMIT

    runtime = _runtime()
    if args.id is not None:
        runtime.store.require(args.id)
    rows = runtime.deliveries.list(args.id, args.outcome, max(1, min(args.limit, MAX_LIMIT)))
    if args.json:
        out.write(json.dumps([r.as_json() for r in rows], indent=2) + "\n")
        return 0
    for r in rows:
        out.write(
            "\t".join(
                [
                    r.id,
                    r.received_at.isoformat(timespec="seconds"),
                    r.webhook_id,
                    r.outcome,
                    "-" if r.status is None else str(r.status),
                    r.run_id or "-",
                    r.delivery_key or "-",
                    r.error or "",
                ]
            )
            + "\n"
        )
    return 0


def replay(args: argparse.Namespace, out: TextIO) -> int:
    from airflow_webhook_trigger.airflow_seam.replay import replay_delivery

    row = replay_delivery(_runtime(), args.delivery)
    if args.json:
        out.write(json.dumps(row.as_json(), indent=2) + "\n")
    else:
        out.write(
            f"replayed delivery {args.delivery}: run {row.run_id} of DAG {row.dag_id} (delivery {row.id})\n"
        )
    return 0


def show_sample(args: argparse.Namespace, out: TextIO) -> int:
    from airflow_webhook_trigger.core.errors import NotFound
    from airflow_webhook_trigger.core.sample import sample_paths

    runtime = _runtime()
    runtime.store.require(args.id)
    found = runtime.deliveries.sample(args.id)
    if found is None:
        raise NotFound(f"webhook {args.id} has no test capture yet: POST a request to its test URL")
    captured_at, sample = found
    dropped = sample.pop("dropped_headers", [])
    paths = sample_paths(sample)
    if args.json:
        shown = {"captured_at": captured_at.isoformat(), "sample": sample, "paths": paths}
        out.write(json.dumps({**shown, "dropped_headers": dropped}, indent=2) + "\n")
        return 0
    out.write(f"# captured {captured_at.isoformat(timespec='seconds')}\n")
    if dropped:
        out.write(f"# dropped (may carry a credential): {', '.join(dropped)}\n")
    out.write(json.dumps(sample, indent=2, ensure_ascii=False) + "\n")
    for part in ("headers", "query", "body"):
        for path in paths[part]:
            out.write(f"{part}\t{path}\n")
    return 0
