"""`make demo` really works: the script brings Airflow up, the printed curl lines get the
documented answers, and the example runs succeed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.airflow_env import ROOT
from tests.processes import free_port

pytestmark = pytest.mark.demo


def test_demo_script_smoke_curl_lines_answer_as_documented(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "WEBHOOK_TEST_CONFIGURED"
    }
    env.update(DEMO_SMOKE="1", DEMO_PORT=str(free_port()), DEMO_DIR=str(tmp_path / "demo"))
    try:
        result = subprocess.run(
            ["bash", "scripts/demo.sh"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except subprocess.TimeoutExpired as timeout:
        logs = "".join(
            f"\n--- {log.name}\n" + log.read_text(errors="replace")[-2000:]
            for log in sorted((tmp_path / "demo").glob("*.log"))
        )
        raw = timeout.stdout or b""  # bytes even with text=True
        out = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        pytest.fail(f"the demo did not stop within 600 s:\n{out[-3000:]}{logs}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    statuses = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("HTTP/1.1")]
    assert statuses == ["200", "200", "422", "401", "202", "200", "401", "200", "422"]
    ping = {"ignored": True, "reason": "condition 1 (header X-GitHub-Event in) does not hold"}
    assert json.dumps(ping, separators=(",", ":")) in result.stdout
    assert "payment_callback runs succeeded" in result.stdout
    assert "curl -isS -w '\\n' -u stripe:" in result.stdout
    assert (tmp_path / "demo" / "curls.sh").exists()
