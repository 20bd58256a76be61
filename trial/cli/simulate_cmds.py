"""`trial simulate` (a synthetic trial with a known effect) and `trial demo` (the whole story end to end)."""

from __future__ import annotations

from pathlib import Path

import typer

from trial.cli._app import app
from trial.cli._progress import progress_bar


@app.command("simulate")
def simulate_command(
    out: Path = typer.Option(..., "--out", help="Folder to write the simulated trial into (new or empty)."),
    claimants: int = typer.Option(10_000, "--claimants", min=1, help="Distinct claimants over the 12 months."),
    postings: int | None = typer.Option(None, "--postings", min=0, help="Job postings (default: 3 per claimant)."),
    effect_days: float = typer.Option(10.0, "--effect-days", min=0, help="Days saved for a treated person who met."),
    uptake: float = typer.Option(0.7, "--uptake", min=0, max=1, help="Share of each arm at a consultant meeting."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives the same files."),
) -> None:
    """Write a realistic synthetic trial: weekly claimant extracts, CVs, postings, hires, spells, meetings, truth.

    The spells assume the arms that `trial enrol` gives with DIR/secret.key on the weekly files in order;
    truth.json holds the true intention-to-treat days saved at the horizon.

    Example: trial simulate --out sim --claimants 10000 --effect-days 10 --uptake 0.7 --seed 1
    """
    from trial.simulate import simulate

    with progress_bar() as step:
        truth = simulate(
            out, claimants=claimants, postings=postings, effect_days=effect_days, uptake=uptake, seed=seed,
            progress=step,
        )
    arms = truth["arms"]
    typer.echo(f"Simuleret forsøg / simulated trial in {out}:")
    typer.echo(
        f"  {truth['claimants']} claimants in {truth['weekly_files']} weekly files ({out}/claimants/), "
        f"{truth['enrolled']} eligible (" + ", ".join(f"{arm} {n}" for arm, n in arms.items()) + ")"
    )
    typer.echo(
        f"  true intention-to-treat effect / sand effekt: {truth['itt_days_saved']:.2f} days saved at "
        f"{truth['horizon_days']} days (effect {effect_days:g} days × uptake {uptake:g}); see {out}/truth.json"
    )
    for note in truth["notes"]:
        typer.echo(f"  note: {note}")


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for everything the demo makes."),
    claimants: int | None = typer.Option(None, "--claimants", min=100, help="Claimants to simulate (default 16000)."),
    seed: int = typer.Option(1, "--seed", help="Random seed of the simulation."),
) -> None:
    """Run the whole trial on simulated data: simulate, init, enrol weekly, match, analyse, report, savings.

    Steps whose part of the toolkit is not built yet are skipped with one line. A folder from an earlier demo is
    replaced; any other non-empty folder is refused.

    Example: trial demo --out demo-output
    """
    from trial.demo import DEMO_CLAIMANTS, run_demo

    def say(line: str) -> None:
        typer.echo(line)

    with progress_bar() as step:
        result = run_demo(out, claimants=claimants or DEMO_CLAIMANTS, seed=seed, say=say, progress=step)
    typer.echo("")
    if result.get("report"):
        typer.echo(f"Rapporten / the report: {result['report']}")
    else:
        typer.echo(f"Alt er skrevet til / everything is in: {out}")
