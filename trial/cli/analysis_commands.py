"""`trial analyse`: the intention-to-treat estimates of a trial as JSON, or a readable summary on the terminal."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

import trial.cli._sources as sources
from trial.cli._app import ALLOW_FUTURE, app, emit_json, json_option, lang_option, language, not_future
from trial.cli._progress import progress_bar


@app.command("analyse")
def analyse_command(
    outcomes: Path = sources.OUTCOMES,
    as_of: date = sources.AS_OF,
    protocol: Path | None = sources.PROTOCOL,
    db: Path | None = sources.DB,
    allocations: Path | None = sources.ALLOCATIONS,
    horizon: int | None = typer.Option(None, "--horizon", min=1, help="Follow-up horizon in days (protocol's)."),
    event: list[str] | None = typer.Option(None, "--event", help="Exit(s) counted as the event (protocol's)."),
    competing_exits: list[str] | None = typer.Option(
        None, "--competing", help="Exit(s) that compete with the event (default: the protocol's other exits)."
    ),
    bootstrap: int | None = sources.BOOTSTRAP,
    seed: int | None = sources.SEED,
    secret_file: Path | None = sources.SECRET_FILE,
    json_file: Path | None = json_option(),
    lang: str | None = lang_option(),
    allow_future: bool = ALLOW_FUTURE,
) -> None:
    """Estimate days on benefit saved (the primary), days saved, hazard ratio, employment rate and more (ITT).

    Example: trial analyse --db trial.db --outcomes spells.csv --as-of 2020-06-30 --json analysis.json
    Exits may be named as registries write them: --event beskæftigelse --competing uddannelse --competing andet.
    """
    not_future(as_of, "--as-of", allow_future)
    from reports.terminal import show_analysis

    evaluation = sources.load(outcomes, protocol, db, allocations, secret_file)
    with progress_bar() as step:
        result = evaluation.analyse(
            as_of, horizon_days=horizon, event_exits=event or None, competing_exits=competing_exits or None,
            bootstrap=bootstrap, seed=seed, progress=step,
        )
    proto = evaluation.protocol
    lang = language(lang, proto)
    labels = {a.name: (a.label_da if lang == "da" else a.label_en) or a.name for a in proto.arms}
    title = f"{proto.id} {proto.version}"
    emit_json(result, json_file, lambda: show_analysis(result, labels, title, lang))
