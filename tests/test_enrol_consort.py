"""CONSORT counts people, not rows: runs, re-runs and recurring people through the real CLI."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from tests.factory import HEADER, claimant_rows, write_claimants
from trial.cli import app
from trial.ledger import Entry, Ledger
from trial.screening import consort_screening

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "protocols" / "bc16-jobmatch.toml"
SECRET = "consort-secret-0123456789abcdef"
WEEK1, WEEK2 = date(2026, 3, 2), date(2026, 3, 9)
runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"TRIAL_SECRET": SECRET, "TRIAL_SECRET_FILE": None})


def status(db: Path) -> dict:
    result = run("status", "--db", db, "--json", "-")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def cprs(*files: Path) -> set[str]:
    return {row["cpr"] for file in files for row in csv.DictReader(file.open(encoding="utf-8"))}


def test_three_runs_of_one_extract_and_an_overlapping_week_count_the_distinct_people(tmp_path: Path) -> None:
    db = tmp_path / "bc16.db"
    assert run("init", "--protocol", PROTOCOL, "--db", db).exit_code == 0
    first = claimant_rows(80, seed=41, as_of=WEEK1)
    week1 = write_claimants(tmp_path / "W10.csv", first)
    week2 = write_claimants(tmp_path / "W11.csv", first[:30] + claimant_rows(40, seed=42, as_of=WEEK2, start=9000))
    for _ in range(3):
        assert run("enrol", week1, "--db", db, "--as-of", WEEK1).exit_code == 0
    assert run("enrol", week2, "--db", db, "--as-of", WEEK2).exit_code == 0
    report = status(db)
    screening, handling = report["screening"], report["data_handling"]
    people = len(cprs(week1, week2))
    assert screening["assessed"] == people == 120
    assert screening["eligible"] == screening["enrolled"] == report["enrolled"]
    assert sum(screening["excluded"].values()) == people - report["enrolled"]
    assert handling | {"already_enrolled": None} == {
        "runs": 4, "reruns": 2, "rows_read": 3 * 80 + 70, "blank_rows": 0, "duplicate_rows": 0,
        "already_enrolled": None, "runs_counted_as_rows": 0,
    }
    # The report's flow diagram reads the same counts from the same ledger.
    with Ledger.open(db) as ledger:
        flow = consort_screening(ledger.screening())
    assert flow is not None
    assert (flow.assessed, flow.eligible, flow.enrolled) == (people, screening["eligible"], screening["enrolled"])
    assert {r.code: r.n for r in flow.excluded} == screening["excluded"]
    assert flow.rows_read == handling["rows_read"] and flow.already_enrolled == handling["already_enrolled"]


def test_each_person_counts_at_their_first_eligibility_or_under_their_last_reason(tmp_path: Path) -> None:
    db = tmp_path / "bc16.db"
    assert run("init", "--protocol", PROTOCOL, "--db", db).exit_code == 0
    base = {"education_level": "LVU", "benefit": "dagpenge", "has_cv": "ja", "education_field": "humaniora",
            "postcode": "2200"}
    late, early = {"registered_on": "2026-02-27"}, {"registered_on": "2026-01-05"}
    week1 = [
        base | late | {"cpr": "010190-1235", "has_cv": "nej"},  # no CV, then eligible: counted once, eligible
        base | late | {"cpr": "020291-1244", "benefit": "kontanthjaelp"},  # benefit, then registered too early
        base | late | {"cpr": "030392-1255", "education_level": "KVU"},  # excluded twice for the same reason
    ]
    week2 = [
        base | late | {"cpr": "010190-1235"},
        base | early | {"cpr": "020291-1244"},
        base | late | {"cpr": "030392-1255", "education_level": "KVU"},
    ]
    for rows, day, name in ((week1, WEEK1, "W10.csv"), (week2, WEEK2, "W11.csv")):
        file = tmp_path / name
        with file.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=HEADER)
            writer.writeheader()
            writer.writerows(rows)
        assert run("enrol", file, "--db", db, "--as-of", day).exit_code == 0
    assert status(db)["screening"] == {
        "assessed": 3, "eligible": 1, "enrolled": 1,
        "excluded": {"education_level": 1, "registered_too_early": 1},
    }


def test_runs_recorded_before_screening_tokens_count_their_rows(tmp_path: Path) -> None:
    """A ledger from before this version: its runs hold counts only, so they are counted as rows, and said to be."""
    db = tmp_path / "old.db"
    assert run("init", "--protocol", PROTOCOL, "--db", db).exit_code == 0
    old_run = {"file": "W09.csv", "file_sha256": "0" * 64, "read": 12, "duplicate_rows": 1, "already_enrolled": 0,
               "eligible": 0, "excluded": {"no_cv": 7, "benefit": 4}, "enrolled": {"treatment": 0, "control": 0}}
    with Ledger.open(db) as ledger:
        ledger.append([Entry("screening", "2026-02-23", old_run)])
    file = write_claimants(tmp_path / "W10.csv", claimant_rows(30, seed=43, as_of=WEEK1))
    assert run("enrol", file, "--db", db, "--as-of", WEEK1).exit_code == 0
    report = status(db)
    excluded_now = 30 - report["enrolled"]
    assert report["screening"]["assessed"] == 11 + 30
    assert sum(report["screening"]["excluded"].values()) == 11 + excluded_now
    assert report["data_handling"]["runs_counted_as_rows"] == 1
    shown = run("status", "--db", db, "--lang", "en")
    assert "1 runs recorded before screening tokens are counted as rows" in shown.output


def test_the_screening_log_holds_no_pseudonym_and_no_file_order(tmp_path: Path) -> None:
    db = tmp_path / "bc16.db"
    assert run("init", "--protocol", PROTOCOL, "--db", db).exit_code == 0
    file = write_claimants(tmp_path / "W10.csv", claimant_rows(60, seed=44, as_of=WEEK1))
    assert run("enrol", file, "--db", db, "--as-of", WEEK1).exit_code == 0
    with Ledger.open(db) as ledger:
        people = ledger.screening()["people"].iloc[0]
        pseudonyms = set(ledger.allocations()["person_id"])
    tokens = [t for group in people.values() for t in group]
    assert len(tokens) == len(set(tokens)) == 60
    assert all(len(t) == 16 for t in tokens) and not {t for p in pseudonyms for t in tokens if p.startswith(t)}
    assert all(group == sorted(group) for group in people.values())
