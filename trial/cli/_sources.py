"""The options naming an evaluation's sources, shared by `trial analyse` and `trial report` so they cannot drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from trial.cli._app import date_option

OUTCOMES = typer.Option(..., "--outcomes", help="Registry spells: person_id or cpr, start, end, exit.")
AS_OF = date_option("--as-of", help="Data cut of the spells; open spells end here", default=...)
PROTOCOL = typer.Option(None, "--protocol", help="Protocol TOML (default with --db: the ledger's).")
DB = typer.Option(None, "--db", help="The trial ledger (SQLite file).")
ALLOCATIONS = typer.Option(
    None, "--allocations", help="Allocation file instead of a ledger: person_id, arm, stratum, randomised_on."
)
BOOTSTRAP = typer.Option(None, "--bootstrap", min=0, help="Bootstrap replicates (protocol's).")
SEED = typer.Option(None, "--seed", help="Seed of the bootstrap, for reproducible intervals.")
SECRET_FILE = typer.Option(
    None, "--secret-file", help="Trial secret, needed when the spells carry cpr (default: $TRIAL_SECRET)."
)


def load(
    outcomes: Path,
    protocol: Path | None,
    db: Path | None,
    allocations: Path | None,
    secret_file: Path | None,
    *,
    record_paths: bool = True,
) -> Any:
    """The `Evaluation` these options name (imports the analysis stack only when a command runs)."""
    from trial.errors import TrialError

    if (db is None) == (allocations is None):
        raise TrialError("give either --db or --allocations, not both or neither")
    if protocol is None and db is None:
        raise TrialError("--protocol is needed with --allocations")
    from trial.evaluation import load_evaluation
    from trial.secret import load_secret

    return load_evaluation(
        outcomes,
        protocol=protocol,
        db=db,
        allocations=allocations,
        secret=load_secret(secret_file) if secret_file is not None else None,
        record_paths=record_paths,
    )
