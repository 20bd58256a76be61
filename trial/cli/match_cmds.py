"""`trial match train | recommend | evaluate`: a thin shell over `matcher` (heavy imports inside the commands)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from matcher.schema import DEFAULT_CANDIDATES, EXPOSURE_WINDOW_DAYS
from trial.cli._app import ALLOW_FUTURE, date_option, emit_json, json_option, lang_option, match_app, not_future
from trial.cli._progress import progress_bar
from trial.cli._sources import ALLOW_NETWORK_DRIVE, secret_option

CVS = typer.Option(..., "--cvs", help="CVs: person_id or cpr, cv_text, desired_titles (;-separated), ...")
POSTINGS = typer.Option(..., "--postings", help="Postings from one or more portals (CSV, Parquet or Excel).")
HIRES = typer.Option(..., "--hires", help="Hires: person_id or cpr, posting_id, hired_on.")
MODEL = typer.Option(..., "--model", help="Model folder written by `trial match train`.")
SECRET_FILE = secret_option("for files with cpr instead of person_id")
CANDIDATES = typer.Option(
    None, "--candidates", min=10, help=f"Candidates per citizen before ranking (default {DEFAULT_CANDIDATES})."
)


def cap_options(what: str, window_default: str) -> tuple[typer.models.OptionInfo, typer.models.OptionInfo]:
    """The two exposure-cap options, `--max-per-posting N` and `--window-days W`, with help for `what`."""
    return (
        typer.Option(None, "--max-per-posting", min=1, metavar="N",
                     help=f"{what}: no posting shown to more than N treated citizens within the window."),
        typer.Option(None, "--window-days", min=1, metavar="W",
                     help=f"The cap's window in days (default {window_default})."),
    )


EVAL_CAP, EVAL_WINDOW = cap_options("Also evaluate the model's lists under this cap", str(EXPOSURE_WINDOW_DAYS))
SERVE_CAP, SERVE_WINDOW = cap_options("Cap exposure (default: the protocol's [matching] max_per_posting, if any)",
                                      f"the protocol's [matching] window_days, else {EXPOSURE_WINDOW_DAYS}")


@match_app.command("train")
def train(
    cvs: Path = CVS,
    postings: Path = POSTINGS,
    hires: Path = HIRES,
    out: Path = typer.Option(..., "--out", help="Folder to write the model to."),
    until: date | None = date_option("--until", help="Train on hires up to this date only (hold out later ones)"),
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
    with progress_bar() as bar:
        model = fit(cv_frame, posting_frame, hire_frame, until=until, k=candidates or DEFAULT_CANDIDATES,
                    progress=bar)
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
    json_out: Path | None = json_option("Also write all metrics as JSON to this file ('-' = standard output)."),
    since: date | None = date_option("--since", help="Evaluate hires after this date (default: the model's last)"),
    max_per_posting: int | None = EVAL_CAP,
    window_days: int | None = EVAL_WINDOW,
    secret_file: Path = SECRET_FILE,
    lang: str | None = lang_option(),
) -> None:
    """Compare the model with Jobnet's automatch on hires held out by time: NDCG@10, Recall@10, MRR, the share of
    alternative suggestions (outside the desired titles) and exposure (most citizens per posting within a window,
    Gini, the top 1% of postings' share of slots, coverage), overall and by sex and age band. With
    --max-per-posting, the model's lists are also served day by day under that cap, so its cost is measured.

    Example: trial match evaluate --model m --cvs cvs.csv --postings p.csv --hires hires.csv --max-per-posting 10
    """
    from matcher.evaluate import evaluate as run
    from matcher.exposure import Cap
    from matcher.inputs import read_cvs, read_hires, read_postings
    from matcher.model import MatchModel
    from reports.terminal import show_evaluation
    from trial.cpr import parse_cprs

    loaded = MatchModel.load(model)
    cv_frame = read_cvs(cvs, secret_file=secret_file, demographics=parse_cprs)
    with progress_bar() as bar:
        result = run(loaded, cv_frame, read_postings(postings), read_hires(hires, secret_file=secret_file),
                     since=since, cap=Cap(max_per_posting, window_days or EXPOSURE_WINDOW_DAYS)
                     if max_per_posting else None, progress=bar)
    emit_json(result, json_out, lambda: show_evaluation(result, lang or "en"))


@match_app.command("recommend")
def recommend(
    model: Path = MODEL,
    db: Path = typer.Option(..., "--db", help="The trial ledger: only its treatment arm is served."),
    cvs: Path = CVS,
    postings: Path = POSTINGS,
    out: Path = typer.Option(..., "--out", help="Folder for recommendations.csv and one HTML page per citizen."),
    top: int = typer.Option(10, "--top", min=1, max=100, help="Postings per citizen."),
    as_of: date | None = date_option("--as-of", "--on", help="Serve postings open on this date (default today)"),
    max_per_posting: int | None = SERVE_CAP,
    window_days: int | None = SERVE_WINDOW,
    secret_file: Path = SECRET_FILE,
    allow_future: bool = ALLOW_FUTURE,
    allow_network_drive: bool = ALLOW_NETWORK_DRIVE,
    lang: str | None = lang_option(),
) -> None:
    """Recommend open postings to the treatment arm, with reasons in Danish, and log what is shown in the ledger.

    Citizens the ledger does not have in the treatment arm (control, not enrolled, withdrawn) are refused and
    only counted; they are never scored. Under a cap, the lists with the highest total score are chosen such that
    no posting reaches more than N treated citizens within the window, counting earlier runs in the ledger's log.
    The run's exposure figures (and the automatch's for the same citizens) are printed and saved in summary.json.

    Example: trial match recommend --model model --db bc16.db --cvs cvs.csv --postings postings.csv --out forslag
    """
    day = not_future(as_of, "--as-of", allow_future)
    from matcher.inputs import read_cvs, read_postings
    from matcher.model import MatchModel
    from matcher.pages import write_outputs
    from matcher.serve import log_shown
    from matcher.serve import recommend as serve
    from reports.terminal import show_recommendation_summary
    from trial.ledger import Ledger, checked_secret

    # CVs keyed by CPR number need the ledger's own secret: another would serve no one, or the wrong people.
    key = checked_secret(db, cvs, secret_file)
    loaded = MatchModel.load(model)
    cv_frame = read_cvs(cvs, secret=key, secret_file=secret_file)
    posting_frame = read_postings(postings)
    with Ledger.open(db, allow_network_drive=allow_network_drive) as ledger:
        with progress_bar() as bar:
            result = serve(loaded, ledger, cv_frame, posting_frame, on=day, top=top, max_per_posting=max_per_posting,
                           window_days=window_days, progress=bar)
        write_outputs(result, out, trained_until=str(loaded.meta.get("trained_until", "")))
        logged = log_shown(ledger, result)
        language = lang or ledger.protocol().report.language
    r = result.refused
    typer.echo(f"recommendations for {result.served} citizens in the treatment arm written to {out} "
               f"({len(result.table)} rows; {logged} logged in {db})")
    typer.echo(f"  refused, never scored: {sum(r.values())} (other arm {r['other_arm']}, not enrolled "
               f"{r['not_enrolled']}, withdrawn {r['withdrawn']})")
    if result.summary is not None:
        show_recommendation_summary(result.summary.to_dict(), language)


@match_app.command("shown")
def shown(
    files: list[Path] = typer.Argument(..., help="Ticked lists: lists/<person_id>.csv of a recommend run, or any "
                                                 "table with person_id, posting_id, served_on and a tick column."),
    db: Path = typer.Option(..., "--db", help="The trial ledger whose recommendation log the lists came from."),
    consultant: str | None = typer.Option(None, "--consultant", metavar="ID",
                                          help="The confirming consultant's pseudonym (default: the list's "
                                               "consultant_id, else the consultant it was generated for)."),
    allow_network_drive: bool = ALLOW_NETWORK_DRIVE,
) -> None:
    """Record which recommendations the consultant actually showed: the lists of `trial match recommend` with the
    column `vist` ticked (x, ja, 1 or ✓ = shown; empty, nej or 0 = not shown). The analysis then counts receipt as
    shown, not merely generated. A list read again changes nothing; a changed tick is recorded and counts from then.

    Example: trial match shown forslag/lists/*.csv --db bc16.db
    """
    from matcher.inputs import read_confirmations
    from matcher.serve import record_shown
    from trial.ledger import Ledger

    lists = [read_confirmations(path) for path in files]
    with Ledger.open(db, allow_network_drive=allow_network_drive) as ledger:
        recorded = record_shown(ledger, lists, consultant=consultant)
    typer.echo(f"{sum(len(t) for t in lists)} rows of {len(files)} list(s) for {recorded.citizens} citizens: "
               f"{recorded.shown} shown and {recorded.not_shown} not shown recorded in {db}; {recorded.unchanged} "
               f"already recorded alike, {recorded.changed} changed")
