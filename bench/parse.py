"""Cost of the core's parsers next to the stdlib baselines they build on.

Run: ``.venv/bin/python bench/parse.py [--json] [--repeat N] [--quick]``

Reports medians over many interleaved repeats (the machine is noisy; the median of
alternating runs is steadier than any single run) and the ratio to the baseline:

- ``parse_json`` vs ``json.loads`` on the same bytes, for webhook-like bodies of 1 KiB,
  100 KiB and 1 MiB (nested objects, arrays, strings with escapes, numbers), plus two
  1 MiB variants that switch on the optional checks: ASCII-escaped text (emoji as
  ``\\ud83d\\ude00`` pairs, as Python's ``json.dumps`` writes them) and 19-digit integer
  ids (as Discord and Twitter send them);
- ``parse_query`` vs ``urllib.parse.parse_qs`` on 1,000-parameter query strings, flat
  (``k1=v1&...``) and nested (``items[0][sku]=...``).

Targets: JSON 1 MiB <= 3x, query <= 3x. The exit code is always 0: this reports, CI does
not gate on it (timings on shared runners are too noisy to fail a build on).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import urllib.parse
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from airflow_webhook_trigger.core.jsonbody import parse_json

JSON_TARGET = 3.0
QUERY_TARGET = 3.0
WORDS = (
    "fix",
    "update",
    "café",
    'the "quoted" part',
    "line\nbreak",
    "tab\there",
    "path\\to\\file",
    "naïve résumé",
    "日本語",
    "emoji 🎉",
    "<html>&amp;</html>",
    "ok",
)


def _commit(rng: random.Random, i: int, *, big_ids: bool) -> dict[str, Any]:
    message = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
    return {
        "id": f"{rng.getrandbits(160):040x}",
        "tree_id": f"{rng.getrandbits(160):040x}",
        "distinct": rng.random() < 0.9,
        "message": message,
        "timestamp": f"2026-12-01T10:{i % 60:02d}:00+00:00",
        "url": f"https://example.com/acme/shop/commit/{i}?tab=files&q=a%20b",
        "author": {
            "name": rng.choice(("Zoë", "Ada", "Li Wei", "O'Brien")),
            "email": f"dev{i}@example.com",
            "id": rng.randrange(10**18, 2**63) if big_ids else rng.randrange(10**6, 10**9),
        },
        "added": [f"src/module_{rng.randrange(100)}.py" for _ in range(rng.randint(0, 3))],
        "removed": [],
        "modified": [f"docs/page_{rng.randrange(50)}.md" for _ in range(rng.randint(0, 2))],
        "stats": {
            "additions": rng.randrange(500),
            "deletions": rng.randrange(300),
            "ratio": round(rng.random(), 4),
            "amount": round(rng.uniform(-1000, 1000), 2),
        },
        "labels": [{"name": "bug", "color": "d73a4a", "default": True}, None][: rng.randint(0, 2)],
    }


def webhook_body(size: int, *, seed: int = 7, ascii_only: bool = False, big_ids: bool = False) -> bytes:
    """A push-event-like JSON body of about ``size`` bytes (at least ``size``)."""
    rng = random.Random(seed)
    doc: dict[str, Any] = {
        "ref": "refs/heads/main",
        "before": f"{rng.getrandbits(160):040x}",
        "created": False,
        "deleted": False,
        "forced": False,
        "compare": "https://example.com/acme/shop/compare/a...b",
        "repository": {
            "id": 123456789,
            "full_name": "acme/shop",
            "private": True,
            "owner": {"login": "acme", "id": 42, "site_admin": False},
            "topics": ["payments", "webhooks"],
            "stargazers_count": 1234,
            "score": 0.987,
        },
        "pusher": {"name": "ada", "email": "ada@example.com"},
        "commits": [],
    }

    def encode() -> bytes:
        return json.dumps(doc, ensure_ascii=ascii_only, indent=1 if size > 4096 else None).encode()

    raw = encode()
    i = 0
    while len(raw) < size:
        # Grow in chunks, then re-encode: cheap enough for 1 MiB.
        step = max(1, (size - len(raw)) // 900)
        for _ in range(step):
            doc["commits"].append(_commit(rng, i, big_ids=big_ids))
            i += 1
        raw = encode()
    return raw


def flat_query(n: int) -> str:
    return "&".join(f"k{i}=v{i}%20x" for i in range(n))


def nested_query(n: int) -> str:
    # items[0..19][field]: array indexes stay within the default limit (20).
    fields = ("sku", "qty", "name", "price", "note")
    parts = []
    for i in range(n):
        item, field = i % 20, fields[(i // 20) % len(fields)]
        parts.append(f"items[{item}][{field}{i // 100}]=val{i}%2Fx")
    return "&".join(parts)


def _time(fn: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def compare(
    subject: Callable[[], object], baseline: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median seconds per call of ``subject`` and ``baseline``, interleaved runs."""
    subject()
    baseline()
    one = max(_time(baseline, 1), 1e-7)
    number = max(1, int(0.02 / one))  # about 20 ms per sample
    subject_times, baseline_times = [], []
    for _ in range(repeat):
        subject_times.append(_time(subject, number))
        baseline_times.append(_time(baseline, number))
    return statistics.median(subject_times), statistics.median(baseline_times)


