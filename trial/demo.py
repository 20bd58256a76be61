"""The end-to-end story of `trial demo`: a simulated trial run through every step of the toolkit into one folder.

Each step calls the library, as a notebook would, and prints one line of what it did.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from trial.errors import TrialError

if TYPE_CHECKING:
    from matcher.model import MatchModel
    from trial.evaluation import Evaluation
    from trial.results import AnalysisResult, SavingsResult

DEMO_CLAIMANTS = 16_000
DEMO_POSTINGS = 15_000
DEMO_HISTORY = 4_000  # the matcher's training cohort: enough hires to learn from, quick enough for the demo
DEMO_EFFECT_DAYS = 14.0
DEMO_UPTAKE = 0.75
DEMO_DISPLACEMENT = 0.5  # two-stage demo: half the treated's gain taken from others in their jobcentre
MARKER = ".trial-demo"
Say = Callable[[str], None]
Progress = Callable[..., None]  # progress(message, done=None, total=None)


def _quiet(_message: str, _done: int | None = None, _total: int | None = None) -> None:
    """A progress callback that shows nothing."""


def prepare_folder(out: Path) -> None:
    """Create `out`; a folder left by an earlier demo is replaced, any other non-empty folder is refused."""
    if out.exists() and not out.is_dir():
        raise TrialError(f"{out} is a file, not a folder")
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise TrialError(f"{out} is not empty and was not made by trial demo; choose a new folder")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by trial demo; the whole folder is replaced by the next demo run\n")


def extract_date(path: Path) -> date:
    """The enrolment date of a weekly extract: the Monday of the ISO week in its name (week-YYYY-WW.csv)."""
    _, year, week = path.stem.split("-")
    return date.fromisocalendar(int(year), int(week), 1)


def weekly_files(data: Path, until: date) -> list[tuple[Path, date]]:
    """The weekly extracts dated on or before `until`, oldest first."""
    files = sorted((p for p in (data / "claimants").glob("week-*.csv")), key=extract_date)
    return [(p, extract_date(p)) for p in files if extract_date(p) <= until]


def init_and_enrol(
    data: Path, db: Path, as_of: date, protocol_path: Path, progress: Progress = _quiet
) -> dict[str, Any]:
    """`trial init` then `trial enrol` of every weekly file up to the data cut, in order; returns the totals."""
    from trial.enrol import enrol_file
    from trial.ledger import Ledger
    from trial.protocol import load_protocol
    from trial.secret import load_secret

    protocol = load_protocol(protocol_path)
    secret = load_secret(data / "secret.key")
    files = weekly_files(data, as_of)
    totals: dict[str, Any] = {"files": len(files), "read": 0, "excluded": 0, "already_enrolled": 0, "enrolled": {}}
    # A two-stage protocol draws its clusters' saturations from the secret at init.
    key = secret if protocol.randomisation.two_stage else None
    with Ledger.create(db, protocol, protocol_path.read_text(encoding="utf-8"), secret=key) as ledger:
        for number, (path, day) in enumerate(files, start=1):
            progress(f"enrol {path.name}", number - 1, len(files))
            result = enrol_file(ledger, path, secret=secret, as_of=day, protocol=protocol)
            totals["read"] += result.read
            totals["excluded"] += sum(result.excluded.values())
            totals["already_enrolled"] += result.already_enrolled
            for arm, n in result.enrolled.items():
                totals["enrolled"][arm] = totals["enrolled"].get(arm, 0) + n
    return totals


def demo_evaluation(data: Path, db: Path) -> Evaluation:
    """The evaluation's inputs: the ledger and the simulated registry spells (CPR numbers keyed by the demo secret)."""
    from trial.evaluation import load_evaluation
    from trial.secret import load_secret

    return load_evaluation(data / "spells.csv", db=db, secret=load_secret(data / "secret.key"))


def analyse_trial(
    data: Path, db: Path, as_of: date, *, bootstrap: int | None = None, seed: int | None = None
) -> AnalysisResult:
    """`trial analyse` on the ledger and the simulated registry spells at the data cut."""
    return demo_evaluation(data, db).analyse(as_of, bootstrap=bootstrap, seed=seed)


