"""Do the two-stage estimands find their truth? Coverage of the cluster-bootstrap intervals over simulated trials.

For each seed and displacement: `trial simulate --design two-stage` (the roll-out protocol's 45 jobcentres, or
`--clusters`), `trial init` + `trial enrol` of the weekly files with the simulation's secret, `trial analyse` at the
data cut (a year of enrolment plus the horizon); then count how often each of the four intervals of
`effects.spillover` covers truth.json's value of the same estimand. With displacement 0 the spillover's truth is
exactly 0. A second part runs the same study without files or ledger (tests/two_stage.py's in-memory trial, the
tests' setting) for a larger number of seeds, and a third with fewer clusters, where cluster bootstraps run narrow.

Usage: .venv/bin/python benchmarks/two_stage_recovery.py [--small] [--seeds N] [--claimants N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ESTIMANDS = ("direct", "total_on_treated", "spillover_on_untreated", "net_per_person")


def full_chain(seed: int, claimants: int, clusters: int | None, displacement: float, bootstrap: int
               ) -> dict[str, tuple[float, tuple[float, float], float]]:  # fmt: skip
    """Simulate, enrol through the ledger and analyse one trial; each estimand's estimate, interval and truth."""
    from trial.demo import analyse_trial, init_and_enrol
    from trial.simulate import simulate

    with tempfile.TemporaryDirectory() as tmp:
        data, db = Path(tmp) / "data", Path(tmp) / "trial.db"
        truth = simulate(data, claimants=claimants, design="two_stage", clusters=clusters, displacement=displacement,
                         effect_days=20.0, seed=seed, job_market=False)
        cut = date.fromisoformat(truth["data_cut"])
        init_and_enrol(data, db, cut, data / "protocol.toml")
        found = analyse_trial(data, db, cut, bootstrap=bootstrap, seed=seed).effects.spillover
    return {name: (getattr(found, name).estimate, getattr(found, name).ci, truth["spillover"][name])
            for name in ESTIMANDS}


def in_memory(seed: int, claimants: int, clusters: int, displacement: float, bootstrap: int
              ) -> dict[str, tuple[float, tuple[float, float], float]]:  # fmt: skip
    """The tests' in-memory trial (26 weeks of claimants), analysed by `trial.spillover` directly."""
    import pandas as pd

    from tests.two_stage import ROLLOUT, market_trial_in_memory
    from trial.outcomes import OutcomeRules, build_outcomes
    from trial.protocol import load_protocol
    from trial.spillover import spillover_effects

    allocations, spells, truth, cut = market_trial_in_memory(seed, claimants=claimants, clusters=clusters,
                                                             displacement=displacement)
    table = build_outcomes(allocations, spells, OutcomeRules.from_protocol(load_protocol(ROLLOUT), cut))
    found, _ = spillover_effects(table.benefit, table.frame, treatment_arm="treatment", horizon=182,
                                 as_of=pd.Timestamp(cut), alpha=0.05, replicates=bootstrap, seed=seed)
    return {name: (getattr(found, name).estimate, getattr(found, name).ci, truth[name]) for name in ESTIMANDS}


def study(label: str, run, seeds: range) -> None:  # type: ignore[no-untyped-def]
    """Run the seeds and print coverage, mean estimate and mean truth per estimand."""
    start = time.perf_counter()
    rows = [run(seed) for seed in seeds]
    print(f"{label}: {len(rows)} trials in {time.perf_counter() - start:.0f} s")
    for name in ESTIMANDS:
        hits = sum(ci[0] <= truth <= ci[1] for _, ci, truth in (r[name] for r in rows))
        mean = sum(r[name][0] for r in rows) / len(rows)
        true = sum(r[name][2] for r in rows) / len(rows)
        width = sum(r[name][1][1] - r[name][1][0] for r in rows) / len(rows)
        print(f"  {name:<24} covered {hits}/{len(rows)}; mean estimate {mean:6.2f}, mean truth {true:6.2f}, "
              f"mean interval width {width:5.1f} days")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="CI size: 3 trials of 4,000 claimants each")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--claimants", type=int, default=20_000)
    parser.add_argument("--bootstrap", type=int, default=1_000)
    args = parser.parse_args()
    seeds, claimants, bootstrap = (3, 4_000, 200) if args.small else (args.seeds, args.claimants, args.bootstrap)
    for displacement in (0.5, 0.0):
        study(f"full chain (simulate, init, enrol, analyse), 45 jobcentres, displacement {displacement:g}",
              lambda seed, d=displacement: full_chain(seed, claimants, None, d, bootstrap), range(seeds))
    many = 3 * seeds
    study("in memory (the tests' trials: 9,000 claimants, 26 weeks), 45 jobcentres, displacement 0.5",
          lambda seed: in_memory(seed, 9_000, 45, 0.5, 400), range(1000, 1000 + many))
    study("in memory, 24 jobcentres (8 per share), displacement 0.5",
          lambda seed: in_memory(seed, 6_000, 24, 0.5, 400), range(2000, 2000 + many))


if __name__ == "__main__":
    main()
