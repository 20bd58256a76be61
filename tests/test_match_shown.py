"""What was generated and what was shown: the recommendation log's fields, `trial match shown` on ticked lists, and
receipt, exposure and consultant-clustered effects in `trial analyse`, on a real ledger through the real CLI.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from matcher.exposure import Shows, measure
from tests.factory import claimant_rows, write_claimants
from trial.cli import app
from trial.ledger import Entry, Ledger
from trial.secret import pseudonymise

ROOT = Path(__file__).parents[1]
SECRET = "shown-test-secret-0123456789"
ENROLLED_ON = date(2025, 1, 15)
SERVED_ON = date(2025, 1, 22)
AS_OF = "2025-09-30"
runner = CliRunner()


def _run(*args: object) -> Any:
    return runner.invoke(app, [str(a) for a in args], env={"TRIAL_SECRET": SECRET})


def _error_line(result: Any) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    return lines[0]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A ledger with 300 enrolled claimants, the treatment arm's generated lists of five postings each from 20
    consultants (postings drawn so that some are popular), and registry spells with a shorter spell for the treated
    who were shown their list.
    """
    folder = tmp_path_factory.mktemp("shown")
    db = folder / "trial.db"
    assert _run("init", "--protocol", ROOT / "protocols/bc16-jobmatch.toml", "--db", db).exit_code == 0
    rows = claimant_rows(300, seed=8, as_of=ENROLLED_ON)
    write_claimants(folder / "claimants.csv", rows)
    assert _run("enrol", folder / "claimants.csv", "--db", db, "--as-of", ENROLLED_ON.isoformat()).exit_code == 0
    ids = pseudonymise(pd.Series([r["cpr"] for r in rows]), SECRET.encode())
    rng = np.random.default_rng(4)
    with Ledger.open(db) as ledger:
        allocations = ledger.allocations()
    treated = sorted(allocations.loc[allocations["arm"] == "treatment", "person_id"])
    consultant = {p: f"K{i % 20:02d}" for i, p in enumerate(treated)}
    popularity = 1 / np.arange(1, 81) ** 1.2
    generated = []
    for person in treated:
        postings = rng.choice(80, size=5, replace=False, p=popularity / popularity.sum())
        for rank, posting in enumerate(postings, start=1):
            generated.append({"person_id": person, "posting_id": f"job-{posting:03d}", "rank": rank,
                              "score": round(float(rng.normal()), 4), "served_on": SERVED_ON.isoformat(),
                              "model_version": "0.3.0+0123456789abcdef", "max_per_posting": 10, "window_days": 14,
                              "consultant_id": consultant[person]})
    with Ledger.open(db) as ledger:
        ledger.log_recommendations(generated, datetime(2025, 1, 22, 12, tzinfo=UTC))
    # Two in three treated were shown their list; being shown shortens the spell.
    shown = set(treated[::3]) ^ set(treated)
    days = np.ceil(rng.exponential([60 if p in shown else 90 for p in ids])).astype(int) + 10
    end = pd.Timestamp(ENROLLED_ON) + pd.to_timedelta(days, unit="D")
    cut = pd.Timestamp(AS_OF)
    pd.DataFrame({
        "person_id": ids,
        "start": [r["registered_on"] for r in rows],
        "end": np.where(end <= cut, end.strftime("%Y-%m-%d"), ""),
        "exit": np.where(end <= cut, "employment", ""),
    }).to_csv(folder / "spells.csv", index=False)
    return {"folder": folder, "db": db, "treated": treated, "shown": shown, "generated": pd.DataFrame(generated),
            "consultant": consultant}


def _ledger_copy(base: dict[str, Any], tmp_path: Path) -> Path:
    db = tmp_path / "trial.db"
    shutil.copy(base["db"], db)
    return db


