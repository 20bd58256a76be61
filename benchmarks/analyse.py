"""Benchmark of `trial analyse` on a simulated trial: seconds and peak memory against the floor of the same run.

The floor is what any analysis must pay: reading the two files with pandas and one lifelines Kaplan-Meier fit per
arm. Each part runs in a fresh process so peak memory (max RSS) belongs to that part alone.

A two-stage analysis (issue 15) of the same people in 200 clusters is timed too: the same allocations (with
cluster and saturation, arms drawn in each cluster's share) and spells, under BC16's protocol with a two-stage
randomisation section, against the individual analysis of that file; the target is under 3× the individual one.

Usage: .venv/bin/python benchmarks/analyse.py [--small] [--people N] [--bootstrap B]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
PROTOCOL = ROOT / "protocols" / "bc16-jobmatch.toml"


def run_floor(alloc_path: Path, spells_path: Path, as_of: str) -> None:
    """Read both files with pandas and fit one Kaplan-Meier curve per arm (naive durations)."""
    import pandas as pd
    from lifelines import KaplanMeierFitter

    allocations = pd.read_csv(alloc_path, parse_dates=["randomised_on"])
    spells = pd.read_csv(spells_path, parse_dates=["start", "end"])
    last = spells.sort_values("start").drop_duplicates("person_id", keep="last")
    data = allocations.merge(last, on="person_id")
    end = data["end"].fillna(pd.Timestamp(as_of))
    data["time"] = (end - data["randomised_on"]).dt.days.clip(upper=182)
    data["event"] = (data["exit"] == "employment") & (data["time"] < 182)
    for _, group in data.groupby("arm"):
        KaplanMeierFitter().fit(group["time"], group["event"])


def run_full(alloc_path: Path, spells_path: Path, as_of: str, bootstrap: int, protocol_path: Path = PROTOCOL) -> None:
    """What `trial analyse --allocations ... --json` does, without writing the file."""
    from trial.allocations import load_allocations
    from trial.analysis import analyse
    from trial.outcomes import read_spells
    from trial.protocol import load_protocol

    protocol = load_protocol(protocol_path)
    allocations = load_allocations(allocations=alloc_path, protocol=protocol)
    spells = read_spells(spells_path)
    result = analyse(protocol, allocations, spells, as_of, bootstrap=bootstrap, seed=1)
    result.to_json()


def run_cox(alloc_path: Path, spells_path: Path, as_of: str) -> float:
    """Seconds of the lifelines Cox fits alone that the analysis needs: unadjusted, adjusted, one per subgroup level.

    Reading and outcomes are untimed here: this is the part of `analyse` no faster code of ours can shrink.
    """
    import numpy as np
    import pandas as pd

    from trial.allocations import load_allocations
    from trial.cox import cox_fit, design_matrix, level_hazard_ratios
    from trial.outcomes import OutcomeRules, build_outcomes, read_spells
    from trial.protocol import load_protocol

    protocol = load_protocol(PROTOCOL)
    allocations = load_allocations(allocations=alloc_path, protocol=protocol)
    frame = build_outcomes(allocations, read_spells(spells_path), OutcomeRules.from_protocol(protocol, as_of)).frame
    frame["treated"] = (frame["arm"] == protocol.treatment_arm).astype(int)
    alpha = float(protocol.analysis.alpha)
    start = time.perf_counter()
    cox_fit(frame, None, alpha)
    cox_fit(frame, design_matrix(frame, list(protocol.analysis.covariates))[0], alpha)
    base = frame[["time", "event", "treated"]]
    for variable in protocol.analysis.subgroups:
        codes, names = pd.factorize(frame[variable].astype(str), sort=True)
        level_hazard_ratios(base, codes, list(np.arange(len(names))), [str(n) for n in names], alpha)
    return time.perf_counter() - start


def child(part: str, alloc_path: str, spells_path: str, as_of: str, bootstrap: int) -> None:
    # Both parts import the same libraries before the clock starts: the figures compare work, not import time.
    start = time.perf_counter()
    import lifelines  # noqa: F401
    import pandas  # noqa: F401
    import statsmodels.api  # noqa: F401

    imports = time.perf_counter() - start
    start = time.perf_counter()
    if part == "cox":
        seconds = run_cox(Path(alloc_path), Path(spells_path), as_of)
    else:
        if part == "floor":
            run_floor(Path(alloc_path), Path(spells_path), as_of)
        elif part in ("individual", "two_stage"):
            folder = Path(alloc_path).parent
            protocol = folder / ("two-stage.toml" if part == "two_stage" else "individual.toml")
            run_full(folder / "clustered.csv", Path(spells_path), as_of, bootstrap, protocol)
        else:
            run_full(Path(alloc_path), Path(spells_path), as_of, bootstrap)
        seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "imports": imports}))


def write_two_stage(folder: Path, clusters: int = 200, seed: int = 2) -> None:
    """The same people in `clusters` clusters of balanced saturations 0, 0.5 and 0.8, arms drawn in each cluster's
    share (clustered.csv); BC16's protocol as it is (individual.toml) and with a two-stage randomisation section."""
    import re

    import numpy as np
    import pandas as pd

    from trial.clusters import draw_saturations
    from trial.protocol import load_protocol

    rng = np.random.default_rng(seed)
    names = [f"Jobcenter {k:03d}" for k in range(clusters)]
    text = PROTOCOL.read_text(encoding="utf-8")
    listed = ", ".join(f'"{n}"' for n in names)
    two_stage = re.sub(r"\[randomisation\]\n", '[randomisation]\ndesign = "two_stage"\ncluster = "jobcenter_unit"\n'
                       f"clusters = [{listed}]\nsaturations = [0.0, 0.5, 0.8]\n", text, count=1)
    (folder / "individual.toml").write_text(text, encoding="utf-8")
    (folder / "two-stage.toml").write_text(two_stage, encoding="utf-8")
    saturation = draw_saturations(load_protocol(folder / "two-stage.toml").randomisation, b"benchmark").saturations
    frame = pd.read_csv(folder / "allocations.csv", dtype=str)
    frame["cluster"] = np.array(names)[rng.integers(0, clusters, len(frame))]
    frame["saturation"] = frame["cluster"].map(saturation)
    frame["arm"] = np.where(rng.random(len(frame)) < frame["saturation"].astype(float), "treatment", "control")
    frame.to_csv(folder / "clustered.csv", index=False)


