"""Worst cases of a filter's ``matches``: the old backtracking guard against RE2.

Run: ``.venv/bin/python bench/regex_worst.py [--against REV] [--repeat N] [--sizes 1024,4096]``

``matches`` compiles a pattern that whoever may write a webhook chose, and runs it on a
value the caller chose (at most ``MAX_MATCH_SUBJECT``, 4096 characters). Before RE2, the
patterns ran on Python's ``re`` behind a guard that counted backtracking paths; this
script loads that guard from git (``--against``, default ``a44e06c``, the last commit
with it) and times, for each hostile pattern and value size, one ``fullmatch`` the way
``first_failure`` runs it: on the old code (or ``refused`` when its guard refuses the
pattern at config time) and on this checkout's RE2 (or ``refused`` when RE2 does).
Medians over ``--repeat`` runs; every pattern is timed on several values and the slowest
is reported. The exit code is always 0: this reports, CI does not gate on it.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from airflow_webhook_trigger import filters  # noqa: E402
from airflow_webhook_trigger.core.errors import ConfigError  # noqa: E402
from airflow_webhook_trigger.core.request import Headers  # noqa: E402

#: (what it is, pattern): every one was accepted by the old guard, or is RE2's own worst case
PATTERNS = [
    ("two unbounded quantifiers (the README said refused)", r".*.*x"),
    ("two quantifiers and a fixed repeat", r".*.*.{64}x"),
    ("fixed repeat in a lookahead (issue #28)", r".*.*(?=\w{300}\W)x"),
    ("longer fixed repeat in a lookahead", r".*.*(?=\w{1000}\W)x"),
    ("RE2: DFA blow-up, NFA fallback", r"[ab]*a[ab]{1000}"),
    ("RE2: many alternatives, long repeats", r"(?:[a-z]{1,1000}|\w{1,1000}|.{1,1000})*y"),
]


def _subjects(size: int) -> list[str]:
    return ["a" * size, "x" * size, ("ab" * size)[:size], ("a" * (size - 1)) + "!"]


def _load(rev: str) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{rev}:airflow_webhook_trigger/core/filters.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_filters.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_filters", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_filters"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _time(module: Any, pattern: str, size: int, repeat: int) -> float | None:
    """Median seconds of the slowest value, or ``None`` when the pattern is refused."""
    try:
        conditions = module.parse_filter([{"body": "a", "matches": pattern}])
    except ConfigError:
        return None
    worst = 0.0
    for subject in _subjects(size):
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            module.first_failure(conditions, Headers(), {}, {"a": subject})
            runs.append(time.perf_counter() - start)
        worst = max(worst, statistics.median(runs))
    return worst


def _show(seconds: float | None) -> str:
    if seconds is None:
        return "refused"
    return f"{seconds * 1000:.3f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", default="a44e06c", help="the git revision of the old guard")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1024,4096")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    old = _load(args.against)
    print(f"{'pattern':<44} {'value':>6} {'old guard + re':>16} {'RE2':>12}  what")
    for what, pattern in PATTERNS:
        for size in sizes:
            before = _time(old, pattern, size, args.repeat)
            after = _time(filters, pattern, size, args.repeat)
            print(f"{pattern:<44} {size:>6} {_show(before):>16} {_show(after):>12}  {what}", flush=True)


if __name__ == "__main__":
    main()
