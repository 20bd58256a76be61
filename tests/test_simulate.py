"""The simulated trial: its files pass the project's own input checks and behave like BC16's data."""

from __future__ import annotations

import json
import re
import stat
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trial.cpr import century
from trial.enrol import read_claimants
from trial.outcomes import read_spells
from trial.protocol import load_protocol
from trial.secret import load_secret, pseudonymise
from trial.simulate import default_protocol_path, simulate
from trial.simulate.claimants import EXTRACT_COLUMNS, FIELDS
from trial.tables import read_table, to_bools, to_dates

CLAIMANTS = 4000
EFFECT_DAYS = 10.0
UPTAKE = 0.7
MOD11 = np.array([4, 3, 2, 7, 6, 5, 4, 3, 2, 1])


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sim") / "trial"
    truth = simulate(out, claimants=CLAIMANTS, postings=3000, effect_days=EFFECT_DAYS, uptake=UPTAKE, seed=7)
    return out, truth


@pytest.fixture(scope="module")
def extracts(sim: tuple[Path, dict]) -> pd.DataFrame:
    """All weekly extract rows as the enrolment reads them, with the extract date."""
    out, _ = sim
    protocol = load_protocol(default_protocol_path())
    frames = []
    for path in sorted((out / "claimants").glob("week-*.csv")):
        _, year, week = path.stem.split("-")
        day = date.fromisocalendar(int(year), int(week), 1)
        frame = read_claimants(path, protocol, day)  # the enrolment's own validation: raises on any bad cell
        frames.append(frame.assign(extract_on=pd.Timestamp(day), file=path.name))
    rows = pd.concat(frames, ignore_index=True)
    digits = rows["cpr"].str.replace("-", "", regex=False)
    return rows.assign(cpr=digits.str.slice(0, 6) + "-" + digits.str.slice(6))  # the files' DDMMYY-SSSS form


def test_weekly_files_cover_twelve_months_in_the_case_system_columns(sim: tuple[Path, dict]) -> None:
    out, truth = sim
    files = sorted((out / "claimants").glob("week-*.csv"))
    assert len(files) == 52 == truth["weekly_files"]
    assert all(re.fullmatch(r"week-\d{4}-\d{2}\.csv", f.name) for f in files)
    table = read_table(files[10], required=EXTRACT_COLUMNS)
    assert list(table.columns[:-1]) == EXTRACT_COLUMNS
    assert set(to_bools(table, "has_cv")) == {True, False}
    assert to_dates(table, "registered_on").notna().all()
    assert set(table["education_field"]) <= set(FIELDS)
    assert table["postcode"].str.fullmatch(r"[1-4]\d{3}").all()


def test_cpr_numbers_are_fictitious_but_valid_in_form(sim: tuple[Path, dict], extracts: pd.DataFrame) -> None:
    out, _ = sim
    raw = pd.concat(pd.read_csv(p, dtype=str) for p in sorted((out / "claimants").glob("week-*.csv")))
    assert raw["cpr"].str.fullmatch(r"\d{6}-\d{4}").all()
    digits = np.array([[int(c) for c in cpr.replace("-", "")] for cpr in raw["cpr"]])
    # Century rule: the 7th digit and the year give the birth year written in the birth_date column.
    year2 = digits[:, 4] * 10 + digits[:, 5]
    born = pd.to_datetime(raw["birth_date"])
    assert (century(digits[:, 6], year2) + year2 == born.dt.year.to_numpy()).all()
    assert ((digits[:, 9] % 2 == 1) == (raw["sex"] == "M").to_numpy()).all()
    # Every number fails modulus 11, which all numbers issued before 2007 pass: none is a real person's.
    assert ((digits @ MOD11) % 11 != 0).all()
    assert extracts["cpr"].nunique() == CLAIMANTS


