"""The options naming an evaluation's sources, shared by `trial analyse` and `trial report` so they cannot drift.

The secret and network-drive options live here too, shared by every command that takes them.
"""

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


def secret_option(use: str) -> Any:
    """`--secret-file FILE`, whose help says which variable holds a path and which the secret itself."""
    return typer.Option(
        None, "--secret-file", metavar="FILE",
        help=f"File holding the trial secret (mode 0600), {use}. Default: the file named by $TRIAL_SECRET_FILE, "
        "else $TRIAL_SECRET, which holds the secret itself (not a path).",
    )


SECRET_FILE = secret_option("needed when the spells carry cpr")
ALLOW_NETWORK_DRIVE = typer.Option(
    False, "--allow-network-drive",
    help="Accept a ledger on a network drive (SMB/CIFS, NFS, a UNC path), where SQLite's locking is unreliable.",
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
    """The `Evaluation` these options name (imports the analysis stack only when a command runs).

    Spells keyed by CPR number against a ledger need the ledger's own secret: another is refused before reading.
    """
    from trial.errors import TrialError

    if (db is None) == (allocations is None):
        raise TrialError("give either --db or --allocations, not both or neither")
    if protocol is None and db is None:
        raise TrialError("--protocol is needed with --allocations")
    from trial.evaluation import load_evaluation
    from trial.ledger import checked_secret
    from trial.secret import load_secret

    if db is not None:
        secret = checked_secret(db, outcomes, secret_file)
    else:
        secret = load_secret(secret_file) if secret_file is not None else None
    return load_evaluation(
        outcomes,
        protocol=protocol,
        db=db,
        allocations=allocations,
        secret=secret,
        record_paths=record_paths,
    )


def blind_key(evaluation: Any, secret_file: Path | None) -> None:
    """Make sure a blinded report knows which arm is A before anything heavy runs: an allocation file without the
    protocol's report.blind_seed takes the trial secret (--secret-file or the environment); none is one line."""
    from trial.secret import load_secret, secret_given

    # No secret given at all: the line blind_order raises says what to give. A secret given but unusable (a file
    # readable by others, both variables set, …) is refused in its own words by load_secret.
    if evaluation.blind_key is None and secret_given(secret_file):
        evaluation.blind_key = load_secret(secret_file)
    evaluation.blind_order()
