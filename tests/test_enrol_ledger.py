"""Enrolment into the ledger through the real CLI: idempotence, arms, secrets, protocol freezing, GDPR."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import stat
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factory import claimant_rows, write_claimants
from trial.cli import app
from trial.ledger import Ledger, row_hash
from trial.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "protocols" / "bc16-jobmatch.toml"
SECRET = "test-secret-0123456789abcdef"
AS_OF = date(2026, 3, 2)
runner = CliRunner()


def run(*args: str, secret: str | None = SECRET):
    env = {"TRIAL_SECRET": secret} if secret is not None else {}
    if secret is None:
        os.environ.pop("TRIAL_SECRET", None)
    return runner.invoke(app, [str(a) for a in args], env=env)


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    db = tmp_path / "trial.db"
    result = run("init", "--protocol", PROTOCOL, "--db", db)
    assert result.exit_code == 0, result.output
    return db


def enrol(db: Path, file: Path, *extra: str, secret: str | None = SECRET):
    return run("enrol", file, "--db", db, "--as-of", AS_OF.isoformat(), "--lang", "en", *extra, secret=secret)


def test_enrol_counts_arms_and_is_idempotent(ledger: Path, tmp_path: Path) -> None:
    rows = claimant_rows(300, seed=3, as_of=AS_OF)
    file = write_claimants(tmp_path / "week1.csv", rows)
    first = enrol(ledger, file, "--out", tmp_path / "roster.csv")
    assert first.exit_code == 0, first.output
    roster = list(csv.DictReader((tmp_path / "roster.csv").open()))
    with Ledger.open(ledger) as led:
        alloc = led.allocations()
        screening = led.screening()
    assert len(roster) == len(alloc) > 0
    assert stat.S_IMODE((tmp_path / "roster.csv").stat().st_mode) == 0o600
    # Every excluded person has a reason, and the counts add up to what was read.
    run_counts = screening.iloc[0]
    excluded = sum(v for k, v in run_counts.items() if k.startswith("excluded_"))
    assert excluded + len(alloc) == len(rows) == run_counts["read"]
    # A second run over the same file, and a later file repeating people, changes no arm and enrols no one again.
    again = enrol(ledger, file, "--out", tmp_path / "roster2.csv")
    assert again.exit_code == 0
    assert f"already enrolled (arm kept): {len(alloc)}" in again.output
    assert list(csv.DictReader((tmp_path / "roster2.csv").open())) == roster
    mixed = write_claimants(tmp_path / "week2.csv", rows[:40] + claimant_rows(50, seed=99, as_of=AS_OF, start=10_000))
    assert enrol(ledger, mixed).exit_code == 0
    with Ledger.open(ledger) as led:
        later = led.allocations().set_index("person_id")
    assert later.loc[alloc["person_id"], "arm"].tolist() == alloc["arm"].tolist()
    assert later.index.is_unique


def test_same_secret_reproduces_and_another_does_not(tmp_path: Path) -> None:
    file = write_claimants(tmp_path / "c.csv", claimant_rows(400, seed=5, as_of=AS_OF))
    arms = []
    for name, secret in (("a", SECRET), ("b", SECRET), ("c", "another-secret-987654321")):
        db = tmp_path / f"{name}.db"
        assert run("init", "--protocol", PROTOCOL, "--db", db, secret=secret).exit_code == 0
        assert enrol(db, file, secret=secret).exit_code == 0
        with Ledger.open(db) as led:
            arms.append(led.allocations().sort_values("stratum", kind="stable")["arm"].tolist())
    assert arms[0] == arms[1]
    assert arms[0] != arms[2]
    # Pseudonyms are keyed: another secret gives other pseudonyms for the same people.
    with Ledger.open(tmp_path / "a.db") as a, Ledger.open(tmp_path / "c.db") as c:
        assert not set(a.allocations()["person_id"]) & set(c.allocations()["person_id"])


def test_no_cpr_number_in_the_ledger_bytes(ledger: Path, tmp_path: Path) -> None:
    rows = claimant_rows(200, seed=7, as_of=AS_OF)
    file = write_claimants(tmp_path / "c.csv", rows)
    assert enrol(ledger, file).exit_code == 0
    raw = ledger.read_bytes()
    for row in rows:
        digits = row["cpr"].replace("-", "")
        assert digits.encode() not in raw
        assert row["cpr"].encode() not in raw
        assert row["cpr"].encode("utf-16-le") not in raw


def test_init_refuses_to_overwrite(ledger: Path) -> None:
    before = ledger.read_bytes()
    result = run("init", "--protocol", PROTOCOL, "--db", ledger)
    assert result.exit_code == 2
    assert result.output == f"error: {ledger} exists already; a ledger is never overwritten\n"
    assert ledger.read_bytes() == before


def test_changed_protocol_is_refused_until_amended(ledger: Path, tmp_path: Path) -> None:
    changed = tmp_path / "bc16-v1.2.toml"
    changed.write_text(PROTOCOL.read_text().replace('version = "1.1"', 'version = "1.2"'), encoding="utf-8")
    file = write_claimants(tmp_path / "c.csv", claimant_rows(20, seed=8, as_of=AS_OF))
    refused = enrol(ledger, file, "--protocol", changed)
    assert refused.exit_code == 2
    new, frozen = load_protocol(changed).fingerprint, load_protocol(PROTOCOL).fingerprint
    assert refused.output == (f"error: protocol bc16-jobmatch 1.2 (fingerprint {new[:12]}…) differs from the one "
                              f"frozen in the ledger ({frozen[:12]}…); record it first with: trial amend\n")
    with Ledger.open(ledger) as led:
        assert led.count("enrolment") == 0
    assert run("amend", "--protocol", changed, "--db", ledger, "--reason", "Version bump").exit_code == 0
    accepted = enrol(ledger, file, "--protocol", changed)
    assert accepted.exit_code == 0, accepted.output
    with Ledger.open(ledger) as led:
        assert led.protocol().version == "1.2"
        assert [h["kind"] for h in led.protocol_history()] == ["protocol", "amendment"]
    # The randomisation cannot be amended once the trial runs.
    blocks = tmp_path / "blocks.toml"
    blocks.write_text(PROTOCOL.read_text().replace("block_sizes = [2, 4, 6]", "block_sizes = [4]"), encoding="utf-8")
    result = run("amend", "--protocol", blocks, "--db", ledger, "--reason", "x")
    assert result.exit_code == 2
    assert result.output == "error: an amendment cannot change the arms or the randomisation; start a new ledger\n"


def test_secret_rules(tmp_path: Path) -> None:
    file = write_claimants(tmp_path / "c.csv", claimant_rows(10, seed=9, as_of=AS_OF))
    key = tmp_path / "keys" / "trial.key"  # README's `trial keygen ~/.trial/bc16.key`: the folder is made too
    assert run("keygen", key, secret=None).exit_code == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert run("keygen", key).exit_code == 2  # never overwritten
    db = tmp_path / "trial.db"
    assert run("init", "--protocol", PROTOCOL, "--db", db, "--secret-file", key, secret=None).exit_code == 0
    missing = enrol(db, file, secret=None)
    assert missing.exit_code == 2
    assert missing.output == ("error: no trial secret: give --secret-file, $TRIAL_SECRET_FILE (a path) or "
                              "$TRIAL_SECRET (the secret itself) (trial keygen FILE makes one for a new trial)\n")
    os.chmod(key, 0o644)
    loose = enrol(db, file, "--secret-file", key, secret=None)
    assert loose.exit_code == 2
    assert loose.output == f"error: secret file {key} is readable by others (mode 644); run: chmod 600 {key}\n"
    os.chmod(key, 0o600)
    assert enrol(db, file, "--secret-file", key, secret=None).exit_code == 0
    by_variable = runner.invoke(app, ["enrol", str(file), "--db", str(db), "--as-of", AS_OF.isoformat()],
                                env={"TRIAL_SECRET_FILE": str(key), "TRIAL_SECRET": None})
    assert by_variable.exit_code == 0, by_variable.output
    short = enrol(db, file, secret="short")
    assert short.exit_code == 2
    assert short.output == "error: TRIAL_SECRET is too short: at least 16 characters are needed\n"


def test_withdraw_export_and_status(ledger: Path, tmp_path: Path) -> None:
    file = write_claimants(tmp_path / "c.csv", claimant_rows(120, seed=10, as_of=AS_OF))
    assert enrol(ledger, file).exit_code == 0
    with Ledger.open(ledger) as led:  # the screening record names the very bytes that were read
        assert led.screening()["file_sha256"].tolist() == [hashlib.sha256(file.read_bytes()).hexdigest()]
    out = tmp_path / "alloc.csv"
    assert run("export", "--db", ledger, "--out", out).exit_code == 0
    exported = list(csv.DictReader(out.open()))
    assert list(exported[0])[:4] == ["person_id", "arm", "stratum", "randomised_on"]
    assert {"sex", "age_band", "education_field"} <= set(exported[0])
    person = exported[0]["person_id"]
    assert run("withdraw", person, "--reason", "Flyttet", "--db", ledger).exit_code == 0
    twice = run("withdraw", person, "--reason", "Flyttet", "--db", ledger)
    assert twice.exit_code == 2 and twice.output == f"error: person {person} has already withdrawn\n"
    assert run("withdraw", "nobody", "--reason", "x", "--db", ledger).exit_code == 2
    # A CPR number typed by mistake is neither printed back nor stored in the permanent log.
    typed = run("withdraw", "010190-1235", "--reason", "x", "--db", ledger)
    assert typed.exit_code == 2 and "010190" not in typed.output and "pseudonym" in typed.output
    other = exported[1]["person_id"]
    in_reason = run("withdraw", other, "--reason", "borger 0101901235 flyttet", "--db", ledger)
    assert in_reason.exit_code == 2 and "CPR" in in_reason.output and "0101901235" not in in_reason.output
    with Ledger.open(ledger) as led:
        assert led.withdrawals()["person_id"].tolist() == [person]
        assert len(led.allocations()) == len(exported)  # withdrawn people stay in the ITT population
    status = run("status", "--db", ledger, "--json", "-")
    data = json.loads(status.output)
    assert sum(data["by_arm"].values()) == len(exported)
    by_stratum = data["by_stratum"]
    worst = max(abs(v["treatment"] - v["control"]) for v in by_stratum.values())
    assert data["largest_imbalance"]["difference"] == worst <= 3


def test_verify_detects_tampering_after_triggers_are_dropped(ledger: Path, tmp_path: Path) -> None:
    file = write_claimants(tmp_path / "c.csv", claimant_rows(60, seed=11, as_of=AS_OF))
    assert enrol(ledger, file).exit_code == 0
    good = run("verify", "--db", ledger)
    assert good.exit_code == 0 and "match" in good.output
    pristine = ledger.read_bytes()

    def tampered(*sql: str) -> str:
        ledger.write_bytes(pristine)
        con = sqlite3.connect(ledger)
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute(sql[0])  # the triggers refuse it first …
        con.execute("DROP TRIGGER log_no_update")
        con.execute("DROP TRIGGER log_no_delete")
        for statement in sql:  # … so a tamperer drops them
            con.execute(statement)
        con.commit()
        con.close()
        result = run("verify", "--db", ledger)
        assert result.exit_code == 1
        return result.output

    assert "row 5" in tampered("UPDATE log SET arm = CASE arm WHEN 'treatment' THEN 'control' ELSE 'treatment' END "
                               "WHERE seq = 5")
    assert "row 5" in tampered("DELETE FROM log WHERE seq = 5")
    # Reorder: rows 4 and 5 swap places, each keeping its own content and hash.
    out = tampered(
        "UPDATE log SET seq = -4 WHERE seq = 4",
        "UPDATE log SET seq = 4 WHERE seq = 5",
        "UPDATE log SET seq = 5 WHERE seq = -4",
    )
    assert "row 4" in out
    # Dropping the triggers alone is reported too.
    ledger.write_bytes(pristine)
    con = sqlite3.connect(ledger)
    con.execute("DROP TRIGGER log_no_delete")
    con.commit()
    con.close()
    result = run("verify", "--db", ledger)
    assert result.exit_code == 1
    assert result.output == "NOT INTACT: the append-only triggers were removed: log_no_delete\n"


def test_verify_refuses_a_wrong_secret_and_flags_an_altered_allocation(ledger: Path, tmp_path: Path) -> None:
    file = write_claimants(tmp_path / "c.csv", claimant_rows(80, seed=12, as_of=AS_OF))
    assert enrol(ledger, file).exit_code == 0
    wrong = run("verify", "--db", ledger, secret="a-different-secret-entirely")
    assert wrong.exit_code == 2
    assert wrong.output.startswith("error: this secret is not the one this ledger was created with; ")
    # An arm swapped and the whole chain rebuilt after it, triggers and all: only the secret's sequence tells.
    con = sqlite3.connect(ledger)
    con.execute("DROP TRIGGER log_no_update")
    seq, arm = con.execute("SELECT seq, arm FROM log WHERE kind = 'enrolment' ORDER BY seq LIMIT 1").fetchone()
    other = "control" if arm == "treatment" else "treatment"
    con.execute("UPDATE log SET arm = ? WHERE seq = ?", (other, seq))
    prev = "0" * 64
    for row in con.execute("SELECT seq, kind, person_id, arm, stratum, at, body FROM log ORDER BY seq").fetchall():
        digest = row_hash((*row, prev))
        con.execute("UPDATE log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, row[0]))
        prev = digest
    con.execute("CREATE TRIGGER log_no_update BEFORE UPDATE ON log BEGIN SELECT RAISE(ABORT, 'append-only'); END")
    con.commit()
    con.close()
    altered = run("verify", "--db", ledger)
    assert altered.exit_code == 1
    assert altered.output.strip() == (
        f"NOT INTACT: row {seq}: arm '{other}' is not the one the allocation sequence gives ('{arm}') "
        "— the allocation was altered"
    )


def test_status_of_one_person_is_valid_json(ledger: Path, tmp_path: Path) -> None:
    """One person has no standard deviation and the other arm no shares: null, never NaN (which JSON lacks)."""
    rows = [r for r in claimant_rows(40, seed=13, as_of=AS_OF) if r["has_cv"] == "ja" and r["benefit"] == "dagpenge"
            and r["education_level"] == "LVU" and r["registered_on"] >= "2026-02-02"][:1]
    assert enrol(ledger, write_claimants(tmp_path / "one.csv", rows)).exit_code == 0
    result = run("status", "--db", ledger, "--json", "-")
    assert result.exit_code == 0, result.output
    (age,) = [r for r in json.loads(result.output)["balance"] if r["variable"] == "age"]
    assert age["smd"] is None and sorted(a["share"] is None for a in age["arms"].values()) == [False, True]
    assert run("status", "--db", ledger, "--lang", "en").exit_code == 0
