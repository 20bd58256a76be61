"""Two-stage randomisation (issue 15): clusters' saturations from the secret, people within clusters, both verified.

Through the real CLI on real files and ledgers: balance of both stages, verify regenerating both, exclusion of
unlisted clusters, idempotence, tamper detection, concurrency, and an individual-design protocol left as it was.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import date
from itertools import pairwise
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.two_stage import CLUSTERS, ROLLOUT, cluster_rows, small_protocol, write
from trial.cli import app
from trial.clusters import cluster_saturations
from trial.enrol import enrol_file
from trial.ledger import GENESIS, Ledger, row_hash
from trial.protocol import load_protocol
from trial.status import largest_block

ROOT = Path(__file__).resolve().parents[1]
BC16 = ROOT / "protocols" / "bc16-jobmatch.toml"
SECRET = "two-stage-secret-0123456789"
AS_OF = date(2026, 3, 2)
TRIAL = Path(sys.executable).parent / "trial"
runner = CliRunner()


def run(*args: object, secret: str | None = SECRET):
    return runner.invoke(app, [str(a) for a in args], env={"TRIAL_SECRET": secret, "TRIAL_SECRET_FILE": None})


def within_cluster_gaps(alloc: pd.DataFrame) -> pd.Series:
    """Per stratum: |treated − saturation × enrolled|, the distance from the cluster's planned share."""
    grouped = alloc.groupby("stratum")
    treated = grouped["arm"].agg(lambda a: (a == "treatment").sum())
    return (treated - grouped["saturation"].first() * grouped.size()).abs()


# --- the protocol ---------------------------------------------------------------------------------------------------


def test_an_individual_protocol_keeps_its_canonical_form() -> None:
    """The two-stage keys stay out of an individual design's canonical form, so its fingerprint is unchanged."""
    canonical = json.loads(load_protocol(BC16).canonical())
    assert set(canonical["randomisation"]) == {"method", "block_sizes", "strata", "age_band_cuts"}
    rollout = json.loads(load_protocol(ROLLOUT).canonical())["randomisation"]
    assert rollout["design"] == "two_stage" and rollout["saturations"] == [0.0, 0.5, 0.8]