def _trained(data: Path, cvs: pd.DataFrame, postings: pd.DataFrame, hires: pd.DataFrame, progress: Progress
             ) -> MatchModel:  # fmt: skip
    """`trial match train` on the files; the simulator's model of the same files (data/model) where it has one, since
    training is deterministic and twice would only cost time.
    """
    from matcher.inputs import frame_hash
    from matcher.model import MatchModel
    from matcher.train import train

    if (data / "model" / "model.json").is_file():
        model = MatchModel.load(data / "model")
        if model.meta.get("training_data_sha256") == frame_hash(cvs, postings, hires):
            return model
    return train(cvs, postings, hires, progress=lambda message: progress(f"match train: {message}"))


def shown_beside_truth(shown: dict[str, Any]) -> list[str]:
    """Each serving policy's true days on benefit saved when the effect runs through what was shown, with the
    exposure of its lists (truth.json's `shown`)."""
    lines = [f"  if the effect ran through what was shown (a run of the job market on the same claimants, displacement "
             f"{shown['displacement']:g}; lists valued by the market's own utility, one hire per posting; "
             f"{shown['served']} treated served at their meeting), true days on benefit saved per treatment-arm "
             "member, and exposure:"]
    mean = shown["uncapped_mean_exposure"]
    for name, policy in shown["policies"].items():
        if name == "model":
            label = "model, no cap"
        elif name == "automatch":
            label = "Jobnet automatch"
        else:
            cap = int(name.removeprefix("model_cap_"))
            why = "the protocol's" if cap in shown["protocol_caps"] else \
                f"{shown['relative_cap']:g} × the uncapped mean {mean:.1f}"
            label = f"model, cap {cap} ({why})"
        saved, exposure = policy["days_on_benefit_saved"], policy["exposure"]
        lines.append(
            f"    {label}: {_one(saved['treatment_arm'], '.2f')} days (control arm "
            f"{_one(saved['control_arm'], '+.2f')}, net {_one(saved['net_per_treatment_arm_member'], '.2f')}); max "
            f"{exposure['max_per_posting']} per posting in {shown['window_days']} days, Gini {exposure['gini']:.2f}, "
            f"top-1% share {exposure['top1pct_share']:.1%}, "
            f"{policy['alternative_share']:.0%} outside the desired titles")
    return lines


def _match_step(out: Path, data: Path, db: Path, say: Say, progress: Progress) -> dict[str, Any]:
    """`trial match train` on the historical hires, then `trial match recommend` for each month's meetings.

    Everyone at a meeting is passed to the matcher; it serves the treatment arm and refuses (and counts) the rest,
    which is the guard that keeps the control arm from ever receiving recommendations.
    """
    if not (data / "cvs.csv").exists():
        say("  skipped: the simulation wrote no CVs, postings or hires")
        return {}
    from matcher.inputs import read_cvs, read_hires, read_postings
    from trial.secret import load_secret, pseudonymise

    secret = load_secret(data / "secret.key")
    cvs = read_cvs(data / "cvs.csv", secret=secret)
    postings = read_postings(data / "postings.csv")
    hires = read_hires(data / "hires.csv", secret=secret)
    model = _trained(data, cvs, postings, hires, progress)
    model.save(out / "model")
    metrics = model.meta.get("metrics", {})
    say(f"  trained on {metrics.get('hires_linked', len(hires))} historical hires, validation NDCG@10 "
        f"{metrics.get('validation_ndcg_at_10', float('nan')):.3f}; model saved in {out / 'model'}")
    summary: dict[str, Any] = {"hires": metrics.get("hires_linked"), "ndcg_at_10": metrics.get("validation_ndcg_at_10")}
    from datetime import datetime, time

    from matcher.serve import log_shown, recommend
    from trial.ledger import Ledger

    meetings = pd.read_csv(data / "meetings.csv", dtype=str, keep_default_na=False)
    meetings["person_id"] = pseudonymise(meetings["cpr"], secret)
    meetings = meetings.drop(columns="cpr")  # the CPR numbers stay in the data folder
    served = refused = shown = 0
    tables = []
    with Ledger.open(db) as ledger:
        months = sorted(meetings["met_on"].str.slice(0, 7).unique())
        for number, month in enumerate(months, start=1):
            group = meetings[meetings["met_on"].str.startswith(month)]
            # One run a month, on its last meeting day, so nobody is shown postings before their meeting.
            day = date.fromisoformat(group["met_on"].max())
            progress(f"match recommend {month}", number - 1, len(months))
            people = cvs[cvs["person_id"].isin(group["person_id"])].reset_index(drop=True)
            result = recommend(model, ledger, people, postings, on=day)
            served += result.served
            refused += sum(result.refused.values())
            shown += log_shown(ledger, result, datetime.combine(day, time(10, 0)))
            tables.append(result.table)
    if tables:
        pd.concat(tables, ignore_index=True).to_csv(out / "recommendations.csv", index=False)
    say(f"  {len(meetings)} people at a meeting: recommendations for {served} in the treatment arm, "
        f"{refused} refused (control arm or not enrolled, the guard); {shown} recommendations logged in the ledger")
    return summary | {"served": served, "refused": refused, "logged": shown}


