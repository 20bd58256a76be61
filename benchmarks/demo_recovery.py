"""Does the demo's analysis find the truth? Coverage of the 95% intervals of every days estimand over simulated trials.

For each seed: `trial simulate` (the demo's effect and uptake, no job market: treatment speeds only exits to a job,
and a tenth of jobs end in a return to benefit), `trial init` + `trial enrol` of the weekly files up to the data cut,
`trial analyse`; then count how often each interval covers truth.json's value of the same estimand: days on benefit
saved (unadjusted and adjusted for the strata), days on any benefit in each window, and days saved (time to a job).
A second part draws trials with strongly prognostic strata and compares the adjusted and unadjusted intervals.

Usage: .venv/bin/python benchmarks/demo_recovery.py [--small] [--seeds N] [--claimants N] [--cut-months 6|12]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def time_simulation(claimants: int) -> float:
    """Seconds for a full `simulate` (job market included) of `claimants` people."""
    from trial.simulate import simulate

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        simulate(Path(tmp) / "sim", claimants=claimants, seed=1)
        return time.perf_counter() - start


def truths(truth: dict[str, Any], block: str) -> dict[str, float | None]:
    """The true value of each estimand, by the name of its effect in the analysis."""
    cohort = truth["six_month"] if block == "six_month" else truth
    out: dict[str, float | None] = {
        "benefit_days_saved": cohort["itt_benefit_days_saved"],
        "benefit_days_saved_adjusted": cohort["itt_benefit_days_saved"],
        "days_saved": cohort["itt_days_saved"],
        "days_saved_adjusted": cohort["itt_days_saved"],
    }
    for window, value in cohort["itt_benefit_days_all_spells_saved"].items():
        out[f"benefit_days_all_spells_saved[{window}]"] = value
    return out


def one_trial(seed: int, claimants: int, bootstrap: int, cut_months: int) -> dict[str, dict[str, Any]]:
    """Simulate, enrol and analyse one trial the demo's way; each estimand's estimate, interval and truth."""
    from trial.demo import DEMO_EFFECT_DAYS, DEMO_UPTAKE, analyse_trial, init_and_enrol
    from trial.simulate import DEFAULT_START, add_months, default_protocol_path, simulate
    from trial.simulate.claimants import extract_dates

    as_of = add_months(extract_dates(DEFAULT_START, 1)[0], cut_months)
    with tempfile.TemporaryDirectory() as tmp:
        data, db = Path(tmp) / "data", Path(tmp) / "trial.db"
        truth = simulate(
            data, claimants=claimants, effect_days=DEMO_EFFECT_DAYS, uptake=DEMO_UPTAKE, seed=seed, data_cut=as_of,
            job_market=False,
        )  # fmt: skip
        init_and_enrol(data, db, as_of, default_protocol_path())
        result = analyse_trial(data, db, as_of, bootstrap=bootstrap, seed=seed)
    if cut_months == 6:
        block = "six_month"
    elif as_of.isoformat() >= truth["last_extract"]:
        block = "all"
    else:
        raise SystemExit(f"no truth for a cut at {cut_months} months: use 6 or 12")
    effects = result.effects
    found = {name: getattr(effects, name) for name in ("benefit_days_saved", "benefit_days_saved_adjusted",
                                                      "days_saved", "days_saved_adjusted")}  # fmt: skip
    for window, effect in (effects.benefit_days_all_spells_saved or {}).items():
        found[f"benefit_days_all_spells_saved[{window}]"] = effect
    rows = {}
    for name, true in truths(truth, block).items():
        effect = found.get(name)
        if effect is None or effect.estimate is None:
            continue
        low, high = effect.ci
        rows[name] = {"truth": true, "estimate": effect.estimate, "low": low, "high": high,
                      "covered": low <= true <= high, "n": result.counts.analysed_benefit["total"]}  # fmt: skip
    return rows


def prognostic_part(seeds: int, n: int) -> None:
    """Adjusted vs unadjusted days-on-benefit intervals on trials whose strata strongly predict time on benefit."""
    import numpy as np

    from trial.adjusted import adjusted_rmst_difference
    from trial.rmst import LifeTable, rmst

    horizon = 182
    covered = {"adjusted": 0, "unadjusted": 0}
    ratio = []
    for seed in range(1, seeds + 1):
        rng = np.random.default_rng(seed)
        field, sex, treated = rng.integers(0, 3, n), rng.integers(0, 2, n), rng.integers(0, 2, n)
        base = np.array([1 / 25, 1 / 70, 1 / 250])[field] * np.array([1.0, 1.4])[sex]
        days = np.ceil(rng.exponential(1 / (base * np.where(treated == 1, 1.25, 1.0))))
        follow = rng.integers(100, 400, n)  # staggered entry: some are cut before the horizon
        seen = np.minimum(np.minimum(days, follow), horizon)
        ended = days <= np.minimum(follow, horizon)

        def restricted(rate: np.ndarray) -> np.ndarray:
            return (1 - np.exp(-rate * horizon)) / (1 - np.exp(-rate))

        truth = float(np.mean(restricted(base) - restricted(base * 1.25)))
        import pandas as pd

        strata = pd.DataFrame({"field": field.astype(str), "sex": sex.astype(str)})
        fit = adjusted_rmst_difference(seen, ended, treated, strata, horizon, 0, rng)
        arms = [rmst(LifeTable.from_data(seen[treated == a], ended[treated == a]), horizon) for a in (0, 1)]
        plain, se = arms[0].estimate - arms[1].estimate, math.hypot(arms[0].se, arms[1].se)
        covered["adjusted"] += abs(-fit.estimate - truth) <= 1.959964 * fit.se
        covered["unadjusted"] += abs(plain - truth) <= 1.959964 * se
        ratio.append(fit.se / se)
    print(f"prognostic strata, {seeds} trials of {n}: adjusted covered {covered['adjusted']}/{seeds}, unadjusted "
          f"{covered['unadjusted']}/{seeds}; adjusted / unadjusted interval width {np.mean(ratio):.2f} "
          f"(range {min(ratio):.2f}-{max(ratio):.2f})")  # fmt: skip


def main() -> None:
    from trial.demo import DEMO_CLAIMANTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="4 seeds of 6,000 claimants instead of 20 of 16,000")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 20, 4 with --small)")
    parser.add_argument("--claimants", type=int, default=None, help="claimants per simulated trial")
    parser.add_argument("--bootstrap", type=int, default=0, help="bootstrap replicates (0: analytic intervals only)")
    parser.add_argument("--cut-months", type=int, default=6, help="data cut in months: 6 (the demo's) or 12")
    parser.add_argument("--first-seed", type=int, default=1, help="the first seed (more seeds: run again from N)")
    parser.add_argument("--skip-timing", action="store_true", help="leave out the timing of one simulation")
    args = parser.parse_args()
    seeds = args.seeds or (4 if args.small else 20)
    claimants = args.claimants or (6_000 if args.small else DEMO_CLAIMANTS)

    if not args.skip_timing:
        seconds = time_simulation(10_000)
        print(f"simulate 10,000 claimants (job market included): {seconds:.1f} s (target < 30 s)", flush=True)

    print(f"{seeds} simulated trials of {claimants} claimants, analysed at the {args.cut_months}-month cut", flush=True)
    tally: dict[str, list[dict[str, Any]]] = {}
    start = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + seeds):
        rows = one_trial(seed, claimants, args.bootstrap, args.cut_months)
        for name, row in rows.items():
            tally.setdefault(name, []).append(row)
        line = "; ".join(f"{name} {r['estimate']:.1f} [{r['low']:.1f}, {r['high']:.1f}] truth {r['truth']:.1f}"
                         f"{'' if r['covered'] else ' MISSED'}" for name, r in rows.items())  # fmt: skip
        print(f"seed {seed} (n {next(iter(rows.values()))['n']}): {line}", flush=True)
    print(f"{'estimand':42} {'covered':>9} {'mean width':>10} {'mean error':>10}")
    for name, rows in tally.items():
        covered = sum(r["covered"] for r in rows)
        width = sum(r["high"] - r["low"] for r in rows) / len(rows)
        error = sum(r["estimate"] - r["truth"] for r in rows) / len(rows)
        print(f"{name:42} {covered:>4}/{len(rows):<4} {width:>10.2f} {error:>+10.2f}")
    ordered = sum(a["truth"] < b["truth"] for a, b in zip(tally["benefit_days_saved"], tally["days_saved"],
                                                           strict=True))  # fmt: skip
    estimated = sum(a["estimate"] < b["estimate"] for a, b in zip(tally["benefit_days_saved"], tally["days_saved"],
                                                                  strict=True))  # fmt: skip
    print(f"benefit_days_saved < days_saved: truth in {ordered}/{seeds} seeds, estimate in {estimated}/{seeds}")
    print(f"{time.perf_counter() - start:.0f} s for {seeds} trials (target: each covered in at least 90%)")
    prognostic_part(seeds, 2_000 if args.small else 3_000)


if __name__ == "__main__":
    main()
