"""`trial simulate` (a synthetic trial with a known effect) and `trial demo` (the whole story end to end)."""

from __future__ import annotations

from pathlib import Path

import typer

from trial.cli._app import app, decimal_option
from trial.cli._progress import progress_bar
from trial.cli.finance_commands import parse_design


@app.command("simulate")
def simulate_command(
    out: Path = typer.Option(..., "--out", help="Folder to write the simulated trial into (new or empty)."),
    claimants: int = typer.Option(10_000, "--claimants", min=1, help="Distinct claimants over the 12 months."),
    postings: int | None = typer.Option(None, "--postings", min=0, help="Job postings (default: 3 per claimant)."),
    effect_days: float = typer.Option(10.0, "--effect-days", min=0, help="Days saved for a treated person who met."),
    uptake: float = typer.Option(0.7, "--uptake", min=0, max=1, help="Share of each arm at a consultant meeting."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives the same files."),
    design: str = typer.Option(
        "individual", "--design", parser=parse_design, metavar="individual|two-stage",
        help="two-stage: the roll-out protocol's saturation design in a job market with displacement.",
    ),
    clusters: int | None = typer.Option(
        None, "--clusters", min=6, help="Two-stage: jobcentres (default: the roll-out protocol's 45)."
    ),
    displacement: float = decimal_option(
        "--displacement", default=0.5,
        help="Two-stage: share of the treated's gain taken from postings others in their cluster would have filled.",
    ),
    policies: bool = typer.Option(
        False, "--policies",
        help="Also find each serving policy's truth when the effect runs through what was shown (model with and "
             "without a cap, automatch); trains the matcher into DIR/model.",
    ),
) -> None:
    """Write a realistic synthetic trial: weekly claimant extracts, CVs, postings, hires, spells, meetings, truth.

    The spells assume the arms that `trial enrol` gives with DIR/secret.key on the weekly files in order;
    truth.json holds the true intention-to-treat days saved at the horizon. With --design two-stage the arms are drawn
    under DIR/protocol.toml (saturations per jobcentre, then people within them) and truth.json holds each spillover
    estimand.

    Example: trial simulate --out sim --claimants 10000 --effect-days 10 --uptake 0.7 --seed 1
    Example: trial simulate --out sim2 --design two-stage --clusters 30 --displacement 0.5 --claimants 20000
    Example: trial simulate --out sim3 --claimants 8000 --policies
    """
    from trial.errors import TrialError

    if design == "individual" and (clusters is not None or displacement != 0.5):
        raise TrialError("--clusters and --displacement belong to --design two-stage")
    if not 0 <= displacement <= 1:
        raise TrialError(f"--displacement: must be a share between 0 and 1; got {displacement:g}")
    from trial.simulate import simulate

    two_stage = design == "two-stage"
    extra = {"design": "two_stage", "clusters": clusters, "displacement": displacement} if two_stage else {}
    with progress_bar() as step:
        truth = simulate(
            out, claimants=claimants, postings=postings, effect_days=effect_days, uptake=uptake, seed=seed,
            progress=step, policies=policies, **extra,
        )
    if two_stage:
        _show_two_stage(truth, out, displacement)
        _show_shown(truth)
        return
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
    _show_shown(truth)


def _show_shown(truth: dict) -> None:
    """Each serving policy's true days on benefit saved through what was shown, when simulated (--policies)."""
    if "shown" not in truth:
        return
    from trial.demo import shown_beside_truth

    for line in shown_beside_truth(truth["shown"]):
        typer.echo(line)


def _show_two_stage(truth: dict, out: Path, displacement: float) -> None:
    """What a two-stage simulation holds: its clusters, arms and the true value of each spillover estimand."""
    arms = truth["arms"]
    spill = truth["spillover"]
    typer.echo(f"Simuleret to-trins-forsøg / simulated two-stage trial in {out}:")
    typer.echo(
        f"  {truth['claimants']} claimants in {truth['weekly_files']} weekly files, {truth['clusters']} jobcentres "
        f"(their saturations drawn with secret.key under {out}/protocol.toml), {truth['enrolled']} eligible ("
        + ", ".join(f"{arm} {n}" for arm, n in arms.items()) + f"); displacement {displacement:g}"
    )
    for name in ("direct", "total_on_treated", "spillover_on_untreated", "net_per_person"):
        value = spill[name]
        typer.echo(f"  true {name}: {'–' if value is None else f'{value:.2f}'} days on benefit saved")
    typer.echo(f"  see {out}/truth.json")


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for everything the demo makes."),
    claimants: int | None = typer.Option(None, "--claimants", min=100, help="Claimants to simulate (default 16000)."),
    seed: int = typer.Option(1, "--seed", help="Random seed of the simulation."),
    design: str = typer.Option(
        "individual", "--design", parser=parse_design, metavar="individual|two-stage",
        help="two-stage: the roll-out protocol's saturation design in a job market with displacement.",
    ),
    clusters: int | None = typer.Option(None, "--clusters", min=6, help="Two-stage: jobcentres (default 45)."),
    displacement: float | None = decimal_option(
        "--displacement", help="Two-stage: share of the treated's gain taken from others (default 0.5).",
    ),
) -> None:
    """Run the whole trial on simulated data: simulate, init, enrol weekly, match, analyse, report, savings.

    Steps whose part of the toolkit is not built yet are skipped with one line. A folder from an earlier demo is
    replaced; any other non-empty folder is refused. With --design two-stage each spillover estimate is printed
    beside its truth.

    Example: trial demo --out demo-output
    Example: trial demo --out demo-two-stage --design two-stage --displacement 0.5
    """
    from trial.errors import TrialError

    if design == "individual" and (clusters is not None or displacement is not None):
        raise TrialError("--clusters and --displacement belong to --design two-stage")
    if displacement is not None and not 0 <= displacement <= 1:
        raise TrialError(f"--displacement: must be a share between 0 and 1; got {displacement:g}")
    from trial.demo import DEMO_CLAIMANTS, DEMO_DISPLACEMENT, run_demo

    def say(line: str) -> None:
        typer.echo(line)

    extra = {"design": "two_stage", "clusters": clusters,
             "displacement": DEMO_DISPLACEMENT if displacement is None else displacement} if design != "individual" \
        else {}
    with progress_bar() as step:
        result = run_demo(out, claimants=claimants or DEMO_CLAIMANTS, seed=seed, say=say, progress=step, **extra)
    typer.echo("")
    if result.get("report"):
        typer.echo(f"Rapporten / the report: {result['report']}")
    else:
        typer.echo(f"Alt er skrevet til / everything is in: {out}")
