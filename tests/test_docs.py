"""The repository stands alone: its docs' relative links resolve, and nothing points outside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.airflow_env import ROOT

#: the team's own files, which live outside the repository
OUTSIDE = re.compile(r"PRODUCT\.md|MEASURED\.md|STYLE\.md|\.\./shared")
SKIP = {".git", ".venv", "node_modules", ".demo", "dist", "build", "__pycache__"}
TEXT = {".py", ".md", ".ts", ".tsx", ".toml", ".txt", ".yaml", ".yml", ".sh", ".cfg", ".ini"}


def _files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if (
            path.is_file()
            and path.suffix in TEXT
            and not parts & SKIP
            and not any(p.startswith(".venv") for p in parts)
        ):
            found.append(path)
    return found


def test_nothing_points_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _files()
        if path.name != "test_docs.py"
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


#: the README, the changelog and every page under docs/ (the decision records included)
DOCS = [
    "README.md",
    "CHANGELOG.md",
    *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md")),
]


def test_the_docs_pages_are_all_checked() -> None:
    assert {"docs/security.md", "docs/configuration.md", "docs/decisions/README.md"} <= set(DOCS)


def _anchors(path: Path) -> set[str]:
    """The heading anchors GitHub gives a Markdown file (fenced code left out)."""
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    anchors = set()
    for title in re.findall(r"^#{1,6} +(.+?) *$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", title.replace("`", "").lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_anchors_are_read_as_github_reads_them(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Trigger variables: the run's `conf`\n## The declarative form (`apply` / `export`)\n")
    assert _anchors(page) == {"trigger-variables-the-runs-conf", "the-declarative-form-apply--export"}


@pytest.mark.parametrize("doc", DOCS)
def test_every_relative_link_resolves(doc: str) -> None:
    path = ROOT / doc
    text = path.read_text(encoding="utf-8")
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file) if file else path
        missing = not linked.exists()
        if missing or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
            broken.append(target)
    assert broken == []


#: a file of the repository named in backticks: ``tests/web/test_http_contract.py``
NAMED_FILE = re.compile(
    r"`((?:tests|bench|dags_examples|scripts|docs|ui|airflow_webhook_trigger)/[\w./-]+\.\w+)"
)


@pytest.mark.parametrize("doc", [d for d in DOCS if d != "CHANGELOG.md"])  # history keeps old names
def test_every_file_the_docs_name_exists(doc: str) -> None:
    named = set(NAMED_FILE.findall((ROOT / doc).read_text(encoding="utf-8")))
    assert sorted(n for n in named if not (ROOT / n).exists()) == []