def test_the_rollout_protocol_has_pure_control_jobcentres_in_two_regions() -> None:
    r = load_protocol(ROLLOUT).randomisation
    assert r.cluster == "jobcenter_unit" and len(r.clusters) == 45
    assert Counter(r.cluster_strata.values()) == {"hovedstaden": 28, "sjaelland": 17}
    assert largest_block(load_protocol(ROLLOUT)) == 15  # 80% = 4/5: blocks of 5, 10 and 15


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("saturations = [0.0, 0.5, 0.8]", "saturations = [0.5, 0.8]"),
         "key 'randomisation.saturations': include 0.0: the pure-control clusters that spillover and net effects are "
         "measured against"),
        (("saturations = [0.0, 0.5, 0.8]", "saturations = [0.0, 0.33]"),
         "key 'randomisation.saturations': 0.33 is not a share p/q between 0 and 1 with q at most 20, which blocks can "
         "hold in whole people"),
        (("saturations = [0.0, 0.5, 0.8]", "saturations = [0.0, 0.5, inf]"),
         "key 'randomisation.saturations': inf is not a share p/q between 0 and 1 with q at most 20, which blocks can "
         "hold in whole people"),
        (("saturations = [0.0, 0.5, 0.8]", "saturations = [0.0, 1.0]"),
         "key 'randomisation.saturations': include a share between 0 and 1, whose clusters hold treated and "
         "untreated people (the direct effect)"),
        (('cluster = "jobcenter_unit"', 'cluster = "birth_date"'), "key 'randomisation.cluster': 'birth_date' "
         "identifies a person"),
        (('strata = ["sex"]', 'strata = ["sex", "jobcenter_unit"]'), "key 'randomisation.cluster': 'jobcenter_unit' "
         "is also a stratum; people are randomised within their cluster anyway"),
        (('"Jobcenter Valby"', '"Jobcenter Valby", "jobcenter  nord"'),
         "key 'randomisation.clusters': 'jobcenter nord' is listed twice"),  # one line: spaces collapse
        (("saturations = [0.0, 0.5, 0.8]", "saturations = [0.0, 0.5, 0.8]\nclusters_per_saturation = [2, 2, 3]"),
         "key 'randomisation': clusters_per_saturation: one count of at least 2 per saturation, adding up to the 8 "
         "clusters; got [2, 2, 3]"),
        (('design = "two_stage"', 'design = "individual"'), "key 'randomisation.cluster': only for design = "
         "'two_stage'"),
    ],
)
def test_a_bad_two_stage_protocol_is_one_line(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    path = small_protocol(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(*edit), encoding="utf-8")
    result = run("protocol", "check", path)
    assert result.exit_code == 2
    assert result.output == f"error: {path}: {message}\n"


def test_too_few_clusters_for_the_saturations(tmp_path: Path) -> None:
    path = small_protocol(tmp_path, clusters=CLUSTERS[:5])
    result = run("protocol", "check", path)
    assert result.output == (f"error: {path}: key 'randomisation': clusters: 5 clusters cannot give each of the 3 "
                             "saturations two, the fewest that show variation between clusters\n")


# --- stage one ------------------------------------------------------------------------------------------------------


def test_stage_one_is_balanced_within_regions_and_overall_for_any_secret() -> None:
    protocol = load_protocol(ROLLOUT)
    draws = [cluster_saturations(protocol, f"secret-{k:04d}".encode()) for k in range(60)]
    for draw in draws:
        assert sorted(Counter(draw.saturations.values()).values()) == [15, 15, 15]
        for region in ("hovedstaden", "sjaelland"):
            counts = Counter(s for c, s in draw.saturations.items() if draw.strata[c] == region)
            assert max(counts.values()) - min(counts.values()) <= 1
    # Reproducible with the secret, and another secret gives other draws (each cluster at each level sometimes).
    assert cluster_saturations(protocol, b"secret-0000") == draws[0]
    assert len({tuple(d.saturations.values()) for d in draws}) == len(draws)
    for cluster in protocol.randomisation.clusters[:5]:
        assert {d.saturations[cluster] for d in draws} == {0.0, 0.5, 0.8}


def test_init_needs_the_secret_and_freezes_the_draw(tmp_path: Path) -> None:
    protocol = small_protocol(tmp_path)
    result = run("init", "--protocol", protocol, "--db", tmp_path / "t.db", secret=None)
    assert result.exit_code == 2 and not (tmp_path / "t.db").exists()
    assert result.output == (
        "error: a two-stage protocol draws each cluster's saturation from the trial secret at init: give the secret "
        "($TRIAL_SECRET holds the secret itself, $TRIAL_SECRET_FILE or --secret-file the path of its file)\n"
    )
    result = run("init", "--protocol", protocol, "--db", tmp_path / "t.db")
    assert result.exit_code == 0
    line = re.search(r"two-stage design: the saturations of 8 clusters drawn from the secret and frozen "
                     r"\((\d) at 0, (\d) at 0.5, (\d) at 0.8\); see trial status", result.output)
    assert line and sorted(int(n) for n in line.groups()) == [2, 3, 3]
    with Ledger.open(tmp_path / "t.db") as ledger:
        assert ledger.cluster_saturations() == cluster_saturations(load_protocol(protocol), SECRET.encode()).saturations


# --- stage two through the CLI --------------------------------------------------------------------------------------


@pytest.fixture
def enrolled(tmp_path: Path) -> dict[str, Path]:
    protocol = small_protocol(tmp_path)
    db = tmp_path / "t.db"
    assert run("init", "--protocol", protocol, "--db", db).exit_code == 0
    file = write(tmp_path / "week.csv", cluster_rows(900, seed=5, as_of=AS_OF, outside=0.05, eligible_share=0.9))
    result = run("enrol", file, "--db", db, "--as-of", AS_OF, "--lang", "en")
    assert result.exit_code == 0, result.output
    return {"db": db, "file": file, "protocol": protocol, "output": result.output}  # type: ignore[dict-item]


def test_people_are_randomised_within_their_cluster_in_its_saturation(enrolled: dict[str, Path]) -> None:
    assert "Cluster (jobcentre) not in the trial [cluster]: " in str(enrolled["output"])
    with Ledger.open(enrolled["db"]) as ledger:
        alloc = ledger.allocations()
        drawn = ledger.cluster_saturations()
        protocol = ledger.protocol()
    assert set(alloc["cluster"]) <= set(CLUSTERS)
    assert (alloc["saturation"] == alloc["cluster"].map(drawn)).all()
    assert (alloc["stratum"].str.split("|").str[0] == "jobcenter_unit=" + alloc["cluster"]).all()
    # Every stratum within half a block of its cluster's planned share; pure control all in control.
    assert within_cluster_gaps(alloc).max() <= largest_block(protocol) / 2
    assert (alloc.loc[alloc["saturation"] == 0, "arm"] == "control").all()
    shares = alloc.groupby("saturation")["arm"].agg(lambda a: (a == "treatment").mean())
    for level, share in shares.items():
        assert abs(share - level) < 0.05


def test_verify_regenerates_both_stages_and_export_names_the_clusters(enrolled: dict[str, Path], tmp_path: Path
                                                                     ) -> None:  # fmt: skip
    result = run("verify", "--db", enrolled["db"])
    assert result.exit_code == 0
    with Ledger.open(enrolled["db"]) as ledger:
        n = len(ledger.allocations())
    assert "cluster saturations regenerated from the secret: 8 match" in result.output
    assert f"allocations regenerated from the secret: {n} match" in result.output
    assert run("export", "--db", enrolled["db"], "--out", tmp_path / "a.csv").exit_code == 0
    header = next(csv.reader((tmp_path / "a.csv").open(encoding="utf-8")))
    assert header[:6] == ["person_id", "arm", "stratum", "randomised_on", "cluster", "saturation"]
    status = run("status", "--db", enrolled["db"], "--json", "-")
    report = json.loads(status.output)
    assert sum(b["clusters"] for b in report["by_saturation"].values()) == 8
    assert sum(row["enrolled"] for row in report["clusters"]) == n == report["enrolled"]
    assert report["largest_imbalance"]["difference"] <= report["largest_block"] / 2


def test_enrolling_again_changes_nothing_and_another_secret_is_refused(enrolled: dict[str, Path]) -> None:
    with Ledger.open(enrolled["db"]) as ledger:
        before = (ledger.count(), ledger.allocations()[["person_id", "arm"]])
    again = run("enrol", enrolled["file"], "--db", enrolled["db"], "--as-of", AS_OF, "--lang", "en")
    assert "newly enrolled: 0" in again.output
    other = run("enrol", enrolled["file"], "--db", enrolled["db"], "--as-of", AS_OF, secret="another-secret-987654321")
    assert other.exit_code == 2
    with Ledger.open(enrolled["db"]) as ledger:
        assert ledger.count() == before[0] + 1  # the re-run's screening row only
        pd.testing.assert_frame_equal(ledger.allocations()[["person_id", "arm"]], before[1])


def _rewrite(db: Path, kind: str, edit: dict[str, object]) -> None:
    """Change the first row of a kind and rebuild the whole hash chain, as someone who can rewrite the file could."""
    con = sqlite3.connect(db)
    con.executescript("DROP TRIGGER log_no_update; DROP TRIGGER log_no_delete;")
    seq, body = con.execute("SELECT seq, body FROM log WHERE kind = ? ORDER BY seq LIMIT 1", (kind,)).fetchone()
    data = json.loads(body)
    for key, value in edit.items():
        if isinstance(value, dict):
            data[key] |= value
        else:
            data[key] = value
    con.execute("UPDATE log SET body = ? WHERE seq = ?", (json.dumps(data, sort_keys=True, ensure_ascii=False,
                                                                       separators=(",", ":")), seq))
    prev = GENESIS
    for row in con.execute("SELECT seq, kind, person_id, arm, stratum, at, body FROM log ORDER BY seq").fetchall():
        digest = row_hash((*row, prev))
        con.execute("UPDATE log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, row[0]))
        prev = digest
    con.executescript("""
        CREATE TRIGGER log_no_update BEFORE UPDATE ON log BEGIN SELECT RAISE(ABORT, 'no'); END;
        CREATE TRIGGER log_no_delete BEFORE DELETE ON log BEGIN SELECT RAISE(ABORT, 'no'); END;
    """)
    con.commit()
    con.close()


def test_a_rewritten_cluster_draw_is_found_by_verify(enrolled: dict[str, Path]) -> None:
    with Ledger.open(enrolled["db"]) as ledger:
        drawn = ledger.cluster_saturations()
    pure = next(c for c, s in drawn.items() if s == 0.0)
    _rewrite(enrolled["db"], "clusters", {"saturations": {pure: 0.8}})
    result = run("verify", "--db", enrolled["db"])
    assert result.exit_code == 1
    assert result.output == (f"NOT INTACT: cluster '{pure}': saturation 0.8 is not the drawn 0 — the cluster draw was "
                             "altered\n")


def test_a_rewritten_saturation_of_a_person_is_found_by_verify(enrolled: dict[str, Path]) -> None:
    with Ledger.open(enrolled["db"]) as ledger:
        first = ledger.db.execute("SELECT seq, body FROM log WHERE kind = 'enrolment' ORDER BY seq").fetchone()
    cluster = json.loads(first[1])["cluster"]
    _rewrite(enrolled["db"], "enrolment", {"saturation": 0.25})
    result = run("verify", "--db", enrolled["db"])
    assert result.exit_code == 1
    assert result.output == (f"NOT INTACT: row {first[0]}: cluster '{cluster}' and its saturation are not the ones the "
                             "ledger froze at init — the allocation was altered\n")


def test_saturation_one_puts_everyone_in_treatment(tmp_path: Path) -> None:
    protocol = small_protocol(tmp_path, saturations="[0.0, 0.5, 1.0]")
    db = tmp_path / "t.db"
    assert run("init", "--protocol", protocol, "--db", db).exit_code == 0
    file = write(tmp_path / "w.csv", cluster_rows(300, seed=8, as_of=AS_OF))
    assert run("enrol", file, "--db", db, "--as-of", AS_OF).exit_code == 0
    with Ledger.open(db) as ledger:
        alloc = ledger.allocations()
    assert (alloc.loc[alloc["saturation"] == 1.0, "arm"] == "treatment").all()
    assert (alloc.loc[alloc["saturation"] == 0.0, "arm"] == "control").all()
    assert run("verify", "--db", db).exit_code == 0


# --- properties: any arrival order and batch split; several processes at once ---------------------------------------

POOL = cluster_rows(120, seed=13, as_of=AS_OF)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.permutations(range(len(POOL))),
    cuts=st.lists(st.integers(1, len(POOL) - 1), max_size=3, unique=True),
    secret=st.binary(min_size=16, max_size=32),
)
def test_within_cluster_shares_stay_within_half_a_block_for_any_order(
    order: list[int], cuts: list[int], secret: bytes
) -> None:
    rows = [POOL[i] for i in order]
    with tempfile.TemporaryDirectory() as tmp:
        path = small_protocol(Path(tmp))
        protocol = load_protocol(path)
        ledger = Ledger.create(Path(tmp) / "t.db", protocol, path.read_text(encoding="utf-8"), secret=secret)
        for k, (lo, hi) in enumerate(pairwise([0, *sorted(cuts), len(rows)])):
            enrol_file(ledger, write(Path(tmp) / f"b{k}.csv", rows[lo:hi]), secret=secret, as_of=AS_OF)
            assert within_cluster_gaps(ledger.allocations()).max() <= largest_block(protocol) / 2
        assert len(ledger.allocations()) == len(POOL)
        assert ledger.replay_allocations(secret) == (len(POOL), None)
        ledger.close()


def test_three_concurrent_processes_enrol_each_person_once_within_their_clusters(tmp_path: Path) -> None:
    protocol = small_protocol(tmp_path)
    db = tmp_path / "t.db"
    assert run("init", "--protocol", protocol, "--db", db).exit_code == 0
    everyone = cluster_rows(700, seed=17, as_of=AS_OF)
    files = [write(tmp_path / f"part{k}.csv", everyone[k * 200 : k * 200 + 300]) for k in range(3)]
    env = {**os.environ, "TRIAL_SECRET": SECRET}
    env.pop("TRIAL_SECRET_FILE", None)
    procs = [subprocess.Popen([str(TRIAL), "enrol", str(f), "--db", str(db), "--as-of", AS_OF.isoformat()], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    with Ledger.open(db) as ledger:
        alloc = ledger.allocations()
        assert ledger.verify_chain().ok
        assert within_cluster_gaps(alloc).max() <= largest_block(ledger.protocol()) / 2
    assert len(alloc) == alloc["person_id"].nunique() == 700
    verify = run("verify", "--db", db)
    assert verify.exit_code == 0 and "700 match" in verify.output


# --- an allocation file made elsewhere ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"saturation": "0.3"}, "row 2, column 'saturation': saturation is not one of the protocol's treated shares "
                                "(0, 0.5, 0.8)"),
        ({"arm": "treatment", "saturation": "0"}, "row 2, column 'arm': a treated person in a pure-control cluster "
                                                  "(saturation 0)"),
    ],
)
def test_an_allocation_file_of_a_two_stage_trial_is_checked(tmp_path: Path, cells: dict[str, str], message: str
                                                            ) -> None:  # fmt: skip
    from trial.allocations import load_allocations

    protocol = load_protocol(small_protocol(tmp_path))
    rows = [{"person_id": f"p{i:03d}", "arm": "control", "stratum": "s", "randomised_on": "2026-03-02",
             "cluster": CLUSTERS[i % 4], "saturation": ["0", "0.5", "0.8", "0.5"][i % 4]} for i in range(12)]
    rows[0] |= cells
    path = tmp_path / "alloc.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(Exception) as caught:
        load_allocations(allocations=path, protocol=protocol)
    assert str(caught.value) == f"{path}, {message}"