def _fmt(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds * 1e6:8.1f} us"


def run(repeat: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cases = [
        ("json 1 KiB", webhook_body(1024), None),
        ("json 100 KiB", webhook_body(100 * 1024), None),
        ("json 1 MiB", webhook_body(1024 * 1024), JSON_TARGET),
        ("json 1 MiB, \\u-escaped", webhook_body(1024 * 1024, ascii_only=True), None),
        ("json 1 MiB, 19-digit ids", webhook_body(1024 * 1024, big_ids=True), None),
    ]
    for name, raw, target in cases:
        subject, baseline = compare(partial(parse_json, raw), partial(json.loads, raw), repeat)
        rows.append(_row(name, "parse_json", "json.loads", len(raw), subject, baseline, target))

    try:
        from airflow_webhook_trigger.core.query_string import parse_query
    except ImportError:
        for name in ("query 1,000 flat", "query 1,000 nested"):
            rows.append({"case": name, "subject": "parse_query", "error": "query.py not available"})
        return rows
    for name, qs in (("query 1,000 flat", flat_query(1000)), ("query 1,000 nested", nested_query(1000))):
        try:
            subject, baseline = compare(partial(parse_query, qs), partial(urllib.parse.parse_qs, qs), repeat)
        except Exception as exc:  # a report, not a gate: show what went wrong
            rows.append({"case": name, "subject": "parse_query", "error": repr(exc)[:120]})
            continue
        rows.append(_row(name, "parse_query", "parse_qs", len(qs), subject, baseline, QUERY_TARGET))
    return rows


def _row(
    case: str,
    subject_name: str,
    baseline_name: str,
    size: int,
    subject: float,
    baseline: float,
    target: float | None,
) -> dict[str, Any]:
    ratio = subject / baseline
    return {
        "case": case,
        "bytes": size,
        "subject": subject_name,
        "subject_s": subject,
        "baseline": baseline_name,
        "baseline_s": baseline,
        "ratio": round(ratio, 3),
        "target": target,
        "meets_target": None if target is None else ratio <= target,
    }


def print_table(rows: list[dict[str, Any]], repeat: int) -> None:
    print(f"medians of {repeat} interleaved samples (~20 ms each); ratio = subject / baseline\n")
    header = f"{'case':26} {'bytes':>9}  {'subject':>24}  {'baseline':>22}  {'ratio':>6}  target"
    print(header)
    print("-" * len(header))
    for row in rows:
        if "error" in row:
            print(f"{row['case']:26} {'':>9}  {row['subject']:>24}  {row['error']}")
            continue
        target = row["target"]
        verdict = "" if target is None else f"<= {target:g}x " + ("ok" if row["meets_target"] else "MISSED")
        print(
            f"{row['case']:26} {row['bytes']:>9}  "
            f"{row['subject']:>12} {_fmt(row['subject_s'])}  "
            f"{row['baseline']:>10} {_fmt(row['baseline_s'])}  "
            f"{row['ratio']:>5.2f}x  {verdict}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--repeat", type=int, default=31, help="samples per case (default 31)")
    parser.add_argument("--quick", action="store_true", help="7 samples per case")
    args = parser.parse_args(argv)
    repeat = 7 if args.quick else max(1, args.repeat)
    rows = run(repeat)
    if args.json:
        print(json.dumps({"repeat": repeat, "python": sys.version.split()[0], "results": rows}, indent=2))
    else:
        print_table(rows, repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
