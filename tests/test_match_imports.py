"""The matcher's leaf and its light imports; the import graph is `tests/test_architecture.py`'s (no cycles there,
imports inside functions counted)."""

from __future__ import annotations

import subprocess
import sys

from tests.test_architecture import modules


def test_schema_is_a_leaf() -> None:
    """The feature names, candidate count and distance rule import no other project module, so anyone may."""
    assert modules()["matcher.schema"] == set()


def test_imports_inside_functions_count() -> None:
    """inputs.py imports geo only inside its readers; the graph must still see it (the old cycle hid there too)."""
    graph = modules()
    assert "matcher.geo" in graph["matcher.inputs"]
    assert graph["matcher.baseline"] == {"matcher.schema"}
    assert "matcher.baseline" not in graph["matcher.features"]


def test_cli_can_read_the_constants_without_loading_numpy() -> None:
    """The CLI imports only the standard library at module level (fast `--help`); schema and progress are as light."""
    code = "import sys, matcher.schema, matcher.progress; print(sorted({'numpy', 'pandas'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