def test_an_individual_ledger_exports_and_reports_as_before(tmp_path: Path) -> None:
    """No cluster draw, no cluster keys in enrolment rows, the same export columns and status keys."""
    db = tmp_path / "bc16.db"
    assert run("init", "--protocol", BC16, "--db", db).exit_code == 0
    file = write(tmp_path / "w.csv", cluster_rows(80, seed=3, as_of=AS_OF))
    assert run("enrol", file, "--db", db, "--as-of", AS_OF).exit_code == 0
    with Ledger.open(db) as ledger:
        assert ledger.cluster_saturations() is None and ledger.count("clusters") == 0
        body = json.loads(ledger.db.execute("SELECT body FROM log WHERE kind = 'enrolment'").fetchone()[0])
    assert "cluster" not in body and "saturation" not in body
    assert run("export", "--db", db, "--out", tmp_path / "a.csv").exit_code == 0
    header = next(csv.reader((tmp_path / "a.csv").open(encoding="utf-8")))
    assert header == ["person_id", "arm", "stratum", "randomised_on", "sex", "age", "age_band", "education_field"]
    report = json.loads(run("status", "--db", db, "--json", "-").output)
    assert "clusters" not in report and report["largest_block"] == 6
    verify = run("verify", "--db", db)
    assert "cluster saturations" not in verify.output and verify.exit_code == 0
