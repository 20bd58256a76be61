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


def market_trial_in_memory(
    seed: int,
    *,
    claimants: int = 6000,
    clusters: int = 24,
    displacement: float = 0.5,
    effect_days: float = 20.0,
    weeks: int = 26,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, object], str]:
    """A simulated two-stage trial without files or ledger, for studies over many seeds: the simulator's claimants
    and job market, stage one and two drawn by the toolkit's own functions (stratum = cluster, BC16's rules).

    Returns allocations, spells (for `trial.outcomes.build_outcomes`), the truth and the data cut.
    """
    from fractions import Fraction

    from trial.clusters import draw_saturations
    from trial.protocol import Randomisation
    from trial.randomise import BlockRandomiser
    from trial.simulate.claimants import extract_dates, make_claimants
    from trial.simulate.market import MarketModel, estimand_truth, market_trial

    rng = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, 15, 9]).spawn(3)]
    start = date(2025, 1, 6)
    people, _ = make_claimants(rng[0], claimants, start, weeks=weeks)
    names = [f"Jobcenter {k:02d}" for k in range(clusters)]
    sizes = np.exp(0.5 * rng[1].standard_normal(clusters))
    people["jobcenter_unit"] = np.array(names)[rng[1].choice(clusters, size=len(people), p=sizes / sizes.sum())]
    design = Randomisation(block_sizes=[2, 4, 6], design="two_stage", cluster="jobcenter_unit", clusters=names,
                           saturations=[0.0, 0.5, 0.8])
    key = f"simulated secret {seed}".encode()
    saturations = draw_saturations(design, key).saturations
    origin = pd.to_datetime(people["extract_on"])
    registered = (origin - pd.to_datetime(people["registered_on"])).dt.days
    eligible = people[(people["education_level"] == "LVU") & (people["benefit"] == "dagpenge") & people["has_cv"]
                      & (registered <= 28).to_numpy()].sort_values("extract_on", kind="stable")
    randomiser = BlockRandomiser(key, [("treatment", 1), ("control", 1)], [2, 4, 6],
                                 roles={"treatment": "treatment", "control": "control"})
    positions: dict[str, int] = {}
    arms = []
    for cluster in eligible["jobcenter_unit"]:
        position = positions.get(cluster, 0)
        positions[cluster] = position + 1
        level = Fraction(saturations[cluster]).limit_denominator(20)
        arms.append(randomiser.assign(cluster, position, level).arm)
    arm_of = pd.Series(arms, index=eligible["cpr"].to_numpy())
    dates = extract_dates(start, weeks)
    cut = pd.Timestamp(dates[-1]) + pd.Timedelta(days=182)
    data = market_trial(rng[2], people, arm_of, saturations, MarketModel(displacement=displacement,
                        effect_days=effect_days), first_day=pd.Timestamp(dates[0]),
                        days=(dates[-1] - dates[0]).days + 183, treatment_arm="treatment", horizon=182, data_cut=cut)
    allocations = pd.DataFrame({
        "person_id": eligible["cpr"].to_numpy(), "arm": arms, "stratum": eligible["jobcenter_unit"].to_numpy(),
        "randomised_on": pd.to_datetime(eligible["extract_on"]).to_numpy(),
        "cluster": eligible["jobcenter_unit"].to_numpy(),
        "saturation": eligible["jobcenter_unit"].map(saturations).to_numpy(),
    })
    spells = data.spells.rename(columns={"cpr": "person_id"})
    spells["end"] = pd.to_datetime(spells["end"].replace("", None))
    truth = estimand_truth(data.persons, "treatment", 182, randomised_by=cut)
    return allocations, spells, truth, cut.date().isoformat()