def _report_step(
    out: Path, evaluation: Evaluation, result: AnalysisResult, savings: SavingsResult, say: Say
) -> Path:
    """Render the six-month HTML report from the analysis and the ledger's counts."""
    from reports.render import render_html

    path = out / "report.html"
    path.write_text(render_html(evaluation.report_inputs(result, savings)), encoding="utf-8")
    say(f"  written: {path}")
    return path


def record_label(result: AnalysisResult) -> str:
    """What the interval of record is called at this look: repeated at an interim look, at the final boundary."""
    interim = result.interim
    if interim is None or not interim.planned_months or interim.look == 0:
        return "95% CI"
    return "95% CI at the final boundary" if interim.final else "repeated 95% CI"


def _interval(effect: Any, result: AnalysisResult) -> str:
    """The interval of record and, where it differs, the nominal one beside it."""
    low, high = effect.ci
    nominal = "" if low is None or high is None else f"95% CI {low:.1f} to {high:.1f}"
    label = record_label(result)
    if label == "95% CI" or effect.rci is None:
        return f" ({nominal})" if nominal else ""
    return f" ({label} {effect.rci[0]:.1f} to {effect.rci[1]:.1f}; nominal {nominal})"


def estimates_beside_truth(result: AnalysisResult, truth: dict[str, Any]) -> list[str]:
    """One line per estimand of the analysis with the simulator's true value on the same scale."""
    effects = result.effects
    on_benefit = truth.get("itt_benefit_days_saved")
    rows: list[tuple[str, Any, float | None]] = [
        ("days on benefit saved, adjusted for the strata", effects.benefit_days_saved_adjusted, on_benefit),
        ("days on benefit saved (index spell, any exit)", effects.benefit_days_saved, on_benefit),
    ]
    windows = truth.get("itt_benefit_days_all_spells_saved", {})
    for window, effect in (effects.benefit_days_all_spells_saved or {}).items():
        rows.append((f"days on any benefit in the first {window} days saved", effect, windows.get(window)))
    rows.append(("days saved (time to a job, other exits censored)", effects.days_saved, truth.get("itt_days_saved")))
    lines = []
    primary = result.primary.name if result.primary is not None else None
    for label, effect, true in rows:
        if effect is None:
            continue
        mark = " [primary]" if effect is getattr(effects, primary or "", None) else ""
        shown = "not yet estimable" if effect.estimate is None else f"{effect.estimate:.1f}{_interval(effect, result)}"
        lines.append(f"  {label}{mark}: {shown}; truth {'–' if true is None else f'{true:.1f}'}")
    return lines


