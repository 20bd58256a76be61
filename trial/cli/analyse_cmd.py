"""`trial analyse`: the intention-to-treat estimates of a trial as JSON, or a readable summary on the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from trial.cli import _sources as sources
from trial.cli._app import app, as_date, emit_json


@app.command("analyse")
def analyse_command(
    outcomes: Path = sources.OUTCOMES,
    as_of: str = sources.AS_OF,
    protocol: Path | None = sources.PROTOCOL,
    db: Path | None = sources.DB,
    allocations: Path | None = sources.ALLOCATIONS,
    horizon: int | None = typer.Option(None, "--horizon", min=1, help="Follow-up horizon in days (protocol's)."),
    event: list[str] | None = typer.Option(None, "--event", help="Exit(s) counted as the event (protocol's)."),
    bootstrap: int | None = sources.BOOTSTRAP,
    seed: int | None = sources.SEED,
    secret_file: Path | None = sources.SECRET_FILE,
    json_file: Path | None = typer.Option(None, "--json", help="Write the full result as JSON here ('-' = stdout)."),
) -> None:
    """Estimate days saved, hazard ratio, employment rate and more from registry spells (intention to treat).

    Example: trial analyse --db trial.db --outcomes spells.csv --as-of 2020-06-30 --json analysis.json
    """
    evaluation = sources.load(outcomes, protocol, db, allocations, secret_file)
    result = evaluation.analyse(
        as_date(as_of), horizon_days=horizon, event_exits=event or None, bootstrap=bootstrap, seed=seed
    )
    emit_json(result, json_file, lambda: _print_summary(result, evaluation.protocol))


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _ci(pair: list[float | None], digits: int = 1) -> str:
    return f"[{_fmt(pair[0], digits)}; {_fmt(pair[1], digits)}]"


def _p(value: float | None) -> str:
    return "–" if value is None else ("<0.001" if value < 0.001 else f"{value:.3f}")


def _print_summary(result: dict[str, Any], protocol: Any) -> None:
    """A readable, bilingual summary of the main estimates."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    meta = result["meta"]
    arms = [meta["arms"]["control"], meta["arms"]["treatment"]]
    labels = {a.name: a.label_da or a.name for a in protocol.arms}
    level = f"{meta['confidence_level']:.0%}"
    table = Table(
        title=f"{protocol.id} {protocol.version} — data cut {meta['as_of']}, horizon {meta['horizon_days']} days"
    )
    table.add_column("Arm / arm")
    for name, justify in [
        ("n", "right"),
        ("Beskæftiget / employed", "right"),
        ("Median dage / days", "right"),
        ("Ledige dage (RMST) / days unemployed", "right"),
        (f"Beskæftigelsesfrekvens / employment rate, {level} CI", "right"),
        ("Ledighedsgrad / share unemployed", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for arm in arms:
        a = result["arms"][arm]
        table.add_row(
            f"{labels.get(arm, arm)} ({arm})",
            str(a["n"]),
            str(a["events"]),
            _fmt(a["median_days"], 0),
            f"{_fmt(a['rmst_days'])} ± {_fmt(a['rmst_se'])}",
            f"{a['employment_rate']:.1%} {_ci([x * 100 if x is not None else None for x in a['employment_rate_ci']])}",
            f"{a['unemployed_share']:.1%}",
        )
    console.print(table)
    e = result["effects"]
    ds, hr, hra = e["days_saved"], e["hazard_ratio"], e["hazard_ratio_adjusted"]
    lines = [
        f"Dage sparet / days saved: {_fmt(ds['estimate'])} {level} CI {_ci(ds['ci'])}, p {_p(ds['p'])}; "
        f"bootstrap {_ci(ds['ci_bootstrap'])} "
        f"({meta['bootstrap']['replicates']} replicates, seed {meta['bootstrap']['seed']})",
        f"Hazard ratio: {_fmt(hr['estimate'], 3)} {_ci(hr['ci'], 3)}, p {_p(hr['p'])}; "
        f"adjusted / justeret {_fmt(hra['estimate'], 3)} {_ci(hra['ci'], 3)}, p {_p(hra['p'])}",
        f"Log-rank: chi2 {_fmt(e['logrank']['statistic'], 3)}, p {_p(e['logrank']['p'])}"
        + (
            f"; stratified / stratificeret chi2 {_fmt(e['logrank_stratified']['statistic'], 3)}, "
            f"p {_p(e['logrank_stratified']['p'])}"
            if e["logrank_stratified"]
            else ""
        ),
        f"Beskæftigelsesfrekvens, forskel / employment rate difference: "
        f"{_fmt(100 * e['employment_rate_difference']['estimate'])} percentage points "
        f"{_ci([None if x is None else 100 * x for x in e['employment_rate_difference']['ci']])}",
        f"Proportional hazards (Schoenfeld): p {_p(e['ph_test']['p'])}",
    ]
    if "cace_days_saved" in e and e["cace_days_saved"]["estimate"] is not None:
        c = e["cace_days_saved"]
        lines.append(
            f"Dage sparet blandt modtagere (CACE) / days saved among compliers: {_fmt(c['estimate'])} {_ci(c['ci'])}"
        )
    if "binary" in e and "difference" in e["binary"]:
        b = e["binary"]
        lines.append(
            f"{b['name']}: difference {_fmt(100 * b['difference']['estimate'])} percentage points "
            f"{_ci([None if x is None else 100 * x for x in b['difference']['ci']])}"
        )
    interim = result.get("interim")
    if interim and interim.get("look"):
        lines.append(
            f"Planlagt kig / planned look {interim['look']} of {interim['of']}: efficacy boundary "
            f"|z| ≥ {interim['z_boundary']:.3f} (p < {interim['p_boundary_two_sided']:.4f}, "
            f"{interim['spending']} spending)"
        )
    problems = {k: v for k, v in result["data_quality"].items() if v}
    lines.append(
        "Datakvalitet / data quality: "
        + (", ".join(f"{k} {v}" for k, v in problems.items()) if problems else "no problems found")
    )
    for note in result["notes"]:
        lines.append(f"Note: {note}")
    for line in lines:
        console.print(line, highlight=False, markup=False)
