"""The `trial` command: imports each command module so it registers itself on the app."""

from __future__ import annotations

from trial.cli import (  # noqa: F401  (imported for registration)
    analyse_cmd,
    finance_cmds,
    ledger_cmds,
    match_cmds,
    report_cmd,
    simulate_cmds,
)
from trial.cli._app import app


def main() -> None:
    """Console-script entry point."""
    app(prog_name="trial")


__all__ = ["app", "main"]