def measure(part: str, paths: tuple[Path, Path, str], bootstrap: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", part, str(paths[0]), str(paths[1]), paths[2], str(bootstrap)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="CI size: 5,000 people, 200 replicates")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--bootstrap", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each part; the fastest counts")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        part, alloc, spells, as_of, bootstrap = args.child
        child(part, alloc, spells, as_of, int(bootstrap))
        return
    people, bootstrap = (5_000, 200) if args.small else (args.people, args.bootstrap)
    with tempfile.TemporaryDirectory() as folder:
        from large_trial import AS_OF, write_trial

        files = write_trial(Path(folder), people)
        write_two_stage(Path(folder))
        paths = (files["allocations"], files["spells"], AS_OF)
        floor = min((measure("floor", paths, bootstrap) for _ in range(args.repeat)), key=lambda r: r["seconds"])
        full = min((measure("full", paths, bootstrap) for _ in range(args.repeat)), key=lambda r: r["seconds"])
        cox = min((measure("cox", paths, bootstrap) for _ in range(args.repeat)), key=lambda r: r["seconds"])
        individual = min((measure("individual", paths, bootstrap) for _ in range(args.repeat)),
                         key=lambda r: r["seconds"])
        two_stage = min((measure("two_stage", paths, bootstrap) for _ in range(args.repeat)),
                        key=lambda r: r["seconds"])
    load = os.getloadavg()[0]
    print(f"trial analyse benchmark: {people:,} participants, {bootstrap:,} bootstrap replicates "
          f"(load average {load:.2f} on {os.cpu_count()} cores)")  # fmt: skip
    print(f"  floor (pandas read of both files + one lifelines KM per arm): {floor['seconds']:.2f} s, "
          f"peak {floor['peak_mb']:.0f} MB")  # fmt: skip
    print(f"  analyse (read, outcomes, all estimates, bootstrap, JSON):     {full['seconds']:.2f} s, "
          f"peak {full['peak_mb']:.0f} MB")  # fmt: skip
    print(f"  (imports of pandas, lifelines, statsmodels before timing: {full['imports']:.2f} s)")
    print(f"  of which lifelines Cox fits alone (unadjusted, adjusted, each subgroup level): {cox['seconds']:.2f} s, "
          f"{cox['seconds'] / floor['seconds']:.2f}x the floor")  # fmt: skip
    ratio = full["seconds"] / floor["seconds"]
    memory = "under" if full["peak_mb"] < 2048 else "OVER"
    print(f"  ratio to floor: {ratio:.2f}x (target <= 3x); peak memory {memory} 2 GB")
    print(f"two-stage (the same people in 200 clusters at saturations 0, 0.5, 0.8; {bootstrap:,} cluster-bootstrap "
          "replicates):")
    print(f"  individual analysis of that file: {individual['seconds']:.2f} s, peak {individual['peak_mb']:.0f} MB")
    print(f"  two-stage analysis (the same plus effects.spillover): {two_stage['seconds']:.2f} s, "
          f"peak {two_stage['peak_mb']:.0f} MB")
    print(f"  ratio: {two_stage['seconds'] / individual['seconds']:.2f}x (target < 3x)")


if __name__ == "__main__":
    main()
