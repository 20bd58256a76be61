"""Benchmark of `trial report`: the whole command on a BC16-like trial, and the rendering step on its own.

The target is a report for 100,000 participants in under 15 s. Most of the time is the analysis (bootstrap, Cox);
the rendering (disclosure control, three SVG figures, templates) is timed separately in this process.

Usage: .venv/bin/python benchmarks/report.py [--small] [--people N] [--bootstrap B]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "protocols" / "bc16-jobmatch.toml"
sys.path.insert(0, str(Path(__file__).parent))

from large_trial import AS_OF, write_trial  # noqa: E402


def time_command(paths: dict[str, Path], out: Path, bootstrap: int | None) -> tuple[float, str]:
    """Wall time of the real command in a fresh process, and the split it prints."""
    command = [str(ROOT / ".venv" / "bin" / "trial"), "report", "--protocol", str(PROTOCOL)]
    command += ["--allocations", str(paths["allocations"]), "--outcomes", str(paths["spells"])]
    command += ["--as-of", AS_OF, "--out", str(out), "--seed", "1"]
    if bootstrap is not None:
        command += ["--bootstrap", str(bootstrap)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout.strip()


def time_render(paths: dict[str, Path], bootstrap: int | None) -> tuple[float, float, int]:
    """Seconds of the analysis and of the rendering alone in this process, and the HTML size in bytes."""
    import pandas as pd

    from reports.render import render_html
    from trial.allocations import load_allocations
    from trial.evaluation import Evaluation
    from trial.outcomes import read_spells
    from trial.protocol import load_protocol

    protocol = load_protocol(PROTOCOL)
    allocations = load_allocations(allocations=paths["allocations"], protocol=protocol)
    evaluation = Evaluation(protocol=protocol, allocations=allocations, spells=read_spells(paths["spells"]))
    started = time.perf_counter()
    result = evaluation.analyse(pd.Timestamp(AS_OF).date(), bootstrap=bootstrap, seed=1)
    analysed = time.perf_counter()
    # The baseline table and the savings are part of the report's time, as they were when the renderer made them.
    html = render_html(evaluation.report_inputs(result), lang="da")
    rendered = time.perf_counter()
    return analysed - started, rendered - analysed, len(html.encode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10,000 participants (a quick check, e.g. in CI)")
    parser.add_argument("--people", type=int, default=None, help="participants (default 100,000)")
    parser.add_argument("--bootstrap", type=int, default=None, help="bootstrap replicates (default: the protocol's)")
    args = parser.parse_args()
    people = args.people or (10_000 if args.small else 100_000)
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        folder = Path(tmp)
        paths = write_trial(folder, people)
        total, split = time_command(paths, folder / "report.html", args.bootstrap)
        analysis, render, size = time_render(paths, args.bootstrap)
    split = re.sub(r"^wrote \S+ ", "", split)
    print(f"trial report, {people:,} participants")
    print(f"  whole command (fresh process, reading files):  {total:6.2f} s   target < 15 s")
    print(f"  as the command reports it:                      {split}")
    print(f"  analysis alone (in process):                    {analysis:6.2f} s")
    print(f"  rendering alone (in process):                   {render:6.2f} s")
    print(f"  HTML size:                                      {size / 1024:6.0f} KiB")


if __name__ == "__main__":
    main()
