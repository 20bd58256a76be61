"""Rossi, Berk & Lenihan (1980) as a trial, written as real input files: financial aid = treatment, weeks × 7 = days.

Shared by the analysis and report tests; each passes its own protocol text (which names the event exit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).parent / "data"
ORIGIN = pd.Timestamp("2020-01-06")
AS_OF = (ORIGIN + pd.Timedelta(days=364)).date().isoformat()
COVARIATES = ("age", "race", "wexp", "mar", "paro", "prio")


def write_rossi(folder: Path, protocol: str, *, exit_name: str) -> dict[str, Path]:
    """The protocol, an allocation file (stratum = race) and a spells file in which an arrest ends the spell."""
    rossi = pd.read_csv(DATA / "rossi.csv")
    ids = [f"r{i:03d}" for i in range(len(rossi))]
    allocations = pd.DataFrame(
        {
            "person_id": ids,
            "arm": np.where(rossi["fin"] == "yes", "aid", "no_aid"),
            "stratum": rossi["race"],
            "randomised_on": ORIGIN.date().isoformat(),
        }
    )
    for column in COVARIATES:
        allocations[column] = rossi[column]
    ends = ORIGIN + pd.to_timedelta(rossi["week"] * 7, unit="D")
    spells = pd.DataFrame(
        {
            "person_id": ids,
            "start": ORIGIN.date().isoformat(),
            "end": np.where(rossi["arrest"] == 1, ends.dt.strftime("%Y-%m-%d"), ""),
            "exit": np.where(rossi["arrest"] == 1, exit_name, ""),
        }
    )
    paths = {"protocol": folder / "rossi.toml", "allocations": folder / "alloc.csv", "spells": folder / "spells.csv"}
    paths["protocol"].write_text(protocol, encoding="utf-8")
    allocations.to_csv(paths["allocations"], index=False)
    spells.to_csv(paths["spells"], index=False)
    return paths
