"""The report only renders: nothing in reports/ reaches back into the trial but for the protocol, results and errors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPORTS = Path(__file__).resolve().parents[1] / "reports"
RENDER_MAY_USE = {"trial.protocol", "trial.results", "trial.errors"}


def _imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted(REPORTS.rglob("*.py")), ids=lambda p: p.name)
def test_reports_only_render(path: Path) -> None:
    imported = _imported(path)
    assert not {m for m in imported if (m == "trial" or m.startswith("trial.")) and m not in RENDER_MAY_USE}