def test_mix_eligible_share_and_repeated_listings(sim: tuple[Path, dict], extracts: pd.DataFrame) -> None:
    _, truth = sim
    first = extracts.drop_duplicates("cpr")
    assert 0.55 <= (first["education_level"] == "LVU").mean() <= 0.65
    assert set(first["benefit"]) == {"dagpenge", "kontanthjaelp"}
    days = (first["extract_on"] - first["registered_on"]).dt.days
    assert days.min() >= 1
    assert 0.2 < (days > 28).mean() < 0.5
    # About 22,000 eligible per 100,000 claimants.
    assert 0.19 <= truth["enrolled"] / CLAIMANTS <= 0.25
    repeated = len(extracts) - CLAIMANTS
    assert 0.02 <= repeated / CLAIMANTS <= 0.06
    assert truth["duplicate_share"] == pytest.approx(repeated / CLAIMANTS, abs=1e-6)
    ages = (first["extract_on"] - first["birth_date"]).dt.days / 365.25
    lvu_ages = ages[first["education_level"] == "LVU"]
    assert 27 <= lvu_ages.median() <= 33 and ages.min() >= 20 and ages.max() <= 65


def test_spells_pass_the_outcome_reader_and_have_realistic_durations(
    sim: tuple[Path, dict], extracts: pd.DataFrame
) -> None:
    out, truth = sim
    spells = read_spells(out / "spells.csv", secret=load_secret(out / "secret.key"))
    raw = pd.read_csv(out / "spells.csv", dtype=str, keep_default_na=False)
    assert list(raw.columns) == ["cpr", "start", "end", "exit"]
    assert set(raw["exit"]) <= {"employment", "education", "other", ""}
    assert ((raw["end"] == "") == (raw["exit"] == "")).all()
    assert (raw["end"] == "").sum() > 0  # open at the data cut
    per_person = raw["cpr"].value_counts()
    assert set(raw["cpr"]) == set(extracts["cpr"])
    assert 0.1 < (per_person > 1).mean() < 0.5  # earlier spells and returns to benefit
    assert (spells["end"].isna() | (spells["end"] > spells["start"])).all()

    first = extracts.drop_duplicates("cpr").set_index("cpr")
    raw["start_d"] = pd.to_datetime(raw["start"])
    raw["end_d"] = pd.to_datetime(raw["end"].replace("", None))
    origin = raw["cpr"].map(first["extract_on"])
    index = raw[(raw["start_d"] <= origin) & (raw["end_d"].isna() | (raw["end_d"] > origin))]
    assert index["cpr"].is_unique and len(index) == CLAIMANTS  # exactly one spell holds each first extract date
    index = index.set_index("cpr")
    length = (index["end_d"] - index["start_d"]).dt.days
    person = first.loc[index.index]
    age = (person["extract_on"] - person["birth_date"]).dt.days / 365.25
    new = (person["extract_on"] - person["registered_on"]).dt.days <= 28
    young = (person["education_level"] == "LVU") & (person["benefit"] == "dagpenge") & (age < 30) & new
    assert young.sum() > 400
    assert 63 <= length[young].median() <= 80  # newly unemployed young academics: about 9-11 weeks
    assert 0.04 <= (length[young] > 182).mean() <= 0.2  # the long tail past 26 weeks
    assert 0.75 <= (index.loc[young, "exit"] == "employment").mean() <= 0.85
    assert {"education", "other"} <= set(index.loc[young, "exit"])
    kontant = person["benefit"] == "kontanthjaelp"
    assert length[kontant].median() > 1.5 * length[young].median()
    assert pd.Timestamp(truth["data_cut"]) >= raw["end_d"].max()


def test_meetings_are_a_share_of_each_arm_shortly_after_randomisation(
    sim: tuple[Path, dict], extracts: pd.DataFrame
) -> None:
    out, truth = sim
    meetings = pd.read_csv(out / "meetings.csv", dtype=str)
    assert list(meetings.columns) == ["cpr", "met_on"]
    assert meetings["cpr"].is_unique
    first = extracts.drop_duplicates("cpr").set_index("cpr")
    delay = (pd.to_datetime(meetings["met_on"]) - meetings["cpr"].map(first["extract_on"])).dt.days
    assert delay.between(0, 7).all()
    share = len(meetings) / truth["enrolled"]
    assert abs(share - UPTAKE) < 0.06
    assert abs(truth["met_share_treatment"] - UPTAKE) < 0.06


