"""Analysts cannot corrupt the trial by accident (issue 12), each finding through the real CLI.

The ledger knows its secret; withdrawals by CPR number; dates that cannot be; where the ledger may live; lists
that say what they are.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factory import claimant_rows, write_claimants
from trial.cli import app
from trial.ledger import Entry, Ledger, network_filesystem
from trial.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "protocols" / "bc16-jobmatch.toml"
SECRET = "trust-secret-0123456789abcdef"
OTHER = "another-secret-0123456789abcdef"
AS_OF = date(2026, 3, 2)
WRONG_SECRET = (
    "error: this secret is not the one this ledger was created with; give the trial's own secret "
    "($TRIAL_SECRET holds the secret itself, $TRIAL_SECRET_FILE or --secret-file the path of its file)"
)
runner = CliRunner()


def run(*args: object, secret: str | None = SECRET, input: str | None = None, **env: str | None):
    """The CLI with only the secret variables given here (None unsets one)."""
    variables = {"TRIAL_SECRET": secret, "TRIAL_SECRET_FILE": None} | env
    return runner.invoke(app, [str(a) for a in args], env=variables, input=input)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def enrolled(tmp_path: Path) -> dict[str, object]:
    """A ledger created with SECRET and one weekly extract enrolled, with the analyst's list."""
    db = tmp_path / "bc16.db"
    assert run("init", "--protocol", PROTOCOL, "--db", db).exit_code == 0
    rows = claimant_rows(60, seed=21, as_of=AS_OF)
    file = write_claimants(tmp_path / "W10.csv", rows)
    result = run("enrol", file, "--db", db, "--as-of", AS_OF, "--out", tmp_path / "list.csv", "--lang", "en")
    assert result.exit_code == 0, result.output
    roster = list(csv.DictReader((tmp_path / "list.csv").open(encoding="utf-8")))
    return {"db": db, "file": file, "rows": rows, "roster": roster}


# --- the ledger knows its secret ------------------------------------------------------------------------------------


def test_a_second_secret_is_refused_and_the_ledger_stays_byte_identical(enrolled: dict, tmp_path: Path) -> None:
    db, file = enrolled["db"], enrolled["file"]
    before = digest(db)
    second = run("enrol", file, "--db", db, "--as-of", AS_OF, secret=OTHER)
    assert (second.exit_code, second.output.strip()) == (2, WRONG_SECRET)
    # A freshly generated key, as the old "secret file not found" hint suggested, is refused the same way.
    fresh = tmp_path / "keys" / "new.key"
    assert run("keygen", fresh).exit_code == 0
    refused = run("enrol", file, "--db", db, "--as-of", AS_OF, "--secret-file", fresh, secret=None)
    assert (refused.exit_code, refused.output.strip()) == (2, WRONG_SECRET)
    assert digest(db) == before


def test_trial_secret_naming_a_file_is_refused_with_a_hint(enrolled: dict, tmp_path: Path) -> None:
    """`TRIAL_SECRET=~/.trial/bc16.key trial enrol …` used the path as the secret and re-randomised people."""
    key = tmp_path / "bc16.key"
    assert run("keygen", key).exit_code == 0
    before = digest(enrolled["db"])
    result = run("enrol", enrolled["file"], "--db", enrolled["db"], "--as-of", AS_OF, secret=str(key))
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: TRIAL_SECRET holds the secret itself, but its value is the name of a file; "
        "set TRIAL_SECRET_FILE to the file (or pass --secret-file) instead"
    )
    assert digest(enrolled["db"]) == before


def test_the_help_says_which_variable_holds_a_path(tmp_path: Path) -> None:
    for command in (["enrol"], ["verify"], ["withdraw"], ["init"], ["analyse"], ["match", "recommend"]):
        text = " ".join(run(*command, "--help").output.split())
        assert "the file named by $TRIAL_SECRET_FILE, else $TRIAL_SECRET, which holds the secret itself (not a " \
               "path)" in text, command