def _lists(base: dict[str, Any], folder: Path, people: set[str], *, tick: str = "x") -> list[Path]:
    """Each treated person's list as `trial match recommend` writes it, ticked where they were shown it."""
    from matcher.pages import write_list

    folder.mkdir(exist_ok=True)
    generated = base["generated"]
    paths = []
    for person in base["treated"]:
        path = folder / f"{person}.csv"
        rows = generated[generated["person_id"] == person].assign(title="Fuldmægtig", employer="KK", deadline="")
        write_list(rows, path)
        if person in people:
            ticked = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
            ticked["vist"] = [tick, tick, "", "nej", tick]
            ticked.to_csv(path, sep=";", index=False, encoding="utf-8-sig")
        paths.append(path)
    return paths


def analyse(base: dict[str, Any], db: Path, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "analysis.json"
    result = _run("analyse", "--db", db, "--outcomes", base["folder"] / "spells.csv", "--as-of", AS_OF,
                  "--bootstrap", "50", "--json", out)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_the_log_records_each_generated_row_in_full(base: dict[str, Any]) -> None:
    """Every generated row keeps its place, score, day served, model version, cap in force and consultant."""
    with Ledger.open(base["db"], read_only=True) as ledger:
        log = ledger.recommendations()
    assert len(log) == len(base["generated"]) and set(log["status"]) == {"generated"}
    expected = base["generated"].sort_values(["person_id", "rank"]).reset_index(drop=True)
    got = log.sort_values(["person_id", "rank"]).reset_index(drop=True)
    for column in expected.columns:
        assert got[column].tolist() == expected[column].tolist(), column
    assert set(log["shown_at"]) == {"2025-01-22T12:00:00+00:00"}


def test_rows_of_an_older_ledger_still_read(base: dict[str, Any], tmp_path: Path) -> None:
    """A row written before these fields (posting_id and rank only) reads with its day served from shown_at."""
    db = _ledger_copy(base, tmp_path)
    person = base["treated"][0]
    with Ledger.open(db) as ledger:
        ledger.append([Entry("recommendation", "2024-12-01T10:00:00+00:00", {"posting_id": "old-1", "rank": 1},
                             person, "treatment")])
        old = ledger.recommendations().iloc[-1]
    assert (old["posting_id"], old["served_on"], old["status"]) == ("old-1", "2024-12-01", "generated")
    assert old[["score", "model_version", "max_per_posting", "window_days", "consultant_id"]].isna().all()
    assert _run("verify", "--db", db).exit_code == 0


def test_a_cpr_number_as_consultant_is_never_logged(base: dict[str, Any], tmp_path: Path) -> None:
    db = _ledger_copy(base, tmp_path)
    row = base["generated"].iloc[0].to_dict() | {"consultant_id": "010190-1234"}
    with Ledger.open(db) as ledger, pytest.raises(Exception) as caught:
        ledger.log_recommendations([row], "2025-01-23T12:00:00+00:00")
    assert str(caught.value) == ("a consultant_id looks like a CPR number; the log keeps only pseudonyms; nothing "
                                 "was logged")
    assert "1234" not in str(caught.value)


def test_ticked_lists_are_recorded_once_and_a_changed_tick_counts(base: dict[str, Any], tmp_path: Path) -> None:
    db = _ledger_copy(base, tmp_path)
    paths = _lists(base, tmp_path / "lists", base["shown"])
    n, people = len(base["generated"]), len(base["treated"])
    ticked = 3 * len(base["shown"])
    result = _run("match", "shown", *paths, "--db", db)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (f"{n} rows of {people} list(s) for {people} citizens: {ticked} shown and "
                                     f"{n - ticked} not shown recorded in {db}; 0 already recorded alike, 0 changed")
    again = _run("match", "shown", *paths, "--db", db)
    assert again.output.strip().endswith(f"0 shown and 0 not shown recorded in {db}; {n} already recorded alike, "
                                         "0 changed")
    person = sorted(base["shown"])[0]
    first = tmp_path / "lists" / f"{person}.csv"
    fixed = pd.read_csv(first, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    fixed["vist"] = ["", "x", "ja", "1", "✓"]  # was x, x, -, nej, x: ranks 1, 3 and 4 change
    fixed.to_csv(first, sep=";", index=False, encoding="utf-8-sig")
    changed = _run("match", "shown", first, "--db", db, "--consultant", "K99")
    assert changed.output.strip().endswith(f"0 shown and 0 not shown recorded in {db}; 2 already recorded alike, "
                                           "3 changed")
    with Ledger.open(db, read_only=True) as ledger:
        confirmed = ledger.confirmations()
    assert len(confirmed) == n + 3
    latest = confirmed.drop_duplicates(["person_id", "posting_id", "served_on"], keep="last")
    mine = latest[latest["person_id"] == person].merge(base["generated"], on=["person_id", "posting_id"])
    assert mine.sort_values("rank")["status"].tolist() == ["not_shown", "shown", "shown", "shown", "shown"]
    mine = mine.sort_values("rank")
    assert mine["consultant_id_x"].tolist() == ["K99", base["consultant"][person], "K99", "K99",
                                                base["consultant"][person]]
    assert set(confirmed["confirmed_at"].str.len()) == {25}  # ISO time with its UTC offset
    assert _run("verify", "--db", db).exit_code == 0


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (lambda t: t.assign(posting_id=["job-999", *t["posting_id"][1:]]),
         "{file}, row 2, column 'posting_id': posting job-999 was not recommended to this person on 2025-01-22 "
         "according to the ledger's log"),
        (lambda t: t.assign(vist=["x", "ok", "", "", ""]),
         "{file}, row 3, column 'vist': not a tick (x, ja, 1 or ✓ for shown; empty, nej or 0 for not shown)"),
        (lambda t: t.assign(person_id=["0101901234", *t["person_id"][1:]]),
         "{file}, row 2, column 'person_id': not a pseudonym (32 hexadecimal characters, as the list was written)"),
        (lambda t: t.assign(consultant_id=["", "", "010190-1234", "", ""]),
         "{file}, row 4, column 'consultant_id': not a consultant pseudonym (up to 64 letters, digits or ._:-, never "
         "a CPR number)"),
        (lambda t: t.drop(columns="vist"),
         "{file}, row 1: missing column vist or shown; columns found: person_id, served_on, consultant_id, rank, "
         "posting_id, title, employer, deadline"),
    ],
    ids=["not recommended", "not a tick", "cpr as person", "cpr as consultant", "no tick column"],
)
def test_a_bad_list_records_nothing_and_says_where(base: dict[str, Any], tmp_path: Path, change: Any,
                                                   line: str) -> None:
    db = _ledger_copy(base, tmp_path)
    good, bad = _lists(base, tmp_path / "lists", set(base["treated"]))[:2]
    table = pd.read_csv(bad, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    change(table).to_csv(bad, sep=";", index=False, encoding="utf-8-sig")
    with Ledger.open(db, read_only=True) as ledger:
        head = ledger.head_hash()
    result = _run("match", "shown", good, bad, "--db", db)
    assert _error_line(result) == "error: " + line.format(file=bad)
    assert "1234" not in result.output
    with Ledger.open(db, read_only=True) as ledger:
        assert ledger.head_hash() == head and ledger.confirmations().empty


def test_a_cpr_number_as_the_confirming_consultant_is_refused(base: dict[str, Any], tmp_path: Path) -> None:
    db = _ledger_copy(base, tmp_path)
    paths = _lists(base, tmp_path / "lists", set())[:1]
    result = _run("match", "shown", *paths, "--db", db, "--consultant", "0101901234")
    assert _error_line(result) == ("error: --consultant: not a consultant pseudonym (up to 64 letters, digits or "
                                   "._:-, never a CPR number)")


def test_receipt_falls_back_to_generated_until_a_list_is_confirmed(base: dict[str, Any], tmp_path: Path) -> None:
    """Without confirmations everyone generated a list on benefit counts as received, and the result says so."""
    result = analyse(base, base["db"], tmp_path)
    exposure = result["exposure"]
    assert exposure["receipt_basis"] == "generated" and exposure["shown"] is None
    assert "every list generated counts" in exposure["receipt_definition"]
    assert result["effects"]["cace_benefit_days_saved"]["assumptions"][-1] == exposure["receipt_definition"]
    assert result["receipt"]["treatment"]["received"] == len(base["treated"])  # all on benefit on day 7
    assert "recommendations_without_confirmation" not in result["data_quality"]


def test_receipt_means_shown_once_lists_are_confirmed(base: dict[str, Any], tmp_path: Path) -> None:
    """Confirmed lists define receipt; lists never confirmed count as not shown and are counted."""
    db = _ledger_copy(base, tmp_path)
    shown = sorted(base["shown"])
    answered = set(shown[: len(shown) // 2]) | set(base["treated"][::3])  # half the shown, all the not shown
    paths = [p for p in _lists(base, tmp_path / "lists", base["shown"]) if p.stem in answered]
    assert _run("match", "shown", *paths, "--db", db).exit_code == 0
    result = analyse(base, db, tmp_path)
    exposure, receipt = result["exposure"], result["receipt"]
    assert exposure["receipt_basis"] == "shown" and "confirmed as shown" in exposure["receipt_definition"]
    assert receipt["treatment"]["received"] == len(answered & base["shown"])
    assert receipt["control"]["received"] == 0
    unanswered = len(base["treated"]) - len(answered)
    assert result["data_quality"]["recommendations_without_confirmation"] == 5 * unanswered
    assert exposure["unconfirmed"] == 5 * unanswered
    assert exposure["confirmed_not_shown"] == 2 * len(answered & base["shown"]) + 5 * len(set(base["treated"][::3]))
    gap = receipt["treatment"]["share"] - receipt["control"]["share"]
    assert result["effects"]["cace_benefit_days_saved"]["receipt_difference"] == pytest.approx(gap)


def test_exposure_beside_receipt_is_the_matchers_measure(base: dict[str, Any], tmp_path: Path) -> None:
    """The generated rows' exposure is what matcher.exposure.measure gives for them, in the cap's window."""
    result = analyse(base, base["db"], tmp_path)
    generated = result["exposure"]["generated"]
    log = base["generated"]
    shows = Shows(log["person_id"].to_numpy(), pd.factorize(log["posting_id"])[0],
                  np.zeros(len(log), dtype=np.int64))
    expected = measure(shows, open_postings=1, window_days=14)
    assert generated["basis"] == "generated" and generated["window_days"] == 14 and generated["caps"] == [10]
    assert generated["slots"] == len(log) and generated["citizens"] == len(base["treated"])
    assert generated["postings"] == log["posting_id"].nunique()
    for name in ("max_per_posting", "mean_per_posting", "gini", "top1pct_share"):
        assert generated[name] == pytest.approx(getattr(expected, name)), name
    assert generated["max_per_posting"] > 10  # the fixture's lists ignore the cap they record


def test_effects_clustered_by_consultant(base: dict[str, Any], tmp_path: Path) -> None:
    """The intention-to-treat effect clustered by consultant is statsmodels' OLS of the pseudo-observations on the
    arm with cov_type='cluster'; its estimate is the pseudo-observations' difference in means."""
    from statsmodels.regression.linear_model import OLS

    from trial.rmst import Cells, pseudo_observations

    result = analyse(base, base["db"], tmp_path)
    clustered = result["exposure"]["by_consultant"]
    assert clustered["consultants"] == 20 and clustered["people_with_consultant"] == len(base["treated"])
    assert "cov_type='cluster'" in clustered["method"] and "clusters of their own" in clustered["notes"][0]
    assert set(clustered["effects"]) == {"benefit_days_saved", "cace_benefit_days_saved", "days_saved",
                                         "cace_days_saved"}
    itt = clustered["effects"]["benefit_days_saved"]
    # Within a whisker of the Kaplan-Meier difference of the main analysis.
    assert itt["estimate"] == pytest.approx(result["effects"]["benefit_days_saved"]["estimate"], abs=0.5)
    cace = clustered["effects"]["cace_benefit_days_saved"]
    gap = result["effects"]["cace_benefit_days_saved"]["receipt_difference"]
    assert cace["estimate"] == pytest.approx(itt["estimate"] / gap)
    assert cace["ci"][0] < cace["estimate"] < cace["ci"][1] and itt["se_unclustered"] > 0

    from trial.evaluation import load_evaluation
    from trial.outcomes import OutcomeRules, build_outcomes

    evaluation = load_evaluation(base["folder"] / "spells.csv", db=base["db"])
    rules = OutcomeRules.from_protocol(evaluation.protocol, AS_OF)
    benefit = build_outcomes(evaluation.allocations, evaluation.spells, rules).benefit
    cells = Cells.of(benefit["benefit_time"].to_numpy(float), benefit["benefit_ended"].to_numpy(), 182)
    saved = -pseudo_observations(cells.counts(), cells.gaps).reshape(-1)[cells.cell]
    groups = benefit["person_id"].map(base["consultant"]).fillna(benefit["person_id"]).factorize()[0]
    x = np.column_stack([np.ones(len(saved)), (benefit["arm"] == "treatment").to_numpy(float)])
    fit = OLS(saved, x).fit(cov_type="cluster", cov_kwds={"groups": groups})
    assert itt["estimate"] == pytest.approx(fit.params[1], rel=1e-9)
    assert itt["se"] == pytest.approx(fit.bse[1], rel=1e-9)


def test_the_complier_se_is_the_iv_sandwich_clustered() -> None:
    """The complier effect's clustered SE equals the just-identified IV sandwich with statsmodels' CR1 factor
    (G/(G−1)·(N−1)/(N−K)), and, to the degrees-of-freedom factor, the delta method on the two reduced forms stacked in
    one statsmodels regression clustered by consultant."""
    from statsmodels.regression.linear_model import OLS

    from trial.exposure_analysis import clustered_pair
    from trial.rmst import Cells, pseudo_observations

    rng = np.random.default_rng(12)
    n = 2000
    arm = rng.integers(0, 2, n)
    received = arm * (rng.random(n) < 0.7)
    # As in the trial: the treated share 100 consultants (whose use of the tool varies), the control arm's are unknown.
    consultant = np.where(arm == 1, rng.integers(0, 100, n), 100 + np.arange(n))
    consultant = np.unique(consultant, return_inverse=True)[1]
    g = int(consultant.max()) + 1
    frailty = np.exp(0.6 * rng.normal(size=g))[consultant]
    time = np.ceil(rng.exponential(80 * np.where(received == 1, frailty * 0.8, 1.0)))
    ended = rng.random(n) < 0.9
    itt, cace = clustered_pair(time, ended, arm.astype(bool), received.astype(bool), consultant, 182, 0.05)
    assert cace is not None
    cells = Cells.of(time, ended, 182)
    y = -pseudo_observations(cells.counts(), cells.gaps).reshape(-1)[cells.cell]
    z = np.column_stack([np.ones(n), arm])
    x = np.column_stack([np.ones(n), received])
    beta = np.linalg.solve(z.T @ x, z.T @ y)
    assert cace.estimate == pytest.approx(beta[1], rel=1e-9)
    u = y - x @ beta
    scores = np.zeros((g, 2))
    np.add.at(scores, consultant, z * u[:, None])
    bread = np.linalg.inv(z.T @ x)
    factor = g / (g - 1) * (n - 1) / (n - 2)
    sandwich = bread @ (scores.T @ scores) @ bread.T * factor
    assert cace.se == pytest.approx(np.sqrt(sandwich[1, 1]), rel=1e-9)
    # The delta method on (ITT of y, ITT of receipt) from one stacked regression, clustered by consultant.
    stacked_y = np.r_[y, received]
    first = np.r_[np.ones(n), np.zeros(n)]
    design = np.column_stack([first, first * np.r_[arm, arm], 1 - first, (1 - first) * np.r_[arm, arm]])
    fit = OLS(stacked_y, design).fit(cov_type="cluster", cov_kwds={"groups": np.r_[consultant, consultant]})
    a, pi = fit.params[1], fit.params[3]
    gradient = np.array([1 / pi, -a / pi**2])
    cov = fit.cov_params()[np.ix_([1, 3], [1, 3])]
    assert cace.estimate == pytest.approx(a / pi, rel=1e-9)
    assert cace.se == pytest.approx(float(np.sqrt(gradient @ cov @ gradient)), rel=2e-3)
    assert itt.se > 1.1 * itt.se_unclustered  # how well a consultant uses the tool is shared: wider intervals
