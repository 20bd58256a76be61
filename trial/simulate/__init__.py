"""The synthetic trial behind `trial simulate`: claimants, CVs, postings, hires, spells and a known effect.

The arms come from the real enrolment (secret-derived stratified blocks) run on the weekly files in order, so
`trial init` + `trial enrol` with `secret.key` reproduce exactly the arms the spells were drawn for.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import trial
from trial.errors import ParameterError, TrialError
from trial.simulate.claimants import (
    PERSON_COLUMNS,
    ClaimantMix,
    extract_dates,
    extract_frame,
    extract_name,
    make_claimants,
    make_history,
)
from trial.simulate.spells import SpellModel, cohort_truth, simulate_spells

if TYPE_CHECKING:
    from trial.protocol import Protocol
    from trial.simulate.jobs import JobsData
    from trial.simulate.market import MarketModel

DEFAULT_START = date(2025, 1, 6)
Progress = Callable[[str], None]


def default_protocol_path() -> Path:
    """The BC16 protocol shipped with the project (protocols/ next to the package)."""
    return Path(trial.__file__).resolve().parents[1] / "protocols" / "bc16-jobmatch.toml"


def rollout_protocol_path() -> Path:
    """The BC16 roll-out protocol (two-stage design across jobcentres) shipped with the project."""
    return Path(trial.__file__).resolve().parents[1] / "protocols" / "bc16-rollout.toml"


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the last day of the month when it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def six_month_cut(start: date = DEFAULT_START) -> date:
    """The data cut of the six-month report: six months after the first enrolment."""
    return add_months(extract_dates(start, 1)[0], 6)


def simulated_secret(seed: int) -> bytes:
    """The trial secret of a simulation: derived from the seed so that the same seed gives the same files."""
    return hashlib.sha256(f"jobmatch-trial simulated trial, seed {seed}".encode()).hexdigest().encode("ascii")


def _write_secret(path: Path, secret: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret + b"\n")
    os.chmod(path, 0o600)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _enrol_arms(
    files: list[tuple[Path, date]], secret: bytes, protocol_path: Path, progress: Progress
) -> tuple[pd.Series, dict[str, float], object]:
    """Enrol the weekly files in order into a throw-away ledger: CPR -> arm, cluster -> saturation (empty for an
    individual design) and the protocol."""
    from trial.enrol import enrol_file
    from trial.ledger import Ledger
    from trial.protocol import load_protocol

    protocol = load_protocol(protocol_path)
    rosters = []
    text = protocol_path.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="trial-simulate-") as tmp, \
            Ledger.create(Path(tmp) / "trial.db", protocol, text, secret=secret) as ledger:
        saturations = ledger.cluster_saturations() or {}
        for number, (path, as_of) in enumerate(files, start=1):
            progress(f"enrol {number}/{len(files)}")
            rosters.append(enrol_file(ledger, path, secret=secret, as_of=as_of, protocol=protocol).roster)
    # The roster writes CPR numbers as DDMMYY-SSSS, as the simulated files do.
    roster = pd.concat(rosters, ignore_index=True).drop_duplicates("cpr")
    return pd.Series(roster["arm"].to_numpy(), index=roster["cpr"].to_numpy()), saturations, protocol


def simulate(
    out_dir: str | Path,
    *,
    claimants: int = 10_000,
    postings: int | None = None,
    effect_days: float = 10.0,
    uptake: float = 0.7,
    seed: int = 1,
    start: date = DEFAULT_START,
    weeks: int = 52,
    data_cut: date | None = None,
    history: int | None = None,
    protocol_path: str | Path | None = None,
    job_market: bool = True,
    progress: Progress | None = None,
    design: str = "individual",
    clusters: int | None = None,
    displacement: float = 0.5,
    policies: bool = False,
) -> dict[str, object]:
    """Write a simulated trial into `out_dir` and return its truth (also written to truth.json).

    `data_cut` is the date of the registry extract of spells (default: the last extract plus the horizon);
    `postings` defaults to three per claimant, `history` (the matcher's training cohort) to half the claimants.
    Without `job_market` no CVs, postings or hires are written (the spells are the same either way).
    `design = "two_stage"` simulates the roll-out protocol's two-stage trial in a job market with displacement
    (`trial.simulate.market`): `clusters` jobcentres (default: the protocol's), `displacement` the share D.
    With `policies`, truth.json also holds each serving policy's effect when the effect runs through what was shown
    (`trial.simulate.shown`: the model with and without caps, the automatch); the other files are the same.
    """
    if policies and not job_market:
        raise ParameterError("policies", "needs the job market (CVs, postings and hires); drop job_market=False")
    if claimants < 1:
        raise ParameterError("claimants", f"must be at least 1; got {claimants}")
    if not 0 <= uptake <= 1:
        raise ParameterError("uptake", f"must be a share between 0 and 1; got {uptake:g}")
    if effect_days < 0:
        raise ParameterError("effect_days", f"must not be negative; got {effect_days:g}")
    if design == "two_stage":
        return _simulate_two_stage(
            out_dir, claimants=claimants, postings=postings, effect_days=effect_days, uptake=uptake, seed=seed,
            start=start, weeks=weeks, data_cut=data_cut, history=history, protocol_path=protocol_path,
            job_market=job_market, progress=progress, clusters=clusters, displacement=displacement,
            policies=policies,
        )  # fmt: skip
    if design != "individual":
        raise ParameterError("design", f"must be 'individual' or 'two_stage'; got '{design}'")
    report = progress or (lambda _message: None)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise TrialError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        # Never write fictitious spells.csv or secret.key over somebody's real files.
        raise TrialError(f"{out} is not empty; choose a new or empty folder")
    protocol_file = Path(protocol_path) if protocol_path is not None else default_protocol_path()
    (out / "claimants").mkdir(parents=True, exist_ok=True)

    # A fifth stream for the policy study: spawn(5)'s first four are spawn(4)'s, so the files stay the same.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    claimant_rng, history_rng, jobs_rng, spells_rng, policy_rng = streams
    mix = ClaimantMix()
    taken: set[str] = set()
    report("claimants")
    people, rows = make_claimants(claimant_rng, claimants, start, weeks=weeks, mix=mix, taken=taken)
    historical = make_history(history_rng, history if history is not None else max(200, claimants // 2), start,
                              mix, taken=taken)
    dates = extract_dates(start, weeks)
    files = _write_extracts(out, rows, dates)

    secret = simulated_secret(seed)
    _write_secret(out / "secret.key", secret)
    arms, _, protocol = _enrol_arms(files, secret, protocol_file, report)

    horizon = protocol.outcomes.horizon_days
    cut = data_cut if data_cut is not None else dates[-1] + timedelta(days=horizon)
    notes: list[str] = []
    n_postings = postings if postings is not None else 3 * claimants
    report("jobs")
    jobs = _write_jobs(out, jobs_rng, people, historical, n_postings, dates[-1]) if job_market else None

    report("spells")
    model = SpellModel()
    data = simulate_spells(
        spells_rng,
        people,
        arms,
        treatment_arm=protocol.treatment_arm,
        effect_days=effect_days,
        uptake=uptake,
        horizon=horizon,
        data_cut=cut,
        model=model,
        windows=tuple(protocol.outcomes.benefit_windows_days),
    )
    _write_csv(data.spells, out / "spells.csv")
    _write_csv(data.meetings, out / "meetings.csv")

    look = six_month_cut(start)
    truth: dict[str, object] = {
        "seed": seed,
        "protocol": protocol.id,
        "protocol_fingerprint": protocol.fingerprint,
        "treatment_arm": protocol.treatment_arm,
        "control_arm": protocol.control_arm,
        "claimants": claimants,
        "extract_rows": len(rows),
        "duplicate_share": round((len(rows) - claimants) / claimants, 6),
        "weekly_files": len(files),
        "first_extract": dates[0].isoformat(),
        "last_extract": dates[-1].isoformat(),
        "postings": n_postings if job_market else 0,
        "history": len(historical),
        "eligible_share_expected": round(mix.eligible_share, 6),
        "secret_file": "secret.key",
        **data.truth,
        "six_month": {
            "as_of": look.isoformat(),
            **cohort_truth(data.persons, protocol.treatment_arm, randomised_by=look),
        },
        "notes": notes,
    }
    truth["itt_days_saved_expected"] = uptake * effect_days
    if policies and jobs is not None:
        from trial.simulate.market import MarketModel

        truth["shown"] = _policy_study(
            out, policy_rng, people, arms, jobs, protocol, MarketModel(effect_days=effect_days, uptake=uptake),
            first_day=pd.Timestamp(dates[0]), days=(dates[-1] - dates[0]).days + horizon + 1, progress=report,
        )  # fmt: skip
    (out / "truth.json").write_text(json.dumps(_plain(truth), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return truth


def _write_extracts(out: Path, rows: pd.DataFrame, dates: list[date]) -> list[tuple[Path, date]]:
    """The weekly claimant extracts, one file a week with anyone in it; returns (file, extract date) in order."""
    files: list[tuple[Path, date]] = []
    for week, day in enumerate(dates):
        chunk = rows[rows["week"] == week]
        if chunk.empty:
            continue
        path = out / "claimants" / extract_name(day)
        _write_csv(extract_frame(chunk), path)
        files.append((path, day))
    return files


def _write_jobs(
    out: Path, rng: np.random.Generator, people: pd.DataFrame, historical: pd.DataFrame, n_postings: int,
    last_extract: date,
) -> JobsData:  # fmt: skip
    """CVs, postings and the historical hires the matcher learns from; returns them with the market's utility."""
    from trial.simulate.jobs import simulate_jobs

    with_cv = people[people["has_cv"]][PERSON_COLUMNS].reset_index(drop=True)
    jobs = simulate_jobs(
        rng,
        with_cv,
        historical,
        n_postings=n_postings,
        start=min(historical["registered_on"]),
        end=last_extract + timedelta(days=28),
    )
    _write_csv(jobs.cvs, out / "cvs.csv")
    _write_csv(jobs.postings, out / "postings.csv")
    _write_csv(jobs.hires, out / "hires.csv")
    return jobs


def _policy_study(
    out: Path, rng: np.random.Generator, people: pd.DataFrame, arms: pd.Series, jobs: JobsData, protocol: Protocol,
    market: MarketModel, *, first_day: pd.Timestamp, days: int, progress: Progress,
) -> dict[str, object]:  # fmt: skip
    """Train the matcher on the written files (as `trial match train` would) and find each serving policy's truth
    when the effect runs through what was shown (`trial.simulate.shown.policy_truth`)."""
    from matcher.inputs import read_cvs, read_hires, read_postings
    from matcher.train import train
    from trial.secret import load_secret, pseudonymise
    from trial.simulate.shown import policy_truth

    secret = load_secret(out / "secret.key")
    cvs = read_cvs(out / "cvs.csv", secret=secret)
    postings = read_postings(out / "postings.csv")
    progress("policies: train the matcher")
    model = train(cvs, postings, read_hires(out / "hires.csv", secret=secret))
    # Kept beside the files: the model the policies' truth was found with (training is deterministic, so it is the
    # model `trial match train` makes from these files; the demo reuses it rather than train twice).
    model.save(out / "model")
    progress("policies: serve and run the market")
    matching = protocol.matching
    caps = (matching.max_per_posting,) if matching.max_per_posting is not None else ()
    return policy_truth(
        rng, people.reset_index(drop=True), arms, pseudonymise(people["cpr"].reset_index(drop=True), secret), jobs,
        model, cvs, postings, market=market, first_day=first_day, days=days,
        horizon=protocol.outcomes.horizon_days, treatment_arm=protocol.treatment_arm, caps=caps,
        window_days=matching.window_days,
    )  # fmt: skip


def _cluster_protocol(base: Path, clusters: int | None) -> str:
    """The two-stage protocol's text, with `clusters` jobcentres named 'Jobcenter 01'… instead of its own list."""
    import re

    text = base.read_text(encoding="utf-8")
    if clusters is None:
        return text
    if "[randomisation.cluster_strata]" in text:  # the protocol's own strata name its own jobcentres: drop them
        head, tail = text.split("[randomisation.cluster_strata]")[0], text.split("\n[outcomes]", 1)[1]
        text = head.rstrip() + "\n\n[outcomes]" + tail
    names = ", ".join(f'"Jobcenter {k:02d}"' for k in range(1, clusters + 1))
    text, found = re.subn(r"(?m)^clusters = \[.*?\n\]", f"clusters = [{names}]", text, flags=re.S)
    if found != 1:
        raise ParameterError("clusters", f"{base} has no multi-line 'clusters = [...]' list to replace")
    return text


def _simulate_two_stage(
    out_dir: str | Path,
    *,
    claimants: int,
    postings: int | None,
    effect_days: float,
    uptake: float,
    seed: int,
    start: date,
    weeks: int,
    data_cut: date | None,
    history: int | None,
    protocol_path: str | Path | None,
    job_market: bool,
    progress: Progress | None,
    clusters: int | None,
    displacement: float,
    policies: bool = False,
) -> dict[str, object]:
    """The two-stage trial of the roll-out protocol in a job market with displacement (`trial.simulate.market`).

    Writes what `simulate` writes, plus protocol.toml (the protocol the arms were drawn under); truth.json holds each
    estimand of `effects.spillover` at the data cut and at six months.
    """
    from trial.simulate.market import MarketModel, estimand_truth, market_trial

    if not 0 <= displacement <= 1:
        raise ParameterError("displacement", f"must be a share between 0 and 1; got {displacement:g}")
    if clusters is not None and clusters < 6:
        raise ParameterError("clusters", f"must be at least 6 (two per saturation); got {clusters}")
    report = progress or (lambda _message: None)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TrialError(f"{out} is not empty; choose a new or empty folder")
    (out / "claimants").mkdir(parents=True, exist_ok=True)
    protocol_file = out / "protocol.toml"
    protocol_file.write_text(_cluster_protocol(Path(protocol_path or rollout_protocol_path()), clusters),
                             encoding="utf-8")

    # A sixth stream for the policy study: spawn(6)'s first five are spawn(5)'s, so the files stay the same.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, 15]).spawn(6)]
    claimant_rng, history_rng, jobs_rng, market_rng, cluster_rng, policy_rng = streams
    from trial.protocol import load_protocol

    names = [c.strip() for c in load_protocol(protocol_file).randomisation.clusters]
    taken: set[str] = set()
    report("claimants")
    people, rows = make_claimants(claimant_rng, claimants, start, weeks=weeks, taken=taken)
    # Jobcentres of unequal size: a log-normal share of the inflow each.
    sizes = np.exp(0.5 * cluster_rng.standard_normal(len(names)))
    unit = np.array(names)[cluster_rng.choice(len(names), size=len(people), p=sizes / sizes.sum())]
    people["jobcenter_unit"] = unit
    rows["jobcenter_unit"] = rows["cpr"].map(dict(zip(people["cpr"], unit, strict=True)))
    dates = extract_dates(start, weeks)
    files = _write_extracts(out, rows, dates)
    secret = simulated_secret(seed)
    _write_secret(out / "secret.key", secret)
    arms, saturations, protocol = _enrol_arms(files, secret, protocol_file, report)
    horizon = protocol.outcomes.horizon_days
    cut = data_cut if data_cut is not None else dates[-1] + timedelta(days=horizon)

    n_postings = postings if postings is not None else 3 * claimants
    historical = make_history(history_rng, history if history is not None else max(200, claimants // 2), start,
                              ClaimantMix(), taken=taken)
    jobs = None
    if job_market:
        report("jobs")
        jobs = _write_jobs(out, jobs_rng, people, historical, n_postings, dates[-1])

    report("job market")
    model = MarketModel(displacement=displacement, effect_days=effect_days, uptake=uptake)
    trial_data = market_trial(market_rng, people, arms, saturations, model, first_day=pd.Timestamp(dates[0]),
                              days=(dates[-1] - dates[0]).days + horizon + 1, treatment_arm=protocol.treatment_arm,
                              horizon=horizon, data_cut=pd.Timestamp(cut))
    _write_csv(trial_data.spells, out / "spells.csv")
    meetings = trial_data.meetings.copy()
    meetings["met_on"] = meetings["met_on"].dt.strftime("%Y-%m-%d")
    _write_csv(meetings, out / "meetings.csv")
    persons, worlds = trial_data.persons, trial_data.worlds
    look = six_month_cut(start)
    enrolled = persons[persons["arm"] != ""]
    truth: dict[str, object] = {
        "seed": seed,
        "design": "two_stage",
        "protocol": protocol.id,
        "protocol_file": "protocol.toml",
        "protocol_fingerprint": protocol.fingerprint,
        "treatment_arm": protocol.treatment_arm,
        "control_arm": protocol.control_arm,
        "claimants": claimants,
        "weekly_files": len(files),
        "first_extract": dates[0].isoformat(),
        "last_extract": dates[-1].isoformat(),
        "data_cut": cut.isoformat(),
        "horizon_days": horizon,
        "postings": n_postings if job_market else 0,
        "secret_file": "secret.key",
        "effect_days": effect_days,
        "uptake": uptake,
        "displacement": displacement,
        "tightness": worlds.tightness if np.isfinite(worlds.tightness) else None,
        "cluster_sd": model.cluster_sd,
        "clusters": len(names),
        "saturations": saturations,
        "arms": {str(k): int(v) for k, v in enrolled["arm"].value_counts().sort_index().items()},
        "enrolled": len(enrolled),
        "spillover": estimand_truth(persons, protocol.treatment_arm, horizon, randomised_by=pd.Timestamp(cut)),
        "six_month": {"as_of": look.isoformat(),
                      "spillover": estimand_truth(persons, protocol.treatment_arm, horizon,
                                                  randomised_by=pd.Timestamp(look))},
        "notes": ["each estimand's truth: mean days on benefit to the horizon in the world without anyone treated "
                  "minus the world of the design's assignment (common random numbers), over the people it averages"],
    }
    if policies and jobs is not None:
        truth["shown"] = _policy_study(out, policy_rng, people, arms, jobs, protocol, model,
                                       first_day=pd.Timestamp(dates[0]), days=(dates[-1] - dates[0]).days + horizon + 1,
                                       progress=report)
    (out / "truth.json").write_text(json.dumps(_plain(truth), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return truth


def _plain(value: object) -> object:
    """JSON-ready values with floats rounded, so the file is the same on every run and machine."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6)
    return value


__all__ = [
    "DEFAULT_START", "add_months", "default_protocol_path", "rollout_protocol_path", "simulate", "simulated_secret",
    "six_month_cut",
]
