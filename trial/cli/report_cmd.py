"""`trial report`: the six-month HTML report for DTA (Danish or English, optionally blinded, optionally PDF)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import typer

from trial.cli._app import app, as_date


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    if (db is None) == (allocations is None):
        raise TrialError("give either --db or --allocations, not both or neither")
    if protocol is None and db is None:
        raise TrialError("--protocol is needed with --allocations")
    if out.is_dir():
        raise TrialError(f"--out: {out} is a directory; give the name of the HTML file to write")
    if pdf is not None:
        from reports.render import find_chromium

        if find_chromium() is None:
            raise TrialError("--pdf needs Chromium, which is not installed (Debian: apt-get install chromium)")

    from reports.render import ReportInputs, print_pdf, render_html
    from trial.allocations import load_allocations
    from trial.analysis import analyse
    from trial.outcomes import read_spells
    from trial.protocol import load_protocol

    started = time.perf_counter()
    inputs: dict[str, Any] = {}
    withdrawals = recommendations = screening = None
    ledger_protocol = None
    head = None
    if db is not None:
        from trial.ledger import Ledger

        if not db.is_file():
            raise TrialError(f"{db}: ledger not found")
        with Ledger.open(db) as ledger:
            ledger_protocol = ledger.protocol()
            withdrawals = ledger.withdrawals()
            screening = ledger.screening()
            log = ledger.recommendations()
            recommendations = log if len(log) else None
            head = ledger.head_hash()
            inputs["ledger"] = {"sha256": _sha256(db), "head_hash": head}
    chosen = load_protocol(protocol) if protocol is not None else ledger_protocol
    if protocol is not None:
        inputs["protocol"] = {"sha256": _sha256(protocol)}
        if ledger_protocol is not None and ledger_protocol.fingerprint != chosen.fingerprint:
            raise TrialError(f"{protocol}: differs from the protocol frozen in {db} (record an amendment first)")
    frame = load_allocations(db=db, allocations=allocations, protocol=chosen)
    if allocations is not None:
        inputs["allocations"] = {"sha256": _sha256(allocations)}
    secret = None
    if secret_file is not None:
        from trial.secret import load_secret

        secret = load_secret(secret_file)
    binary = chosen.outcomes.binary
    spells = read_spells(outcomes, secret=secret, extra=(binary.column.lower(),) if binary else ())
    inputs["outcomes"] = {"sha256": _sha256(outcomes)}

    result = analyse(
        chosen,
        frame,
        spells,
        as_date(as_of),
        bootstrap=bootstrap,
        seed=seed,
        withdrawals=withdrawals,
        recommendations=recommendations,
        inputs=inputs,
    )
    analysed = time.perf_counter()
    html = render_html(
        ReportInputs(
            protocol=chosen,
            result=result,
            allocations=frame,
            screening=screening,
            withdrawals=withdrawals,
            ledger_head=head,
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