def test_truth_states_the_intention_to_treat_effect(sim: tuple[Path, dict], extracts: pd.DataFrame) -> None:
    out, truth = sim
    stored = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert stored["itt_days_saved"] == pytest.approx(truth["itt_days_saved"], abs=1e-5)
    # Each treated person who met saves exactly D expected days, so the ITT is D times the met share.
    assert truth["itt_days_saved"] == pytest.approx(EFFECT_DAYS * truth["met_share_treatment"], abs=0.05)
    assert abs(truth["itt_days_saved_sample"] - truth["itt_days_saved"]) < 3
    assert sum(truth["arms"].values()) == truth["enrolled"]
    assert abs(truth["arms"]["treatment"] - truth["arms"]["control"]) <= 0.1 * truth["enrolled"]
    assert 40 < truth["rmst_employment_control"] < 110
    assert truth["six_month"]["enrolled"] < truth["enrolled"]
    text = (out / "truth.json").read_text(encoding="utf-8")
    assert not any(cpr in text or cpr.replace("-", "") in text for cpr in extracts["cpr"])


def test_truth_gives_every_estimand_of_the_analysis(sim: tuple[Path, dict]) -> None:
    """Faster jobs pre-empt other exits, so fewer days on benefit are saved than days to a job; each window too."""
    _, truth = sim
    for block in (truth, truth["six_month"]):
        assert 0 < block["itt_benefit_days_saved"] < block["itt_days_saved"]
        assert set(block["itt_benefit_days_all_spells_saved"]) == {"182", "364"}
        assert all(v > 0 for v in block["itt_benefit_days_all_spells_saved"].values())


def test_window_truth_equals_a_monte_carlo_of_the_simulated_process() -> None:
    """Days on any benefit in [0, W): the index spell (Weibull job, exponential other exits, whole days) plus a
    return after a job, drawn as `simulate_spells` draws them; the exact sums agree within Monte Carlo error."""
    from trial.simulate import spells as sp

    model, rng, n = sp.SpellModel(), np.random.default_rng(11), 400_000
    for scale, window in ((60.0, 182), (150.0, 364)):
        job = scale * (-np.log(rng.random(n))) ** (1 / model.shape)
        other = rng.exponential(1 / model.competing_rate, n)
        days = np.maximum(1, np.ceil(np.minimum(job, other))).astype(int)
        back = (rng.random(n) < model.return_share) & (job < other)
        start = days + sp.RETURN_GAP_DAYS + rng.geometric(sp.RETURN_GAP_P, n)
        length = sp.RETURN_LENGTH_DAYS + np.round(rng.gamma(sp.RETURN_LENGTH_SHAPE, sp.RETURN_LENGTH_SCALE, n))
        covered = np.minimum(days, window) + back * np.clip(np.minimum(start + length, window) - start, 0, None)
        exact = sp.window_mean_days(np.array([scale]), model, window)[0]
        assert exact == pytest.approx(covered.mean(), abs=4 * covered.std() / np.sqrt(n))
        index = sp.restricted_mean_days(np.array([scale]), model.shape, window, model.competing_rate)[0]
        assert index == pytest.approx(np.minimum(days, window).mean(), abs=4 * days.std() / np.sqrt(n))


def test_secret_is_private_and_keys_the_pseudonyms(sim: tuple[Path, dict]) -> None:
    out, _ = sim
    mode = stat.S_IMODE((out / "secret.key").stat().st_mode)
    assert mode == 0o600
    secret = load_secret(out / "secret.key")
    ids = pseudonymise(pd.Series(["010190-1235"]), secret)
    assert ids.str.fullmatch(r"[0-9a-f]{32}").all()


def test_job_market_files(sim: tuple[Path, dict], extracts: pd.DataFrame) -> None:
    out, _ = sim
    if not (out / "postings.csv").exists():
        pytest.skip("trial/simulate/jobs.py is not there yet")
    cvs = read_table(out / "cvs.csv", required=["cpr", "cv_text"], keep_extra=True)
    postings = read_table(out / "postings.csv", required=["posting_id", "source", "text"], keep_extra=True)
    hires = read_table(out / "hires.csv", required=["cpr", "posting_id"], keep_extra=True)
    with_cv = set(extracts.loc[extracts["has_cv"], "cpr"])
    assert with_cv <= set(cvs["cpr"])
    assert {"jobnet"} < set(postings["source"])
    assert set(hires["posting_id"]) <= set(postings["posting_id"])
    assert not set(hires["cpr"]) & with_cv  # hires come from the historical cohort only
    # The same job on two portals: same occupation, place and deadline.
    key = postings[["occupation_code", "postcode", "deadline"]].astype(str).agg("|".join, axis=1)
    both = postings.groupby(key)["source"].nunique()
    assert 0.08 <= (both > 1).mean() <= 0.3
