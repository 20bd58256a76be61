"""The matcher's modules import each other without a cycle, counting imports inside functions too."""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

MATCHER = Path(__file__).resolve().parents[1] / "matcher"


def _module(path: Path) -> str:
    return ".".join(path.relative_to(MATCHER.parent).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path, known: set[str]) -> set[str]:
    """The matcher modules `path` imports anywhere in its body: module level, functions and methods."""
    package = _module(path).split(".")[: None if path.name == "__init__.py" else -1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = [*package[: len(package) - node.level + 1]] if node.level else []
            base = ".".join(parts + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from matcher import features`
    return found & known


def matcher_graph() -> dict[str, set[str]]:
    """Each matcher module and the matcher modules it imports."""
    paths = sorted(MATCHER.rglob("*.py"))
    known = {_module(p) for p in paths}
    return {_module(p): _imports(p, known) - {_module(p)} for p in paths}


def test_matcher_has_no_import_cycle() -> None:
    try:
        tuple(TopologicalSorter(matcher_graph()).static_order())
    except CycleError as error:
        raise AssertionError(f"import cycle in matcher/: {' -> '.join(error.args[1])}") from None


def test_schema_is_a_leaf() -> None:
    """The feature names, candidate count and distance rule import no other matcher module, so anyone may."""
    assert matcher_graph()["matcher.schema"] == set()


def test_imports_inside_functions_count() -> None:
    """inputs.py imports geo only inside its readers; the graph must still see it (the old cycle hid there too)."""
    graph = matcher_graph()
    assert "matcher.geo" in graph["matcher.inputs"]
    assert graph["matcher.baseline"] == {"matcher.schema"}
    assert "matcher.baseline" not in graph["matcher.features"]


def test_cli_can_read_the_constants_without_loading_numpy() -> None:
    """The CLI imports only the standard library at module level (fast `--help`); schema and progress are as light."""
    code = "import sys, matcher.schema, matcher.progress; print(sorted({'numpy', 'pandas'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
