"""Allocations as one frame, from a ledger or from an allocation file made elsewhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trial.errors import InputError, TrialError
from trial.protocol import Protocol
from trial.tables import ROW, numeric_or_none, read_table, to_dates

COLUMNS = ["person_id", "arm", "stratum", "randomised_on"]
# An allocation file of a two-stage design also names each person's cluster and that cluster's saturation.
TWO_STAGE_COLUMNS = ["cluster", "saturation"]


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
    two_stage = protocol is not None and protocol.randomisation.two_stage
    frame = read_table(allocations, required=COLUMNS + (TWO_STAGE_COLUMNS if two_stage else []), keep_extra=True)
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
    for column in frame.columns.difference([*COLUMNS, ROW, "cluster"]):
        numeric = numeric_or_none(frame[column])
        if numeric is not None:
            frame[column] = numeric
    if two_stage:
        _check_clusters(frame, protocol, file)
    frame.attrs["file"] = file
    return frame.drop(columns=[ROW])


def _check_clusters(frame: pd.DataFrame, protocol: Protocol, file: str) -> None:
    """Saturations of a two-stage allocation file: the protocol's shares, one per cluster, arms that agree with them.

    The clusters may be others than the protocol's (a trial randomised elsewhere); their shares may not.
    """

    def refuse(mask: np.ndarray, message: str, column: str) -> None:
        if mask.any():
            raise InputError(message, file=file, row=int(frame[ROW].iloc[np.flatnonzero(mask)[0]]), column=column)

    share = pd.to_numeric(frame["saturation"].astype(str).str.replace(",", "."), errors="coerce")
    levels = np.asarray(protocol.randomisation.saturations, dtype=float)
    known = np.isclose(share.to_numpy(dtype=float)[:, None], levels[None, :], atol=1e-9).any(axis=1)
    shown = ", ".join(f"{s:g}" for s in levels)
    refuse(~known, f"saturation is not one of the protocol's treated shares ({shown})", "saturation")
    frame["saturation"] = levels[np.abs(share.to_numpy(dtype=float)[:, None] - levels[None, :]).argmin(axis=1)]
    frame["cluster"] = frame["cluster"].astype(str).str.strip()
    refuse((frame["cluster"] == "").to_numpy(), "cluster is missing", "cluster")
    first = frame.groupby("cluster")["saturation"].transform("first")
    refuse((frame["saturation"] != first).to_numpy(), "the cluster has another saturation in an earlier row",
           "saturation")
    treated = (frame["arm"] == protocol.treatment_arm).to_numpy()
    refuse((frame["saturation"].to_numpy() == 0) & treated, "a treated person in a pure-control cluster (saturation 0)",
           "arm")
    refuse((frame["saturation"].to_numpy() == 1) & ~treated, "an untreated person in a cluster of saturation 1", "arm")
