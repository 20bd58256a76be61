"""The `trial` command: imports each command module so it registers itself on the app.

The import order is the order of `trial --help`: the analyst's commands first, then the matcher, the evaluator's,
finance and design, and the simulation.
"""

# ruff: noqa: I001, F401  (imported for registration, in workflow order)
from __future__ import annotations

from trial.cli import ledger_commands
from trial.cli import match_commands
from trial.cli import analysis_commands
from trial.cli import report_commands
from trial.cli import finance_commands
from trial.cli import simulation_commands
from trial.cli._app import app


def main() -> None:
    """Console-script entry point."""
    app(prog_name="trial")


__all__ = ["app", "main"]
