"""From registry spells to one analysis row per person: index spell, time, status, and every data problem counted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trial.cli import app
from trial.outcomes import CENSORED, COMPETING, EVENT, OutcomeRules, build_outcomes
from trial.secret import pseudonymise

ORIGIN = pd.Timestamp("2020-01-01")
AS_OF = ORIGIN + pd.Timedelta(days=300)
RULES = OutcomeRules(("employment",), ("education", "other"), 182, 14, AS_OF)


def day(n: int | None) -> pd.Timestamp | None:
    return None if n is None else ORIGIN + pd.Timedelta(days=n)


# person, start day, end day (None = open), exit; one line per case the rules must handle.
SPELLS = [
    ("event", -5, 30, "employment"),
    ("competing_late_start", 10, 50, "education"),
    ("too_late", 20, 60, "employment"),
    ("open", -1, None, ""),
    ("ends_after_cut", -1, 320, "employment"),
    ("backwards", 40, 30, "employment"),
    ("backwards", -2, 70, "employment"),
    ("unknown_exit", 0, 80, "holiday"),
    ("overlap", -30, 90, "employment"),
    ("overlap", -3, 40, "other"),
    ("stranger", 0, 10, "employment"),
    ("starts_after_cut", 310, None, ""),
    ("exit_but_open", -1, None, "employment"),
    ("no_exit", -1, 25, ""),
    ("past_spell_only", -100, -50, "employment"),
    ("long", -1, 250, "employment"),
]
PEOPLE = [*sorted({s[0] for s in SPELLS} - {"stranger"}), "late_randomised"]


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    allocations = pd.DataFrame(
        {
            "person_id": PEOPLE,
            "arm": ["treatment" if i % 2 else "control" for i in range(len(PEOPLE))],
            "randomised_on": [AS_OF + pd.Timedelta(days=1) if p == "late_randomised" else ORIGIN for p in PEOPLE],
        }
    )
    allocations.loc[allocations["person_id"] == "starts_after_cut", "randomised_on"] = ORIGIN
    spells = pd.DataFrame(
        [(p, day(a), day(b), e) for p, a, b, e in SPELLS], columns=["person_id", "start", "end", "exit"]
    )
    spells["end"] = pd.to_datetime(spells["end"])
    return allocations, spells


@pytest.fixture(scope="module")
def table():
    return build_outcomes(*frames(), RULES)


def row(table, person: str) -> tuple[float, int, str]:
    r = table.frame.set_index("person_id").loc[person]
    return float(r["time"]), int(r["status"]), str(r["exit"])


def test_times_and_statuses(table) -> None:
    assert row(table, "event") == (30.0, EVENT, "employment")
    assert row(table, "competing_late_start") == (50.0, COMPETING, "education")
    assert row(table, "open") == (182.0, CENSORED, "")
    assert row(table, "ends_after_cut") == (182.0, CENSORED, "")
    assert row(table, "backwards") == (70.0, EVENT, "employment")
    assert row(table, "unknown_exit") == (80.0, CENSORED, "")
    # Of two overlapping spells containing the origin, the one that started first is the index spell.
    assert row(table, "overlap") == (90.0, EVENT, "employment")
    assert row(table, "exit_but_open") == (182.0, CENSORED, "")
    assert row(table, "no_exit") == (25.0, CENSORED, "")
    assert row(table, "long") == (182.0, CENSORED, "")


def test_every_problem_is_counted(table) -> None:
    quality = table.data_quality
    assert quality == {
        "spell_of_person_not_allocated": 1,
        "spell_starts_after_data_cut": 1,
        "spell_ends_before_it_starts": 1,
        "spell_ends_after_data_cut": 1,
        "exit_given_for_open_spell": 1,
        "exit_missing_for_ended_spell": 1,
        "unknown_exit": 1,
        "overlapping_spells": 1,
        "randomised_after_data_cut": 1,
        "no_index_spell": 3,
        "no_index_spell_counted_as_zero_benefit_days": 3,
        "index_spell_ended_without_known_exit": 2,  # no_exit and unknown_exit
    }
    # Everyone allocated is either analysed or listed without an outcome, with the reason.
    assert len(table.frame) + len(table.without_outcome) == len(PEOPLE)
    assert set(table.without_outcome["person_id"]) == {"too_late", "past_spell_only", "starts_after_cut",
                                                       "late_randomised"}  # fmt: skip
    assert table.examples["unknown_exit"] == [9]


def benefit_row(table, person: str) -> tuple[float, int]:
    r = table.benefit.set_index("person_id").loc[person]
    return float(r["benefit_time"]), int(r["benefit_ended"])


def test_days_on_benefit_count_everyone_randomised(table) -> None:
    """Intention to treat, complete: no index spell is 0 days; an ended spell ended benefit whatever its exit."""
    assert len(table.benefit) == len(PEOPLE) - 1  # all but the one randomised after the data cut
    assert benefit_row(table, "event") == (30.0, 1)
    assert benefit_row(table, "competing_late_start") == (50.0, 1)  # education ends benefit too
    assert benefit_row(table, "unknown_exit") == (80.0, 1)  # censored for employment, ended for benefit
    assert benefit_row(table, "no_exit") == (25.0, 1)
    assert benefit_row(table, "open") == (182.0, 0)
    assert benefit_row(table, "long") == (182.0, 0)  # ends at day 250, after the horizon
    for person in ("too_late", "past_spell_only", "starts_after_cut"):
        assert benefit_row(table, person) == (0.0, 1)
    assert set(table.benefit["person_id"]) - set(table.frame["person_id"]) == {
        "too_late", "past_spell_only", "starts_after_cut"
    }


def test_days_on_any_spell_are_merged_and_cut_at_the_data_cut(table) -> None:
    """Every spell as days from randomisation: overlaps merged, open spells to the cut day, later spells counted."""
    people = table.benefit["person_id"].to_numpy()
    spans = {}
    for who, start, end in zip(people[table.spans.person], table.spans.start, table.spans.end, strict=True):
        spans.setdefault(str(who), []).append((int(start), int(end)))
    observed = 301  # days 0..300: randomised on day 0, data cut on day 300
    assert set(table.benefit["observed_days"]) == {observed}
    assert spans["too_late"] == [(20, 60)]  # no index spell, yet 40 days on benefit
    assert spans["overlap"] == [(0, 90)]  # (-30, 90) and (-3, 40) merged
    assert spans["backwards"] == [(0, 70)]  # the row ending before it starts is dropped
    assert spans["open"] == [(0, observed)]
    assert spans["ends_after_cut"] == [(0, observed)]
    assert "past_spell_only" not in spans and "starts_after_cut" not in spans


def test_event_override_moves_an_exit() -> None:
    from trial.protocol import load_protocol

    protocol = load_protocol(Path(__file__).parents[1] / "protocols" / "bc16-jobmatch.toml")
    rules = OutcomeRules.from_protocol(protocol, AS_OF, horizon_days=90, event_exits=["education"])
    assert rules.event_exits == ("education",)
    assert set(rules.competing_exits) == {"employment", "other"}
    table = build_outcomes(*frames(), rules)
    assert row(table, "competing_late_start") == (50.0, EVENT, "education")
    assert row(table, "event") == (30.0, COMPETING, "employment")
    assert row(table, "open") == (90.0, CENSORED, "")


# --- through the CLI: files, pseudonyms, one-line errors ------------------------------------------------------------

SECRET = "a-test-secret-of-enough-length-123"


def write_trial(folder: Path, cprs: list[str]) -> dict[str, Path]:
    protocol = Path(__file__).parents[1] / "protocols" / "bc16-jobmatch.toml"
    ids = pseudonymise(pd.Series(cprs), SECRET.encode())
    n = len(cprs)
    allocations = pd.DataFrame(
        {
            "person_id": ids,
            "arm": ["treatment", "control"] * (n // 2),
            "stratum": "all",
            "randomised_on": "2020-01-01",
            "sex": ["k", "m", "m", "k"] * (n // 4),
        }
    )
    spells = pd.DataFrame(
        {
            "cpr": [f"{c[:6]}-{c[6:]}" for c in cprs],
            "start": "2019-12-20",
            "end": [(ORIGIN + pd.Timedelta(days=10 + 7 * i)).strftime("%d-%m-%Y") for i in range(n)],
            "exit": ["employment", "employment", "education", "employment"] * (n // 4),
        }
    )
    paths = {"protocol": protocol, "allocations": folder / "alloc.csv", "spells": folder / "spells.csv"}
    allocations.to_csv(paths["allocations"], index=False)
    spells.to_csv(paths["spells"], index=False, sep=";")
    return paths


def invoke(paths: dict[str, Path], *extra: str, env: dict[str, str] | None = None):
    args = ["analyse", "--protocol", str(paths["protocol"]), "--allocations", str(paths["allocations"]),
            "--outcomes", str(paths["spells"]), "--as-of", "2020-12-31", "--bootstrap", "50", *extra]  # fmt: skip
    return CliRunner().invoke(app, args, env=env or {"TRIAL_SECRET": SECRET})


CPRS = [f"{d:02d}0190{1000 + d:04d}" for d in range(1, 25)]


def test_cpr_spells_are_pseudonymised_and_never_printed(tmp_path: Path) -> None:
    paths = write_trial(tmp_path, CPRS)
    out = tmp_path / "a.json"
    run = invoke(paths, "--json", str(out))
    assert run.exit_code == 0, run.output
    text = out.read_text(encoding="utf-8")
    assert all(c not in text and c not in run.output for c in CPRS)
    import json

    result = json.loads(text)
    assert result["counts"]["analysed"]["total"] == 24
    assert result["arms"]["control"]["events"] + result["arms"]["treatment"]["events"] == 18


def test_bad_cpr_is_named_by_row_not_by_number(tmp_path: Path) -> None:
    paths = write_trial(tmp_path, CPRS)
    spells = pd.read_csv(paths["spells"], sep=";", dtype=str)
    spells.loc[3, "cpr"] = "0301901003X"
    spells.to_csv(paths["spells"], index=False, sep=";")
    run = invoke(paths)
    assert run.exit_code == 2
    assert "row 5" in run.output and "0301901003" not in run.output
    assert "Traceback" not in run.output


def test_missing_column_and_missing_secret_are_one_line_errors(tmp_path: Path) -> None:
    paths = write_trial(tmp_path, CPRS)
    spells = pd.read_csv(paths["spells"], sep=";", dtype=str).drop(columns=["start"])
    spells.to_csv(paths["spells"], index=False, sep=";")
    run = invoke(paths)
    assert run.exit_code == 2
    assert run.output == f"error: {paths['spells']}, row 1: missing column start; columns found: cpr, end, exit\n"

    paths = write_trial(tmp_path, CPRS)
    run = invoke(paths, env={"TRIAL_SECRET": ""})
    assert run.exit_code == 2
    assert run.output == "error: TRIAL_SECRET is too short: at least 16 characters are needed\n"


def test_bad_as_of_and_missing_file(tmp_path: Path) -> None:
    paths = write_trial(tmp_path, CPRS)
    run = CliRunner().invoke(app, ["analyse", "--protocol", str(paths["protocol"]), "--allocations",
                                   str(paths["allocations"]), "--outcomes", str(tmp_path / "nope.csv"),
                                   "--as-of", "2020-12-31"])  # fmt: skip
    assert run.exit_code == 2 and run.output == f"error: {tmp_path / 'nope.csv'}: file not found\n"
    run = invoke(paths, "--as-of", "31/13/2020")
    assert run.exit_code == 2
    assert run.output == ("error: Invalid value for '--as-of': '31/13/2020' is not a date; write yyyy-mm-dd, "
                          "dd-mm-yyyy or dd.mm.yyyy (see 'trial analyse --help')\n")


def test_allocation_file_covariates_are_numbers_only_when_every_value_is(tmp_path: Path) -> None:
    from trial.allocations import load_allocations

    n = 200
    frame = pd.DataFrame(
        {
            "person_id": [f"p{i:03d}" for i in range(n)],
            "arm": ["control", "treatment"] * (n // 2),
            "stratum": "all",
            "randomised_on": "2020-01-01",
            "age": [str(20 + i % 40) for i in range(n)],
            # Numbers for the first 150 rows, then text: a sample of the first rows must not decide.
            "score": [str(i) for i in range(150)] + ["ukendt"] * 50,
            "field": ["humaniora", "teknisk"] * (n // 2),
        }
    )
    path = tmp_path / "allocations.csv"
    frame.to_csv(path, index=False)
    loaded = load_allocations(allocations=path)
    assert pd.api.types.is_numeric_dtype(loaded["age"]) and loaded["age"].sum() == sum(20 + i % 40 for i in range(n))
    assert loaded["score"].tolist() == frame["score"].tolist()
    assert loaded["field"].tolist() == frame["field"].tolist()
