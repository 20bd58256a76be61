"""`trial report`: the six-month HTML report for DTA (Danish or English, optionally blinded, optionally PDF)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer

import trial.cli._sources as sources
from trial.cli._app import ALLOW_FUTURE, app, lang_option, not_future, output_path
from trial.cli._progress import progress_bar


@app.command("report")
def report_command(
    outcomes: Path = sources.OUTCOMES,
    as_of: date = sources.AS_OF,
    out: Path = typer.Option(..., "--out", help="The HTML report to write (one self-contained file)."),
    protocol: Path | None = sources.PROTOCOL,
    db: Path | None = sources.DB,
    allocations: Path | None = sources.ALLOCATIONS,
    lang: str | None = lang_option(),
    blind: bool = typer.Option(
        False, "--blind",
        help="Call the arms A and B and reveal nothing about which is which (A is fixed by the ledger, or for an "
        "allocation file by the protocol's report.blind_seed or the trial secret).",
    ),
    pdf: Path | None = typer.Option(None, "--pdf", help="Also print the report to this A4 PDF (needs Chromium)."),
    bootstrap: int | None = sources.BOOTSTRAP,
    seed: int | None = sources.SEED,
    secret_file: Path | None = sources.SECRET_FILE,
    allow_future: bool = ALLOW_FUTURE,
) -> None:
    """Render the six-month report: CONSORT flow, baseline, Kaplan-Meier, effects, subgroups, savings, methods.

    Example: trial report --db trial.db --outcomes spells.csv --as-of 2020-06-30 --out report.html --lang en
    """
    from trial.errors import TrialError

    not_future(as_of, "--as-of", allow_future)
    output_path(out)
    if pdf is not None:
        from reports.pdf import find_chromium

        if find_chromium() is None:
            raise TrialError("--pdf needs Chromium, which is not installed (Debian: apt-get install chromium)")

    from reports.pdf import print_pdf
    from reports.render import render_html

    started = time.perf_counter()
    # A blinded report must not name its input files; their SHA-256 still goes into the stamp.
    evaluation = sources.load(outcomes, protocol, db, allocations, secret_file, record_paths=False)
    if blind:
        sources.blind_key(evaluation, secret_file)
    with progress_bar() as step:
        result = evaluation.analyse(as_of, bootstrap=bootstrap, seed=seed, progress=step)
    analysed = time.perf_counter()
    html = render_html(evaluation.report_inputs(result), lang=lang, blind=blind)
    out.write_text(html, encoding="utf-8")
    rendered = time.perf_counter()
    typer.echo(f"wrote {out} (analysis {analysed - started:.1f} s, rendering {rendered - analysed:.1f} s)")
    if pdf is not None:
        print_pdf(out, pdf)
        typer.echo(f"wrote {pdf}")
