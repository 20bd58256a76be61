"""A small two-stage protocol and claimant extracts with clusters, for the two-stage tests."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np

from tests.factory import claimant_rows, write_claimants

ROOT = Path(__file__).resolve().parents[1]
ROLLOUT = ROOT / "protocols" / "bc16-rollout.toml"
CLUSTERS = [f"Jobcenter {name}" for name in ("Nord", "Syd", "Øst", "Vest", "Centrum", "Havn", "Amager", "Valby")]


def small_protocol(
    folder: Path, *, saturations: str = "[0.0, 0.5, 0.8]", clusters: list[str] | None = None, extra: str = ""
) -> Path:
    """The roll-out protocol with eight clusters (no cluster strata), strata by sex only."""
    text = ROLLOUT.read_text(encoding="utf-8")
    text = text.split("[randomisation.cluster_strata]")[0] + "[outcomes]" + text.split("\n[outcomes]", 1)[1]
    names = ", ".join(f'"{c}"' for c in (clusters or CLUSTERS))
    text = re.sub(r"clusters = \[.*?\n\]", f"clusters = [{names}]", text, flags=re.S)
    text = text.replace("saturations = [0.0, 0.5, 0.8]", f"saturations = {saturations}{extra}")
    text = text.replace('strata = ["sex", "age_band"]', 'strata = ["sex"]')
    path = folder / "two-stage.toml"
    path.write_text(text, encoding="utf-8")
    return path


def cluster_rows(
    n: int, *, seed: int, as_of: date, clusters: list[str] | None = None, outside: float = 0.0, start: int = 0,
    eligible_share: float = 1.0,
) -> list[dict[str, str]]:
    """Claimants spread over the clusters; a share `outside` of them in a jobcentre the protocol does not list."""
    rows = claimant_rows(n, seed=seed, as_of=as_of, eligible_share=eligible_share, start=start)
    rng = np.random.default_rng(seed + 1)
    names = clusters or CLUSTERS
    for row in rows:
        row["jobcenter_unit"] = "Jobcenter Bornholm" if rng.random() < outside else names[rng.integers(len(names))]
    return rows


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    return write_claimants(path, rows)
