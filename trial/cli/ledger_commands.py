"""Analyst commands: protocol check, keygen, init, amend, enrol, verify, status, export, withdraw."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from trial.cli._app import (
    ALLOW_FUTURE,
    app,
    date_option,
    emit_json,
    json_option,
    lang_option,
    language,
    not_future,
    output_path,
    protocol_app,
)
from trial.cli._progress import progress_bar
from trial.cli._sources import ALLOW_NETWORK_DRIVE, secret_option

DB = typer.Option(..., "--db", help="The trial ledger (SQLite file).")
SECRET_FILE = secret_option("which keys the pseudonyms and the allocation sequence")


@protocol_app.command("check")
def protocol_check_command(file: Path = typer.Argument(..., help="Protocol TOML file.")) -> None:
    """Validate a protocol, print its summary and fingerprint.

    Example: trial protocol check protocols/bc16-jobmatch.toml
    """
    from trial.analysis import primary_effect_name
    from trial.interim import planned_looks
    from trial.protocol import load_protocol

    p = load_protocol(file)
    e = p.eligibility
    rules = []
    if e.education_level:
        rules.append(f"education_level in {e.education_level}")
    if e.benefit:
        rules.append(f"benefit in {e.benefit}")
    if e.has_cv is not None:
        rules.append(f"has_cv = {str(e.has_cv).lower()}")
    if e.max_days_registered is not None:
        rules.append(f"registered at most {e.max_days_registered} days before enrolment")
    rules += [f"{k} = {v}" for k, v in e.require.items()]
    arms = ", ".join(f"{a.name} ({a.role}, {a.ratio})" for a in p.arms)
    o = p.outcomes
    lines = [
        f"{p.id} {p.version}: {p.title}",
        f"  eligibility:   {'; '.join(rules) or 'everyone'}",
        f"  arms:          {arms}",
        f"  randomisation: permuted blocks of {p.randomisation.block_sizes} within "
        f"{' × '.join(p.randomisation.strata) or 'one stratum'}",
        f"  outcomes:      {o.primary}; event {o.event_exits}, competing {o.competing_exits}, "
        f"horizon {o.horizon_days} days" + (f"; binary '{o.binary.name}'" if o.binary else ""),
        f"  analysis:      alpha {p.analysis.alpha} ({p.analysis.sided}-sided), covariates {p.analysis.covariates}, "
        f"looks at {p.analysis.looks_months or '-'} months",
        f"  primary:       {primary_effect_name(p)}; each look decides on "
        f"{'it' if p.analysis.primary_test == 'primary_estimand' else p.analysis.primary_test}, "
        f"information by {p.analysis.information}",
        *_look_lines(p, planned_looks(p)),
        f"  registration:  {p.registration or 'not registered'}",
        f"  report:        language {p.report.language}, smallest cell {p.report.min_cell}",
        f"  finance:       {len(p.finance.target_groups)} target group(s), investment "
        f"{p.finance.investment:,.0f} {p.finance.currency}, haircut {p.finance.haircut}",
        f"fingerprint: {p.fingerprint}",
    ]
    typer.echo("\n".join(lines))


def _look_lines(p: Any, looks: list[dict[str, Any]]) -> list[str]:
    """One line per planned look: its information, boundary and what it needs (events, SE) when the protocol says."""
    lines = []
    for look in looks:
        line = (f"{look['month']} months: information {look['information_fraction']:.2f}, |z| ≥ "
                f"{look['z_boundary']:.3f} (two-sided p ≤ {look['p_boundary_two_sided']:.4f})")
        if look["events"] is not None:
            line += f", needs {look['events']:,.0f} events"
        if look["se"] is not None:
            line += f", SE {look['se']:.2f}: crosses if the estimate exceeds {look['smallest_crossing']:.2f}"
        lines.append(f"  {'looks:' if not lines else '':<15}{line}")
    return lines or ["  looks:         none planned: one analysis at the full alpha"]


@app.command("keygen")
def keygen_command(
    file: Path = typer.Argument(..., help="Where to write the new secret (its folder is created)."),
) -> None:
    """Write a new random trial secret with mode 0600 (never overwrites), creating its folder with mode 0700.

    Keep it apart from the ledger: it keys the pseudonyms and the allocation sequence. Only a new trial needs a
    new secret: a ledger refuses any secret but the one it was created with.

    Example: trial keygen ~/.trial/bc16.key
    """
    from trial.secret import keygen as make

    typer.echo(f"wrote a new secret to {make(file)} (mode 0600); back it up safely — it cannot be recovered")


@app.command("init")
def init_command(
    protocol: Path = typer.Option(..., "--protocol", help="Protocol TOML file to freeze in the ledger."),
    db: Path = DB,
    secret_file: Path | None = SECRET_FILE,
    allow_network_drive: bool = ALLOW_NETWORK_DRIVE,
) -> None:
    """Create a new ledger with the protocol frozen in it and a check of the secret; a file is never overwritten.

    From then on every command refuses a secret other than this one. A two-stage protocol needs the secret here: each
    cluster's saturation is drawn from it and frozen in the ledger.

    Example: trial init --protocol protocols/bc16-jobmatch.toml --db bc16.db --secret-file ~/.trial/bc16.key
    """
    from trial.ledger import Ledger
    from trial.protocol import load_protocol
    from trial.secret import load_secret, secret_given

    p = load_protocol(protocol)
    key = load_secret(secret_file) if secret_given(secret_file) else None
    text = protocol.read_text(encoding="utf-8")
    with Ledger.create(db, p, text, secret=key, allow_network_drive=allow_network_drive) as ledger:
        typer.echo(f"created {db} for {p.id} {p.version}; protocol fingerprint {p.fingerprint}")
        typer.echo("key check of the secret stored: any other secret will be refused" if key is not None else
                   "no secret given: the first command that uses one stores its key check")
        drawn = ledger.cluster_saturations()
        if drawn is not None:
            counts = {level: sum(s == level for s in drawn.values()) for level in sorted(set(drawn.values()))}
            typer.echo(f"two-stage design: the saturations of {len(drawn)} clusters drawn from the secret and frozen ("
                       + ", ".join(f"{n} at {level:g}" for level, n in counts.items()) + "); see trial status")
        typer.echo(f"ledger head {ledger.head_hash()}")


@app.command("amend")
def amend_command(
    protocol: Path = typer.Option(..., "--protocol", help="The amended protocol file."),
    db: Path = DB,
    reason: str = typer.Option(..., "--reason", help="Why the protocol changed."),
    allow_network_drive: bool = ALLOW_NETWORK_DRIVE,
) -> None:
    """Record a protocol amendment in the ledger (arms and randomisation cannot change).

    Example: trial amend --protocol protocols/bc16-jobmatch.toml --db bc16.db --reason "Subgroup added"
    """
    from trial.ledger import Ledger
    from trial.protocol import load_protocol

    p = load_protocol(protocol)
    with Ledger.open(db, allow_network_drive=allow_network_drive) as ledger:
        ledger.amend(p, protocol.read_text(encoding="utf-8"), reason)
        typer.echo(f"amendment recorded: {p.id} {p.version}, fingerprint {p.fingerprint}")


@app.command("enrol")
def enrol_command(
    file: Path = typer.Argument(..., help="Claimant extract: CSV (comma or semicolon), Parquet or Excel."),
    db: Path = DB,
    as_of: date | None = date_option("--as-of", help="Enrolment date; default today"),
    out: Path = typer.Option(
        None, "--out", help="Write the analyst's list (cpr, arm; both arms) here. Not for the consultants."
    ),
    treatment_out: Path = typer.Option(
        None, "--treatment-out", help="Write the treatment arm's list (cpr, arm) for the consultants here."
    ),
    secret_file: Path = SECRET_FILE,
    protocol: Path = typer.Option(None, "--protocol", help="Refuse unless this protocol is the ledger's active one."),
    lang: str | None = lang_option(),
    allow_future: bool = ALLOW_FUTURE,
    allow_network_drive: bool = ALLOW_NETWORK_DRIVE,
) -> None:
    """Screen a claimant extract, pseudonymise, randomise the eligible and append them to the ledger.

    Idempotent: people enrolled before keep their arm. The whole file is checked first; nothing is stored from a
    file with an error, or under a secret other than the ledger's.

    Example: trial enrol claimants-2026-W48.csv --db bc16.db --secret-file ~/.trial/bc16.key --out list.csv
    """
    day = not_future(as_of, "--as-of", allow_future)
    from reports.terminal import show_enrolment
    from trial.enrol import check_roster_target, enrol_file, write_roster
    from trial.ledger import Ledger
    from trial.protocol import load_protocol
    from trial.screening import reason_label
    from trial.secret import load_secret

    key = load_secret(secret_file)
    for target in (out, treatment_out):
        if target is not None:
            check_roster_target(output_path(target))
    wanted = load_protocol(protocol) if protocol else None
    with Ledger.open(db, allow_network_drive=allow_network_drive) as ledger:
        lang = language(lang, ledger.protocol())
        with progress_bar() as bar:
            result = enrol_file(ledger, file, secret=key, as_of=day, protocol=wanted, progress=bar)
    lists = []
    if out is not None:
        write_roster(result.roster, out)
        n = len(result.roster)
        lists.append(
            f"analyst's list (cpr, arm; both arms) for {n} people written to {out} (mode 0600); "
            "not for the consultants"
            if lang == "en"
            else f"analytikerens liste (cpr, arm; begge arme) for {n} personer skrevet til {out} (tilstand 0600); "
            "ikke til konsulenterne"
        )
    if treatment_out is not None:
        write_roster(result.treatment_roster, treatment_out)
        n = len(result.treatment_roster)
        lists.append(
            f"treatment arm's list (cpr, arm) for the consultants: {n} people written to {treatment_out} (mode 0600)"
            if lang == "en"
            else f"indsatsgruppens liste (cpr, arm) til konsulenterne: {n} personer skrevet til {treatment_out} "
            "(tilstand 0600)"
        )
    show_enrolment(
        {
            "file": str(file),
            "as_of": day.isoformat(),
            "read": result.read,
            "blank_rows": result.blank_rows,
            "duplicate_rows": result.duplicate_rows,
            "excluded": {code: (reason_label(code, lang), n) for code, n in result.excluded.items()},
            "already_enrolled": result.already_enrolled,
            "enrolled": result.enrolled,
            "lists": lists,
        },
        lang,
    )


@app.command("verify")
def verify_command(
    db: Path = DB,
    secret_file: Path = SECRET_FILE,
    allow_network_drive: bool = ALLOW_NETWORK_DRIVE,
) -> None:
    """Prove the ledger is intact: recompute the hash chain and, with the secret, regenerate every allocation.

    Exit code 0 when intact, 1 naming the first bad row, 2 for a secret other than the ledger's. A ledger made
    without a key check gets one here once the secret has regenerated its allocations.

    Example: trial verify --db bc16.db --secret-file ~/.trial/bc16.key
    """
    from trial.audit import audit
    from trial.ledger import Ledger
    from trial.secret import load_secret, secret_given

    key = load_secret(secret_file) if secret_given(secret_file) else None
    with Ledger.open(db, allow_network_drive=allow_network_drive) as ledger:
        if key is not None and ledger.verify_chain().ok:
            with ledger.transaction():
                ledger.check_secret(key)
        result = audit(ledger, key)
    if not result.ok:
        typer.echo(f"NOT INTACT: {result.allocation_problem or result.chain.message}", err=True)
        raise typer.Exit(1)
    typer.echo(f"intact: {result.chain.message}")
    if result.clusters_checked is not None:
        typer.echo(f"cluster saturations regenerated from the secret: {result.clusters_checked} match")
    if result.allocations_checked is None:
        typer.echo("allocations not regenerated: no secret given (--secret-file, $TRIAL_SECRET_FILE or $TRIAL_SECRET)")
    else:
        typer.echo(f"allocations regenerated from the secret: {result.allocations_checked} match")


@app.command("status")
def status_command(
    db: Path = DB,
    json_file: Path | None = json_option(),
    lang: str | None = lang_option(),
) -> None:
    """Enrolment by arm, stratum and ISO week; imbalance; baseline balance (SMD); withdrawals; people screened.

    The screening counts people once each, as the report's CONSORT flow does; rows and re-runs are data handling.

    Example: trial status --db bc16.db --json status.json
    """
    from reports.terminal import show_status
    from trial.ledger import Ledger
    from trial.status import status as summarise

    with Ledger.open(db, read_only=True) as ledger:
        protocol = ledger.protocol()
        report = summarise(ledger.allocations(), protocol, withdrawals=ledger.withdrawals(), runs=ledger.screening(),
                           saturations=ledger.cluster_saturations())
        report["ledger_head"] = ledger.head_hash()
    emit_json(report, json_file, lambda: show_status(report, protocol.arm_names, language(lang, protocol)))


@app.command("export")
def export_command(
    db: Path = DB,
    out: Path = typer.Option(..., "--out", help="CSV file to write (its folder is created)."),
) -> None:
    """Export the allocations: person_id, arm, stratum, randomised_on and the baseline covariates.

    A two-stage ledger adds each person's cluster and its saturation.

    Example: trial export --db bc16.db --out allocations.csv
    """
    from trial.ledger import Ledger

    with Ledger.open(db, read_only=True) as ledger:
        frame = ledger.allocations()
        covariates = [c for c in ("sex", "age", "age_band", "education_field", *ledger.protocol().analysis.covariates)
                      if c in frame.columns]
        clusters = ["cluster", "saturation"] if ledger.cluster_saturations() is not None and len(frame) else []
    columns = ["person_id", "arm", "stratum", "randomised_on", *clusters, *dict.fromkeys(covariates)]
    frame = frame[columns].copy()
    frame["randomised_on"] = frame["randomised_on"].dt.strftime("%Y-%m-%d")
    frame.to_csv(output_path(out), index=False)
    typer.echo(f"wrote {len(frame)} allocations to {out}")


@app.command("withdraw")
def withdraw_command(
    person_id: str | None = typer.Argument(None, help="The person's pseudonym (person_id, as in trial export)."),
    cpr: str | None = typer.Option(
        None, "--cpr", help="The person's CPR number instead, pseudonymised with the secret; '-' reads it from "
        "standard input, which keeps it out of the shell history.",
    ),
    reason: str = typer.Option(..., "--reason", help="Why the person withdrew (never a CPR number)."),
    db: Path = DB,
    on: date | None = date_option("--on", help="Date of withdrawal, from randomisation to today; default today"),
    secret_file: Path = SECRET_FILE,
    allow_future: bool = ALLOW_FUTURE,
    allow_network_drive: bool = ALLOW_NETWORK_DRIVE,
) -> None:
    """Record a withdrawal, by pseudonym or CPR number; the person stays in the intention-to-treat analysis.

    Example: trial withdraw --cpr - --reason "Flyttet fra kommunen" --db bc16.db --secret-file ~/.trial/bc16.key
    """
    import sys

    from trial.errors import TrialError

    if (person_id is None) == (cpr is None):
        raise TrialError("give the person's pseudonym or --cpr, one of the two")
    day = not_future(on, "--on", allow_future)
    from trial.ledger import Ledger
    from trial.secret import load_secret

    key = load_secret(secret_file) if cpr is not None else None
    person = (sys.stdin.readline().strip() if cpr == "-" else cpr) if cpr is not None else str(person_id)
    with Ledger.open(db, allow_network_drive=allow_network_drive) as ledger:
        pseudonym = ledger.withdraw(person, reason, day, secret=key)
    who = "the person with this CPR number" if cpr is not None else pseudonym
    typer.echo(f"withdrawal of {who} on {day.isoformat()} recorded; they stay in the intention-to-treat analysis")
