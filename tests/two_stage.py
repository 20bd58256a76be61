"""A small two-stage protocol and claimant extracts with clusters, for the two-stage tests."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

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


def synthetic_trial(
    seed: int,
    *,
    levels: tuple[float, ...] = (0.0, 0.5, 0.8),
    clusters_per_level: int = 10,
    people: int = 60,
    cluster_sd: float = 0.3,
    job_factor: float = 1.0,
    displaced: float = 1.0,
    as_of: str = "2026-12-31",
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """A two-stage trial in plain frames: exponential time to a job with a cluster effect, other exits, data cut.

    The treated's job hazard is × `job_factor`; the untreated in a cluster of saturation s is × `displaced` ** s.
    Returns allocations (person_id, arm, stratum, randomised_on, cluster, saturation), spells and nothing else.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for level in levels:
        for k in range(clusters_per_level):
            name = f"C{level:g}-{k:02d}"
            strength = np.exp(cluster_sd * rng.standard_normal())
            treated = rng.permutation(np.arange(people) < round(level * people))
            origin = pd.Timestamp("2026-01-05") + pd.to_timedelta(rng.integers(0, 120, people), unit="D")
            rate = 1 / 70 * strength * np.where(treated, job_factor, displaced ** level)
            job = rng.exponential(1 / rate)
            other = rng.exponential(1 / 0.003, people)
            duration = np.maximum(1, np.ceil(np.minimum(job, other))).astype(int)
            exits = np.where(job < other, "employment", "other")
            for i in range(people):
                rows.append({
                    "person_id": f"{name}-{i:03d}", "arm": "treatment" if treated[i] else "control",
                    "stratum": name, "randomised_on": origin[i], "cluster": name, "saturation": level,
                    "sex": "KM"[i % 2],
                    "end": origin[i] + pd.Timedelta(days=int(duration[i])), "exit": exits[i],
                })
    frame = pd.DataFrame(rows)
    cut = pd.Timestamp(as_of)
    spells = pd.DataFrame({
        "person_id": frame["person_id"], "start": frame["randomised_on"],
        "end": frame["end"].where(frame["end"] <= cut), "exit": frame["exit"].where(frame["end"] <= cut, ""),
    })
    allocations = frame.drop(columns=["end", "exit"])
    return allocations, spells, {}