def test_every_command_using_the_secret_refuses_another(enrolled: dict, tmp_path: Path) -> None:
    db = enrolled["db"]
    before = digest(db)
    cpr = enrolled["roster"][0]["cpr"]
    spells = tmp_path / "spells.csv"
    spells.write_text(f"cpr,start,end,exit\n{cpr},{AS_OF},,\n", encoding="utf-8")
    cvs = tmp_path / "cvs.csv"
    cvs.write_text(f"cpr,cv_text\n{cpr},python\n", encoding="utf-8")
    commands = [
        ("verify", "--db", db),
        ("withdraw", "--cpr", cpr, "--reason", "Flyttet", "--db", db, "--on", AS_OF),
        ("analyse", "--db", db, "--outcomes", spells, "--as-of", AS_OF),
        ("match", "recommend", "--model", tmp_path / "no-model", "--db", db, "--cvs", cvs, "--postings", cvs,
         "--out", tmp_path / "forslag"),
    ]
    for command in commands:
        result = run(*command, secret=OTHER)
        assert (result.exit_code, result.output.strip()) == (2, WRONG_SECRET), command[0]
        assert cpr not in result.output
    assert digest(db) == before


def _without_key_check(source: Path, target: Path) -> None:
    """A copy of a ledger as made before key checks: every row but the key check, in a fresh chain."""
    with Ledger.open(source) as old:
        rows = old.db.execute("SELECT kind, at, body, person_id, arm, stratum FROM log WHERE kind NOT IN "
                              "('protocol', 'key_check') ORDER BY seq").fetchall()
    with Ledger.create(target, load_protocol(PROTOCOL), PROTOCOL.read_text(encoding="utf-8")) as ledger:
        ledger.append(Entry(*row) for row in rows)


