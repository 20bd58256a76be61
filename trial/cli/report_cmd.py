"""`trial report`: the six-month HTML report for DTA (Danish or English, optionally blinded, optionally PDF)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from trial.cli._app import app, as_date


@app.command("report")
def report_command(
    outcomes: Path = typer.Option(..., "--outcomes", help="Registry spells: person_id or cpr, start, end, exit."),
    as_of: str = typer.Option(..., "--as-of", help="Data cut of the spells (yyyy-mm-dd); open spells end here."),
    out: Path = typer.Option(..., "--out", help="The HTML report to write (one self-contained file)."),
    protocol: Path | None = typer.Option(None, "--protocol", help="Protocol TOML (default with --db: the ledger's)."),
    db: Path | None = typer.Option(None, "--db", help="The trial ledger (SQLite file)."),
    allocations: Path | None = typer.Option(
        None, "--allocations", help="Allocation file instead of a ledger: person_id, arm, stratum, randomised_on."
    ),
    lang: str | None = typer.Option(None, "--lang", help="da or en (default: the protocol's report.language)."),
    blind: bool = typer.Option(False, "--blind", help="Call the arms A and B and reveal nothing about which is which."),
    pdf: Path | None = typer.Option(None, "--pdf", help="Also print the report to this A4 PDF (needs Chromium)."),
    bootstrap: int | None = typer.Option(None, "--bootstrap", min=0, help="Bootstrap replicates (protocol's)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the bootstrap, for reproducible intervals."),
    secret_file: Path | None = typer.Option(
        None, "--secret-file", help="Trial secret, needed when the spells carry cpr (default: $TRIAL_SECRET)."
    ),
) -> None:
    """Render the six-month report: CONSORT flow, baseline, Kaplan-Meier, effects, subgroups, savings, methods.

    Example: trial report --db trial.db --outcomes spells.csv --as-of 2020-06-30 --out report.html --lang en
    """
    from trial.errors import TrialError

    if lang is not None and lang not in ("da", "en"):
        raise TrialError(f"--lang: use 'da' or 'en', not '{lang}'")
    if out.is_dir():
        raise TrialError(f"--out: {out} is a directory; give the name of the HTML file to write")
    if pdf is not None:
        from reports.render import find_chromium

        if find_chromium() is None:
            raise TrialError("--pdf needs Chromium, which is not installed (Debian: apt-get install chromium)")

    from reports.render import ReportInputs, print_pdf, render_html
    from trial.evaluation import load_evaluation
    from trial.secret import load_secret

    started = time.perf_counter()
    # A blinded report must not name its input files; their SHA-256 still goes into the stamp.
    evaluation = load_evaluation(
        outcomes,
        protocol=protocol,
        db=db,
        allocations=allocations,
        secret=load_secret(secret_file) if secret_file is not None else None,
        record_paths=False,
    )
    result = evaluation.analyse(as_date(as_of), bootstrap=bootstrap, seed=seed)
    analysed = time.perf_counter()
    html = render_html(
        ReportInputs(
            protocol=evaluation.protocol,
            result=result,
            allocations=evaluation.allocations,
            screening=evaluation.screening,
            withdrawals=evaluation.withdrawals,
            ledger_head=evaluation.ledger_head,
        ),
        lang=lang,
        blind=blind,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    rendered = time.perf_counter()
    typer.echo(f"wrote {out} (analysis {analysed - started:.1f} s, rendering {rendered - analysed:.1f} s)")
    if pdf is not None:
        print_pdf(out, pdf)
        typer.echo(f"wrote {pdf}")
