"""The one-way flow of docs/architecture.md, checked on every module's imports (those inside functions too)."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("trial", "matcher", "reports")
# What a renderer may know of the trial: the protocol, the results it renders and the errors it raises.
RENDER_MAY_USE = {"trial", "trial.protocol", "trial.results", "trial.errors"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, set[str]]:
    """Every module of the three packages and the project modules it imports, at any depth of its code."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = module_name(path)
            imported: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imported.add(node.module)
                    # `from trial import results` imports the module trial.results.
                    imported.update(f"{node.module}.{a.name}" for a in node.names)
                elif isinstance(node, ast.Import):
                    imported.update(a.name for a in node.names)
            found[name] = {m for m in imported if m.split(".")[0] in PACKAGES}
    known = set(found)
    return {name: {m for m in deps if m in known} - {name} for name, deps in found.items()}


@cache
def layers() -> dict[str, int]:
    """The layer table of docs/architecture.md: a name (a module or a package prefix) → its layer number."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md has no ```layers block"
    table: dict[str, int] = {}
    for line in block.group(1).strip().splitlines():
        number, rest = line.split(" ", 1)
        for name in rest.split(":", 1)[1].split():
            table[name] = int(number)
    return table


def layer_of(module: str) -> int:
    """The layer of a module: its own entry, or its package's (`matcher`, `reports`, `trial.cli`, …). The top-level
    `trial` package stands only for itself, so a new module of trial/ must be placed in the table."""
    table = layers()
    owners = [name for name in table if module == name or (name != "trial" and module.startswith(name + "."))]
    assert owners, f"{module} is in no layer of docs/architecture.md"
    return table[max(owners, key=len)]


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_follow_the_flow(module: str) -> None:
    """A module imports only from its own layer and the layers before it."""
    mine = layer_of(module)
    backwards = sorted(m for m in modules()[module] if layer_of(m) > mine)
    assert not backwards, f"{module} (layer {mine}) imports against the flow: {backwards}"


@pytest.mark.parametrize("module", sorted(m for m in modules() if m.startswith("reports")))
def test_reports_only_render(module: str) -> None:
    used = {m for m in modules()[module] if m.startswith("trial")}
    assert used <= RENDER_MAY_USE, f"{module} uses {sorted(used - RENDER_MAY_USE)} from trial/"


def test_matcher_never_imports_reports() -> None:
    offenders = {m: sorted(d) for m, d in modules().items() if m.startswith("matcher") for d in [
        {x for x in modules()[m] if x.startswith("reports")}] if d}
    assert not offenders


def test_nothing_imports_the_cli() -> None:
    offenders = sorted(m for m, deps in modules().items() if not m.startswith("trial.cli")
                       and any(d.startswith("trial.cli") for d in deps))
    assert not offenders


def test_no_import_cycles() -> None:
    """Depth-first search for a back edge in the module graph; a cycle is reported as its path."""
    graph = modules()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            pytest.fail("import cycle: " + " → ".join(cycle))


def test_the_checker_sees_imports_inside_functions() -> None:
    """trial/demo.py imports the matcher only inside its functions; the checker must still see it."""
    source = (ROOT / "trial" / "demo.py").read_text(encoding="utf-8")
    assert "\nfrom matcher" not in source and "\nimport matcher" not in source
    assert "matcher.train" in modules()["trial.demo"]