def test_a_ledger_without_key_check_gets_one_once_its_allocations_prove_the_secret(enrolled: dict,
                                                                                    tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    _without_key_check(enrolled["db"], old)
    before = digest(old)
    wrong = run("enrol", enrolled["file"], "--db", old, "--as-of", AS_OF, secret=OTHER)
    assert wrong.exit_code == 2 and wrong.output.startswith(WRONG_SECRET + " (without a key check, its allocations")
    assert digest(old) == before
    verified = run("verify", "--db", old)
    assert verified.exit_code == 0, verified.output
    with Ledger.open(old) as ledger:
        (body,) = [json.loads(b) for (b,) in ledger.db.execute("SELECT body FROM log WHERE kind = 'key_check'")]
        enrolments = ledger.count("enrolment")
    assert body["reason"] == (
        f"key check added to a ledger made without one; the secret regenerated its {enrolments} allocations"
    )
    assert set(body) == {"salt", "check", "reason"} and SECRET not in json.dumps(body)
    again = run("enrol", enrolled["file"], "--db", old, "--as-of", AS_OF, secret=OTHER)
    assert (again.exit_code, again.output.strip()) == (2, WRONG_SECRET)


def test_init_stores_the_key_check_and_never_the_secret(tmp_path: Path) -> None:
    db = tmp_path / "bc16.db"
    result = run("init", "--protocol", PROTOCOL, "--db", db)
    assert "key check of the secret stored: any other secret will be refused" in result.output
    raw = db.read_bytes()
    assert SECRET.encode() not in raw and hashlib.sha256(SECRET.encode()).hexdigest().encode() not in raw


# --- withdrawals an analyst can do ---------------------------------------------------------------------------------


def test_withdraw_by_cpr_shows_in_status(enrolled: dict) -> None:
    db, roster = enrolled["db"], enrolled["roster"]
    first, second = roster[0], roster[1]
    done = run("withdraw", "--cpr", first["cpr"], "--reason", "Flyttet fra kommunen", "--db", db, "--on", AS_OF)
    assert done.exit_code == 0, done.output
    assert done.output.strip() == (
        f"withdrawal of the person with this CPR number on {AS_OF} recorded; they stay in the intention-to-treat "
        "analysis"
    )
    # '-' reads the number from standard input, keeping it out of the shell history.
    piped = run("withdraw", "--cpr", "-", "--reason", "Flyttet", "--db", db, input=second["cpr"] + "\n")
    assert piped.exit_code == 0, piped.output
    assert first["cpr"] not in done.output and second["cpr"] not in piped.output
    status = json.loads(run("status", "--db", db, "--json", "-").output)
    expected = {arm: [first["arm"], second["arm"]].count(arm) for arm in ("treatment", "control")}
    assert status["withdrawn"] == expected
    again = run("withdraw", "--cpr", first["cpr"], "--reason", "Flyttet", "--db", db)
    assert again.exit_code == 2
    assert again.output.strip() == "error: the person with this CPR number has already withdrawn"


def test_withdrawal_dates_must_lie_between_randomisation_and_today(enrolled: dict) -> None:
    db, cpr = enrolled["db"], enrolled["roster"][0]["cpr"]
    before = digest(db)
    early = run("withdraw", "--cpr", cpr, "--reason", "Flyttet", "--db", db, "--on", AS_OF - timedelta(days=1))
    assert (early.exit_code, early.output.strip()) == (
        2, f"error: withdrawal date {AS_OF - timedelta(days=1)} lies before the randomisation of the person with "
           f"this CPR number on {AS_OF}; give a date from then to today",
    )
    tomorrow = date.today() + timedelta(days=1)
    future = run("withdraw", "--cpr", cpr, "--reason", "Flyttet", "--db", db, "--on", tomorrow)
    assert (future.exit_code, future.output.strip()) == (
        2, f"error: --on: {tomorrow} lies after today ({date.today()}); use --allow-future only for simulated data",
    )
    assert digest(db) == before


def test_withdraw_refuses_what_is_not_a_person_without_echoing_it(enrolled: dict) -> None:
    db = enrolled["db"]
    cases = {
        ("--cpr", "0101-901235x"): "error: --cpr: not a CPR number (10 digits, optionally DDMMYY-SSSS)",
        ("--cpr", "311299-1239"): "error: the person with this CPR number is not enrolled in this ledger",
        (): "error: give the person's pseudonym or --cpr, one of the two",
        ("0" * 32, "--cpr", "311299-1239"): "error: give the person's pseudonym or --cpr, one of the two",
    }
    for args, line in cases.items():
        result = run("withdraw", *args, "--reason", "Flyttet", "--db", db)
        assert (result.exit_code, result.output.strip()) == (2, line), args
    in_reason = run("withdraw", "--cpr", enrolled["roster"][0]["cpr"], "--reason", "cpr 0101901235", "--db", db)
    assert in_reason.output.strip() == (
        "error: the reason for a withdrawal looks like it holds a CPR number; the log keeps it forever"
    )


# --- dates that cannot be ------------------------------------------------------------------------------------------


def test_enrolment_and_data_cut_after_today_are_refused_unless_simulating(enrolled: dict, tmp_path: Path) -> None:
    db = enrolled["db"]
    ahead = date.today() + timedelta(days=365)
    before = digest(db)
    enrol = run("enrol", enrolled["file"], "--db", db, "--as-of", ahead)
    line = f"error: --as-of: {ahead} lies after today ({date.today()}); use --allow-future only for simulated data"
    assert (enrol.exit_code, enrol.output.strip()) == (2, line)
    assert digest(db) == before
    spells = tmp_path / "spells.csv"
    spells.write_text(f"cpr,start,end,exit\n{enrolled['roster'][0]['cpr']},{AS_OF},,\n", encoding="utf-8")
    cut = run("analyse", "--db", db, "--outcomes", spells, "--as-of", ahead)
    assert (cut.exit_code, cut.output.strip()) == (2, line)
    simulated = run("enrol", enrolled["file"], "--db", db, "--as-of", ahead, "--allow-future", "--lang", "en")
    assert simulated.exit_code == 0, simulated.output


# --- where the ledger lives ----------------------------------------------------------------------------------------

MOUNTS = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
51 27 0:52 / {share} rw,relatime - cifs //fileserver/analyse rw,vers=3.0
52 27 0:53 / /mnt/with\\040space rw,relatime - nfs4 server:/export rw
"""


def test_network_file_systems_are_recognised_from_the_mount_table() -> None:
    table = MOUNTS.format(share="/srv/share")
    assert network_filesystem("/srv/share/team/bc16.db", table) == "cifs"
    assert network_filesystem("/mnt/with space/bc16.db", table) == "nfs4"
    assert network_filesystem("/srv/shared/bc16.db", table) is None  # a prefix of the name is not a mount
    assert network_filesystem("/home/analyst/bc16.db", table) is None
    assert network_filesystem("//fileserver/analyse/bc16.db", table) == "a UNC path"
    assert network_filesystem("\\\\fileserver\\analyse\\bc16.db", table) == "a UNC path"


def _network_line(path: Path | str, kind: str) -> str:
    return (
        f"error: {path} lies on a network drive ({kind}), where SQLite's locking is unreliable and concurrent writes "
        "can corrupt the ledger; keep it on a local disk of the machine analysts log in to (see the README), or "
        "accept the risk with --allow-network-drive"
    )


def test_a_ledger_on_a_network_drive_is_refused_unless_allowed(tmp_path: Path, monkeypatch) -> None:
    unc = "//fileserver/analyse/bc16.db"
    result = run("init", "--protocol", PROTOCOL, "--db", unc)
    assert (result.exit_code, result.output.strip()) == (2, _network_line(unc, "a UNC path"))
    mounts = tmp_path / "mountinfo"
    mounts.write_text(MOUNTS.format(share=tmp_path), encoding="utf-8")
    monkeypatch.setattr("trial.ledger.MOUNTINFO", mounts)
    db = tmp_path / "bc16.db"
    refused = run("init", "--protocol", PROTOCOL, "--db", db)
    assert (refused.exit_code, refused.output.strip()) == (2, _network_line(db, "cifs"))
    assert not db.exists()
    assert run("init", "--protocol", PROTOCOL, "--db", db, "--allow-network-drive").exit_code == 0
    file = write_claimants(tmp_path / "c.csv", claimant_rows(20, seed=22, as_of=AS_OF))
    before = digest(db)
    enrol = run("enrol", file, "--db", db, "--as-of", AS_OF)
    assert (enrol.exit_code, enrol.output.strip()) == (2, _network_line(db, "cifs"))
    assert digest(db) == before
    assert run("enrol", file, "--db", db, "--as-of", AS_OF, "--allow-network-drive").exit_code == 0
    # Reading takes no lock that matters: status and export need no flag.
    assert run("status", "--db", db, "--json", "-").exit_code == 0


# --- lists that say what they are ----------------------------------------------------------------------------------


def test_out_holds_both_arms_and_treatment_out_the_treatment_arm_only(tmp_path: Path) -> None:
    db = tmp_path / "bc16.db"
    assert run("init", "--protocol", PROTOCOL, "--db", db).exit_code == 0
    file = write_claimants(tmp_path / "c.csv", claimant_rows(80, seed=23, as_of=AS_OF))
    result = run("enrol", file, "--db", db, "--as-of", AS_OF, "--out", tmp_path / "all.csv", "--treatment-out",
                 tmp_path / "lists" / "treatment.csv", "--lang", "en")
    assert result.exit_code == 0, result.output
    everyone = list(csv.DictReader((tmp_path / "all.csv").open(encoding="utf-8")))
    treatment = list(csv.DictReader((tmp_path / "lists" / "treatment.csv").open(encoding="utf-8")))
    assert {r["arm"] for r in everyone} == {"treatment", "control"}
    assert treatment == [r for r in everyone if r["arm"] == "treatment"]
    assert (tmp_path / "lists" / "treatment.csv").stat().st_mode & 0o077 == 0
    assert f"analyst's list (cpr, arm; both arms) for {len(everyone)} people written to {tmp_path / 'all.csv'} " \
           "(mode 0600); not for the consultants" in result.output
    assert f"treatment arm's list (cpr, arm) for the consultants: {len(treatment)} people written to " \
           f"{tmp_path / 'lists' / 'treatment.csv'} (mode 0600)" in result.output


def test_the_readme_names_both_lists_correctly() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    analysts = readme.split("## For analysts", 1)[1].split("\n## ", 1)[0]
    assert "--treatment-out" in analysts and "treatment-list.csv" not in analysts.split("--treatment-out")[0]
    assert "trial keygen ~/.trial/bc16.key" in analysts and "TRIAL_SECRET_FILE" in analysts
    assert "network" in analysts
