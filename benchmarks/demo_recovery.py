"""Does the demo's estimate find the truth? Coverage of the 95% interval of days saved over many simulated trials.

For each seed: `trial simulate` (as the demo does: six-month registry cut, the demo's effect and uptake, no job
market), `trial init` + `trial enrol` of the weekly files up to the cut, `trial analyse`; then count how often
the interval covers truth.json's intention-to-treat days saved. Also prints the time to simulate 10,000 claimants.

Usage: .venv/bin/python benchmarks/demo_recovery.py [--small] [--seeds N] [--claimants N] [--bootstrap B]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def time_simulation(claimants: int) -> float:
    """Seconds for a full `simulate` (job market included) of `claimants` people."""
    from trial.simulate import simulate

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        simulate(Path(tmp) / "sim", claimants=claimants, seed=1)
        return time.perf_counter() - start


def one_trial(seed: int, claimants: int, bootstrap: int) -> dict[str, float]:
    """Simulate, enrol and analyse one trial the demo's way; return the estimate, its interval and the truth."""
    from trial.demo import DEMO_EFFECT_DAYS, DEMO_UPTAKE, analyse_trial, init_and_enrol
    from trial.simulate import default_protocol_path, simulate, six_month_cut

    as_of = six_month_cut()
    with tempfile.TemporaryDirectory() as tmp:
        data, db = Path(tmp) / "data", Path(tmp) / "trial.db"
        truth = simulate(
            data, claimants=claimants, effect_days=DEMO_EFFECT_DAYS, uptake=DEMO_UPTAKE, seed=seed, data_cut=as_of,
            job_market=False,
        )
        init_and_enrol(data, db, as_of, default_protocol_path())
        result = analyse_trial(data, db, as_of, bootstrap=bootstrap, seed=seed)
    days = result.effects.days_saved
    row = {
        "truth": truth["six_month"]["itt_days_saved"],
        "estimate": days.estimate,
        "low": days.ci[0],
        "high": days.ci[1],
        "n": result.counts.analysed["total"],
    }
    if bootstrap >= 2:
        row["boot_low"], row["boot_high"] = days.ci_bootstrap
    return row


def main() -> None:
    from trial.demo import DEMO_CLAIMANTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="5 seeds instead of 20")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 20, 5 with --small)")
    parser.add_argument("--claimants", type=int, default=DEMO_CLAIMANTS, help="claimants per simulated trial")
    parser.add_argument("--bootstrap", type=int, default=0, help="bootstrap replicates (0: analytic interval only)")
    args = parser.parse_args()
    seeds = args.seeds or (5 if args.small else 20)

    seconds = time_simulation(10_000)
    print(f"simulate 10,000 claimants (job market included): {seconds:.1f} s (target < 30 s)", flush=True)

    print(f"{seeds} simulated trials of {args.claimants} claimants, analysed at the six-month cut", flush=True)
    print(f"{'seed':>4} {'n':>6} {'truth':>7} {'estimate':>9} {'95% CI':>17} covered", flush=True)
    covered = covered_boot = 0
    errors = []
    start = time.perf_counter()
    for seed in range(1, seeds + 1):
        row = one_trial(seed, args.claimants, args.bootstrap)
        hit = row["low"] <= row["truth"] <= row["high"]
        covered += hit
        if "boot_low" in row:
            covered_boot += row["boot_low"] <= row["truth"] <= row["boot_high"]
        errors.append(row["estimate"] - row["truth"])
        print(f"{seed:>4} {row['n']:>6} {row['truth']:>7.2f} {row['estimate']:>9.2f} "
              f"[{row['low']:>6.2f}; {row['high']:>6.2f}] {'yes' if hit else 'NO'}", flush=True)
    mean_error = sum(errors) / len(errors)
    print(f"covered: {covered}/{seeds} (target at least 90%, i.e. 18/20)")
    if args.bootstrap >= 2:
        print(f"covered by the bootstrap interval: {covered_boot}/{seeds}")
    print(f"mean estimate - truth: {mean_error:+.2f} days; {time.perf_counter() - start:.0f} s for {seeds} trials")


if __name__ == "__main__":
    main()
