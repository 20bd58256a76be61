"""`trial match train | recommend | evaluate`: a thin shell over `matcher` (heavy imports inside the commands)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from trial.cli._app import as_date, match_app

CVS = typer.Option(..., "--cvs", help="CVs: person_id or cpr, cv_text, desired_titles (;-separated), ...")
POSTINGS = typer.Option(..., "--postings", help="Postings from one or more portals (CSV, Parquet or Excel).")
HIRES = typer.Option(..., "--hires", help="Hires: person_id or cpr, posting_id, hired_on.")
MODEL = typer.Option(..., "--model", help="Model folder written by `trial match train`.")
SECRET_FILE = typer.Option(
    None, "--secret-file", help="Trial secret for files with cpr instead of person_id. Default: $TRIAL_SECRET."
)
CANDIDATES = typer.Option(None, "--candidates", min=10, help="Candidates per citizen before ranking (default 300).")


def _progress(message: str) -> None:
    # Progress goes to stderr, so stdout stays the result.
    if sys.stderr.isatty():
        typer.echo(f"  {message}", err=True)


@match_app.command("train")
def train(
    cvs: Path = CVS,
    postings: Path = POSTINGS,
    hires: Path = HIRES,
    out: Path = typer.Option(..., "--out", help="Folder to write the model to."),
    until: str = typer.Option(None, "--until", help="Train on hires up to this date only (hold out later ones)."),
    candidates: int = CANDIDATES,
    secret_file: Path = SECRET_FILE,
) -> None:
    """Train the LightGBM ranker on past hires and save it with its features, data hash, parameters and metrics.

    Example: trial match train --cvs cvs.csv --postings postings.csv --hires hires.csv --until 2025-06-30 --out model
    """
    from matcher.inputs import read_cvs, read_hires, read_postings
    from matcher.train import train as fit

    cv_frame = read_cvs(cvs, secret_file=secret_file)
    hire_frame = read_hires(hires, secret_file=secret_file)
    posting_frame = read_postings(postings)
    model = fit(cv_frame, posting_frame, hire_frame, until=as_date(until, "--until") if until else None,
                k=candidates or 300, progress=_progress)
    model.save(out)
    m = model.meta["metrics"]
    typer.echo(f"model written to {out}: {m['queries']} citizens, {m['candidate_pairs']:,} candidate pairs, "
               f"validation NDCG@10 {m['validation_ndcg_at_10']:.3f}, trained until {model.meta['trained_until']} "
               f"({m['seconds_total']:.0f} s)")
    skipped = m["hires_unknown_posting"] + m["hires_without_cv"] + m["hires_not_retrieved"]
    if skipped:
        typer.echo(f"  hires not used: {m['hires_unknown_posting']} with an unknown posting, {m['hires_without_cv']} "
                   f"without a CV, {m['hires_not_retrieved']} not among the candidates")


@match_app.command("evaluate")
def evaluate(
    model: Path = MODEL,
    cvs: Path = CVS,
    postings: Path = POSTINGS,
    hires: Path = HIRES,
    json_out: Path = typer.Option(None, "--json", help="Also write all metrics as JSON here."),
    since: str = typer.Option(None, "--since", help="Evaluate hires after this date (default: the model's last)."),
    secret_file: Path = SECRET_FILE,
) -> None:
    """Compare the model with Jobnet's automatch on hires held out by time: NDCG@10, Recall@10, MRR, the share of
    alternative suggestions (outside the desired titles) and coverage, overall and by sex and age band.

    Example: trial match evaluate --model model --cvs cvs.csv --postings postings.csv --hires hires.csv --json eval.json
    """
    from matcher.evaluate import evaluate as run
    from matcher.inputs import read_cvs, read_hires, read_postings
    from matcher.model import MatchModel
    from trial.cpr import parse_cprs

    loaded = MatchModel.load(model)
    cv_frame = read_cvs(cvs, secret_file=secret_file, demographics=parse_cprs)
    result = run(loaded, cv_frame, read_postings(postings), read_hires(hires, secret_file=secret_file),
                 since=as_date(since, "--since") if since else None, progress=_progress)
    t = result["test"]
    typer.echo(f"held-out hires after {t['since']}: {t['hires']} (hire among the candidates: "
               f"{t['hire_among_candidates']:.0%})")
    typer.echo(f"{'':10} {'NDCG@10':>8} {'Recall@10':>10} {'MRR':>7} {'alternatives':>13} {'coverage':>9}")
    for name in ("model", "baseline"):
        r = result[name]
        typer.echo(f"{name:10} {r['ndcg_at_10']:8.3f} {r['recall_at_10']:10.3f} {r['mrr']:7.3f} "
                   f"{r['alternative_share']:13.0%} {r['coverage']:9.1%}")
    if result["ndcg_ratio"] is not None:
        typer.echo(f"NDCG@10 model / automatch: {result['ndcg_ratio']:.2f}")
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        typer.echo(f"metrics written to {json_out}")


@match_app.command("recommend")
def recommend(
    model: Path = MODEL,
    db: Path = typer.Option(..., "--db", help="The trial ledger: only its treatment arm is served."),
    cvs: Path = CVS,
    postings: Path = POSTINGS,
    out: Path = typer.Option(..., "--out", help="Folder for recommendations.csv and one HTML page per citizen."),
    top: int = typer.Option(10, "--top", min=1, max=100, help="Postings per citizen."),
    on: str = typer.Option(None, "--on", help="Serve postings open on this date (default today)."),
    secret_file: Path = SECRET_FILE,
) -> None:
    """Recommend open postings to the treatment arm, with reasons in Danish, and log what is shown in the ledger.

    Citizens the ledger does not have in the treatment arm (control, not enrolled, withdrawn) are refused and
    only counted; they are never scored.

    Example: trial match recommend --model model --db bc16.db --cvs cvs.csv --postings postings.csv --out forslag
    """
    from matcher.inputs import read_cvs, read_postings
    from matcher.model import MatchModel
    from matcher.pages import write_outputs
    from matcher.serve import log_shown
    from matcher.serve import recommend as serve
    from trial.ledger import Ledger

    loaded = MatchModel.load(model)
    cv_frame = read_cvs(cvs, secret_file=secret_file)
    posting_frame = read_postings(postings)
    with Ledger.open(db) as ledger:
        result = serve(loaded, ledger, cv_frame, posting_frame, on=as_date(on, "--on"), top=top, progress=_progress)
        write_outputs(result, out, trained_until=str(loaded.meta.get("trained_until", "")))
        logged = log_shown(ledger, result)
    r = result.refused
    typer.echo(f"recommendations for {result.served} citizens in the treatment arm written to {out} "
               f"({len(result.table)} rows; {logged} logged in {db})")
    typer.echo(f"  refused, never scored: {sum(r.values())} (other arm {r['other_arm']}, not enrolled "
               f"{r['not_enrolled']}, withdrawn {r['withdrawn']})")