def _savings_step(out: Path, evaluation: Evaluation, result: AnalysisResult, say: Say) -> SavingsResult:
    """`trial savings --analysis --db`: the protocol's days estimand × eligible persons a year from the ledger.

    A two-stage analysis gives the net effect (displacement included), with the gross (direct) one beside it.
    """
    from trial.savings import effects_of, eligible_from_ledger
    from trial.savings import savings as savings_of

    eligible = eligible_from_ledger(evaluation.screening) if evaluation.screening is not None else None
    # As `trial savings --analysis` does: the interval of record, the repeated one at a planned look.
    found = effects_of(result, evaluation.protocol, out / "analysis.json")
    gross, days = found["gross"], found["days_saved"]
    savings = savings_of(
        evaluation.protocol, days, found["ci"], effect_name=found["name"], effect_note=found["note"],
        eligible=eligible, gross=gross, design="two_stage" if gross is not None else None,
    )  # fmt: skip
    (out / "savings.json").write_text(savings.to_json() + "\n", encoding="utf-8")
    pop, currency = savings.trial_population, savings.currency
    level = record_label(result)
    if pop is not None:
        span = "" if pop.per_year.ci is None else f" ({level} {pop.per_year.ci[0]:,.0f} to {pop.per_year.ci[1]:,.0f})"
        say(f"  the trial's population: {pop.persons_per_year:,.0f} eligible a year ({pop.persons_source}) × "
            f"{days:.1f} days on benefit × {pop.cost_per_calendar_day:,.0f} {currency} a calendar day = "
            f"{pop.per_year.estimate:,.0f} {currency} a year{span}")
        years = savings.appraisal.years if savings.appraisal is not None else 1
        npv_span = "" if pop.npv.ci is None else f" ({level} {pop.npv.ci[0]:,.0f} to {pop.npv.ci[1]:,.0f})"
        say(f"  net present value over {years} years: {pop.npv.estimate:,.0f} {currency}{npv_span}; break-even "
            f"{pop.break_even_days:.2f} days on benefit per person")
    shown = savings.displacement
    if shown is not None and shown.gross is not None and shown.gross_per_year is not None and pop is not None:
        say(f"  gross (the direct effect, {shown.gross.estimate:.1f} days): {shown.gross_per_year.estimate:,.0f} "
            f"{currency} a year; net (displacement included, {days:.1f} days): "
            f"{pop.per_year.estimate:,.0f} {currency} a year")
    if found["note"]:
        say(f"  {found['note']}")
    for group in savings.target_groups:
        say(f"  scenario, assuming the effect holds for {group.label_en}: {group.per_year.estimate:,.0f} "
            f"{currency} a year")
    say(f"  written: {out / 'savings.json'}")
    return savings


def spillover_beside_truth(result: AnalysisResult, truth: dict[str, Any]) -> list[str]:
    """A two-stage trial's four estimands (pooled and by saturation) beside the simulator's truth."""
    found = result.effects.spillover
    if found is None:
        return ["  the two-stage estimands could not be estimated at this data cut"]
    labels = {"direct": "direct effect (treated vs untreated, same jobcentres) [primary]",
              "total_on_treated": "total effect on the treated (vs pure-control jobcentres)",
              "spillover_on_untreated": "spillover on the untreated (negative = displacement)",
              "net_per_person": "net effect per person in treated jobcentres (what finance multiplies)"}
    lines = ["  days on benefit saved, cluster-bootstrap 95% intervals:"]
    for name, label in labels.items():
        effect, true = getattr(found, name), truth.get(name)
        shown = "–" if effect is None or effect.estimate is None else \
            f"{effect.estimate:.1f}{_interval(effect, result)}"
        lines.append(f"  {label}: {shown}; truth {_one(true)}")
    for key, level in found.by_saturation.items():
        true = truth.get("by_saturation", {}).get(key, {})
        parts = [f"{name.split('_')[0]} {_one(getattr(level, name).estimate)} (truth {_one(true.get(name))})"
                 for name in labels if getattr(level, name) is not None]
        lines.append(f"    at {float(key):.0%} treated: " + ", ".join(parts))
    return lines


