"""Allocations as one frame, from a ledger or from an allocation file made elsewhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trial.errors import InputError, TrialError
from trial.protocol import Protocol
from trial.tables import ROW, numeric_or_none, read_table, to_dates

COLUMNS = ["person_id", "arm", "stratum", "randomised_on"]


def load_allocations(
    db: str | Path | None = None,
    allocations: str | Path | None = None,
    protocol: Protocol | None = None,
) -> pd.DataFrame:
    """person_id, arm, stratum, randomised_on (datetime64) and any baseline covariates, one row per person."""
    if (db is None) == (allocations is None):
        raise TrialError("give either --db or --allocations, not both or neither")
    if db is not None:
        from trial.ledger import Ledger

        with Ledger.open(db, read_only=True) as ledger:
            return ledger.allocations()
    frame = read_table(allocations, required=COLUMNS, keep_extra=True)
    file = frame.attrs["file"]
    frame["randomised_on"] = to_dates(frame, "randomised_on")
    repeated = frame["person_id"].duplicated().to_numpy()
    if repeated.any():
        row = int(frame[ROW].iloc[np.flatnonzero(repeated)[0]])
        raise InputError("person_id appears twice", file=file, row=row, column="person_id")
    if protocol is not None:
        unknown = ~frame["arm"].isin(protocol.arm_names)
        if unknown.any():
            row = int(frame[ROW].iloc[np.flatnonzero(unknown.to_numpy())[0]])
            raise InputError(
                f"arm is not one of the protocol's arms ({', '.join(protocol.arm_names)})", file=file, row=row,
                column="arm",
            )
    for column in frame.columns.difference([*COLUMNS, ROW]):
        numeric = numeric_or_none(frame[column])
        if numeric is not None:
            frame[column] = numeric
    frame.attrs["file"] = file
    return frame.drop(columns=[ROW])