def run_demo(
    out: str | Path,
    *,
    claimants: int = DEMO_CLAIMANTS,
    seed: int = 1,
    say: Say = print,
    progress: Progress = _quiet,
    design: str = "individual",
    clusters: int | None = None,
    displacement: float = DEMO_DISPLACEMENT,
) -> dict[str, Any]:
    """Simulate → init → enrol weekly → match → analyse at six months → report → savings, all into `out`.

    `design = "two_stage"` runs the roll-out protocol's two-stage trial in the simulated job market with
    `displacement`, and prints each spillover estimate beside its truth.
    """
    from trial.simulate import default_protocol_path, simulate, six_month_cut

    out = Path(out)
    prepare_folder(out)
    data = out / "data"
    db = out / "trial.db"
    two_stage = design == "two_stage"
    protocol_path = data / "protocol.toml" if two_stage else default_protocol_path()
    as_of = six_month_cut()
    summary: dict[str, Any] = {"out": str(out), "as_of": as_of.isoformat(), "design": design}
    extra = {"design": "two_stage", "clusters": clusters, "displacement": displacement} if two_stage else {}

    say(f"1/7 Simulerer / simulating {claimants} claimants into {data} (registry data cut {as_of.isoformat()})")
    truth = simulate(
        data,
        claimants=claimants,
        postings=DEMO_POSTINGS * claimants // DEMO_CLAIMANTS,
        history=DEMO_HISTORY * claimants // DEMO_CLAIMANTS,
        effect_days=DEMO_EFFECT_DAYS,
        uptake=DEMO_UPTAKE,
        seed=seed,
        data_cut=as_of,
        protocol_path=None if two_stage else protocol_path,
        progress=progress,
        policies=True,
        **extra,
    )
    six = truth["six_month"]
    if two_stage:
        say(f"  {truth['clusters']} jobcentres, displacement {displacement:g}: true net effect at the six-month cut "
            f"{six['spillover']['net_per_person']:.1f} days on benefit saved per person in treated jobcentres, direct "
            f"{six['spillover']['direct']:.1f} ({DEMO_EFFECT_DAYS:g} days to a job for the {DEMO_UPTAKE:.0%} who "
            "meet a consultant, in a market without competition)")
    else:
        say(f"  true effect at the six-month cut: {six['itt_benefit_days_saved']:.1f} days on benefit saved, "
            f"{six['itt_days_saved']:.1f} days to a job saved ({DEMO_EFFECT_DAYS:g} days to a job for the "
            f"{DEMO_UPTAKE:.0%} who meet a consultant; faster jobs pre-empt other exits)")
    for line in shown_beside_truth(truth["shown"]) if "shown" in truth else []:
        say(line)
    for note in truth["notes"]:
        say(f"  note: {note}")

    say(f"2/7 trial init --protocol {protocol_path.name} --db {db}")
    say("3/7 trial enrol: the weekly extracts up to the data cut, in order")
    enrolled = init_and_enrol(data, db, as_of, protocol_path, progress)
    arms = ", ".join(f"{arm} {n}" for arm, n in enrolled["enrolled"].items())
    say(f"  {enrolled['files']} files, {enrolled['read']} rows: {enrolled['excluded']} not eligible, "
        f"{enrolled['already_enrolled']} listed again (arm kept), enrolled {arms}")
    summary["enrolled"] = enrolled["enrolled"]

    say("4/7 trial match train / recommend (treatment arm only)")
    progress("matcher")
    summary["match"] = _match_step(out, data, db, say, progress)

    say(f"5/7 trial analyse --as-of {as_of.isoformat()}")
    progress("analyse")
    evaluation = demo_evaluation(data, db)
    result = evaluation.analyse(as_of, seed=seed, progress=progress)
    (out / "analysis.json").write_text(result.to_json() + "\n", encoding="utf-8")
    # Savings and the report read the file back, as finance and evaluators do: the file is the contract.
    from trial.results import AnalysisResult

    result = AnalysisResult.load(out / "analysis.json")
    for line in spillover_beside_truth(result, six["spillover"]) if two_stage else estimates_beside_truth(result, six):
        say(line)
    if result.interim is not None:
        from trial.analysis import decision_notes

        say(f"  {decision_notes(result.interim, result.interim.information_fraction)[-1]}")
    say(f"  written: {out / 'analysis.json'}")
    summary["primary"] = result.primary.model_dump(mode="json") if result.primary is not None else None
    summary["days_saved"] = {"estimate": result.effects.days_saved.estimate, "ci": list(result.effects.days_saved.ci)}

    say("6/7 trial savings")
    savings = _savings_step(out, evaluation, result, say)

    say("7/7 trial report")
    progress("report")
    summary["report"] = str(_report_step(out, evaluation, result, savings, say))
    (out / "demo-summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


__all__ = ["DEMO_CLAIMANTS", "analyse_trial", "init_and_enrol", "prepare_folder", "run_demo"]


def _one(value: float | None, spec: str = ".1f") -> str:
    """A figure for a terminal line, or '–' where it could not be estimated (an empty group or saturation level)."""
    return "–" if value is None else format(value, spec)
