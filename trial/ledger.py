"""The trial ledger: one append-only SQLite table whose rows form a SHA-256 hash chain.

Every fact of the trial is a row: the frozen protocol, the check of its secret, amendments, enrolments
(pseudonym, stratum, arm), screening counts, withdrawals, the recommendations generated and the consultants'
confirmations of what they showed. Triggers refuse UPDATE and DELETE, and because each row's hash covers its content
and the previous row's hash, `verify` detects a change made even after the triggers were dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from trial.errors import LedgerError, ParameterError, SecretError
from trial.protocol import Protocol, parse_protocol
from trial.randomise import BlockRandomiser
from trial.secret import PSEUDONYM_HEX, key_check, load_secret, pseudonym
from trial.tables import column_names

SCHEMA_VERSION = 1
GENESIS = "0" * 64
BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE log (
    seq       INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL,
    person_id TEXT,
    arm       TEXT,
    stratum   TEXT,
    at        TEXT NOT NULL,
    body      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE UNIQUE INDEX log_enrolled ON log(person_id) WHERE kind = 'enrolment';
CREATE INDEX log_kind ON log(kind);
CREATE TRIGGER log_no_update BEFORE UPDATE ON log
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: rows cannot be changed'); END;
CREATE TRIGGER log_no_delete BEFORE DELETE ON log
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: rows cannot be deleted'); END;
"""
TRIGGERS = ("log_no_update", "log_no_delete")
# What a generated recommendation records besides posting_id and rank (None where not known or not in force).
RECOMMENDATION_FIELDS = ("score", "served_on", "model_version", "max_per_posting", "window_days", "consultant_id")
RECOMMENDATION_COLUMNS = ["person_id", "posting_id", "rank", "shown_at", *RECOMMENDATION_FIELDS, "status"]
CONFIRMATION_COLUMNS = ["person_id", "posting_id", "served_on", "status", "consultant_id", "confirmed_at"]
_CPR_LIKE = re.compile(r"\d{6}-?\d{4}")
_PSEUDONYM = re.compile(rf"[0-9a-f]{{{PSEUDONYM_HEX}}}")
WRONG_SECRET = (
    "this secret is not the one this ledger was created with; give the trial's own secret "
    "($TRIAL_SECRET holds the secret itself, $TRIAL_SECRET_FILE or --secret-file the path of its file)"
)
# Where SQLite's file locking cannot be trusted (https://www.sqlite.org/faq.html#q5): network and shared-folder
# file systems, as named in the third-last field group of /proc/self/mountinfo.
NETWORK_FILESYSTEMS = frozenset({
    "cifs", "smb3", "smb2", "smbfs", "nfs", "nfs4", "ncpfs", "afs", "9p", "ceph", "glusterfs", "lustre", "gpfs",
    "beegfs", "davfs", "fuse.sshfs", "sshfs", "fuse.davfs2", "fuse.glusterfs", "fuse.rclone", "fuse.s3fs",
})
MOUNTINFO = Path("/proc/self/mountinfo")


def _reason(text: str, what: str) -> str:
    """A free-text reason fit for the append-only log: given, and never holding anything like a CPR number."""
    if not text.strip():
        raise LedgerError(f"{what} needs a reason (--reason)")
    if _CPR_LIKE.search(text):
        raise LedgerError(f"the reason for {what} looks like it holds a CPR number; the log keeps it forever")
    return text.strip()


_COLUMNS = ("seq", "kind", "person_id", "arm", "stratum", "at", "body", "prev_hash")


def canonical_json(value: Any) -> str:
    """Sorted-key compact JSON: the one byte form that is hashed."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def row_hash(row: Sequence[Any]) -> str:
    """SHA-256 of a row's content (seq, kind, person_id, arm, stratum, at, body) and the previous hash.

    The fields are joined by the unit separator (0x1F), an empty string standing for NULL; `body` is already
    canonical JSON, so an auditor can recompute the hash with any SHA-256 tool.
    """
    text = "\x1f".join("" if value is None else str(value) for value in row)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    """A row to append; seq and hashes are assigned by the ledger."""

    kind: str
    at: str
    body: dict[str, Any] | str  # a dict, or JSON text already serialised
    person_id: str | None = None
    arm: str | None = None
    stratum: str | None = None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    message: str
    bad_seq: int | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def network_filesystem(path: str | Path, mountinfo: str | None = None) -> str | None:
    """The network file system a file lies on (e.g. 'cifs', 'nfs4', 'a UNC path'), or None on a local disk.

    `mountinfo` is the text of /proc/self/mountinfo (read when not given); the longest mount point holding the
    file's folder names its file system type.
    """
    text = str(path)
    if text.startswith(("\\\\", "//")):
        return "a UNC path"
    if mountinfo is None:
        try:
            mountinfo = MOUNTINFO.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None  # not Linux: nothing to tell
    folder = os.path.realpath(Path(path).expanduser().absolute().parent)
    best, kind = "", None
    for line in mountinfo.splitlines():
        fields, separator, rest = line.partition(" - ")
        parts = fields.split()
        if not separator or len(parts) < 5 or not rest.split():
            continue
        mount = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[4])
        inside = folder == mount or folder.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, rest.split()[0]
    return kind if kind in NETWORK_FILESYSTEMS else None


def _refuse_network_drive(path: Path) -> None:
    kind = network_filesystem(path)
    if kind is not None:
        raise LedgerError(
            f"{path} lies on a network drive ({kind}), where SQLite's locking is unreliable and concurrent writes "
            "can corrupt the ledger; keep it on a local disk of the machine analysts log in to "
            "(see the README), or accept the risk with --allow-network-drive"
        )


def _key_check_body(secret: bytes) -> dict[str, str]:
    salt = secrets.token_hex(16)
    return {"salt": salt, "check": key_check(secret, salt)}


class Ledger:
    """An open ledger file. Writes go through `transaction()`, which holds SQLite's write lock throughout."""

    def __init__(self, path: Path, connection: sqlite3.Connection, *, read_only: bool = False) -> None:
        self.path = path
        self.db = connection
        self.read_only = read_only

    # -- opening -------------------------------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA synchronous = FULL")
        return connection

    @classmethod
    def create(
        cls,
        path: str | Path,
        protocol: Protocol,
        protocol_text: str,
        *,
        secret: bytes | None = None,
        allow_network_drive: bool = False,
    ) -> Ledger:
        """Create a new ledger with the protocol frozen in its first row and, given the secret, its key check.

        A file is never overwritten; a ledger created without the secret gets its key check at the first use of one.
        """
        path = Path(path)
        if not allow_network_drive:
            _refuse_network_drive(path)
        if path.exists():
            raise LedgerError(f"{path} exists already; a ledger is never overwritten")
        if not path.parent.exists():
            raise LedgerError(f"folder {path.parent} does not exist")
        connection = cls._connect(path)
        try:
            connection.executescript(_SCHEMA)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            ledger = cls(path, connection)
            entries = [Entry("protocol", _now(), _protocol_body(protocol, protocol_text))]
            if secret is not None:
                entries.append(Entry("key_check", _now(), _key_check_body(secret)))
            if protocol.randomisation.two_stage:
                entries.append(_clusters_entry(protocol, secret))
            ledger.append(entries)
        except BaseException:
            connection.close()
            path.unlink(missing_ok=True)
            raise
        return ledger

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False, allow_network_drive: bool = False) -> Ledger:
        """Open an existing ledger, refusing files that are not one, and for writing one on a network drive.

        A ledger opened `read_only` refuses every write, and may lie anywhere.
        """
        path = Path(path)
        if not (read_only or allow_network_drive):
            _refuse_network_drive(path)
        if not path.is_file():
            raise LedgerError(f"ledger {path} not found (create it with: trial init --protocol FILE --db {path})")
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError:
            connection.close()
            raise LedgerError(f"{path} is not a trial ledger (not an SQLite database)") from None
        connection.close()
        connection = cls._connect(path)
        if "log" not in tables or version != SCHEMA_VERSION:
            connection.close()
            raise LedgerError(f"{path} is not a trial ledger of this version (schema {version})")
        return cls(path, connection, read_only=read_only)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Ledger]:
        """BEGIN IMMEDIATE … COMMIT: concurrent writers queue on the lock; any failure rolls everything back."""
        if self.read_only:
            raise LedgerError(f"{self.path} was opened for reading only")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _append(self, entries: Iterable[Entry]) -> int:
        """Append entries inside the caller's transaction, extending the hash chain."""
        last = self.db.execute("SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0], last[1]) if last else (0, GENESIS)
        rows = []
        for entry in entries:
            seq += 1
            body = entry.body if isinstance(entry.body, str) else canonical_json(entry.body)
            content = (seq, entry.kind, entry.person_id, entry.arm, entry.stratum, entry.at, body, prev)
            prev = row_hash(content)
            rows.append((*content, prev))
        self.db.executemany("INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def append(self, entries: Iterable[Entry]) -> int:
        """Append entries in a transaction of their own."""
        with self.transaction():
            return self._append(entries)

    def check_secret(self, secret: bytes) -> None:
        """Refuse a secret other than the one the ledger was created with (SecretError), before anything is written.

        A ledger made before key checks proves the secret by regenerating its allocations instead; inside a write
        transaction its key check is then recorded, so the next command needs one HMAC.
        """
        row = self.db.execute("SELECT body FROM log WHERE kind = 'key_check' ORDER BY seq LIMIT 1").fetchone()
        if row is not None:
            stored = json.loads(row[0])
            if not hmac.compare_digest(key_check(secret, stored["salt"]), stored["check"]):
                raise SecretError(WRONG_SECRET)
            return
        checked, problem = self.replay_allocations(secret)
        if problem is not None:
            raise SecretError(f"{WRONG_SECRET} (without a key check, its allocations tell: {problem})")
        if self.db.in_transaction and not self.read_only:
            reason = f"key check added to a ledger made without one; the secret regenerated its {checked} allocations"
            self._append([Entry("key_check", _now(), _key_check_body(secret) | {"reason": reason})])

    def replay_allocations(self, secret: bytes) -> tuple[int, str | None]:
        """Replay every enrolment in ledger order against the secret's sequence; the first mismatch is named.

        In a two-stage design each person's blocks hold the saturation the ledger froze for their cluster.
        """
        protocol = self.protocol()
        randomiser = BlockRandomiser.for_protocol(protocol, secret)
        saturation_of = self.cluster_saturations() or {}
        positions: dict[str, int] = {}
        checked = 0
        rows = self.db.execute(
            "SELECT seq, arm, stratum, body FROM log WHERE kind = 'enrolment' ORDER BY seq"
        ).fetchall()
        for seq, arm, stratum, body in rows:
            position = positions.get(stratum, 0)
            positions[stratum] = position + 1
            data = json.loads(body)
            saturation = None
            if protocol.randomisation.two_stage:
                level = saturation_of.get(data.get("cluster"))
                if level is None or data.get("saturation") != level:
                    return checked, f"row {seq}: cluster '{data.get('cluster')}' and its saturation are not the " \
                                    "ones the ledger froze at init"
                saturation = protocol.randomisation.saturation_fraction(level)
            expected = randomiser.assign(stratum, position, saturation)
            if expected.arm != arm or expected.block != data.get("block"):
                return checked, (
                    f"row {seq}: arm '{arm}' is not the one the allocation sequence gives ('{expected.arm}')"
                )
            checked += 1
        return checked, None

    def cluster_saturations(self) -> dict[str, float] | None:
        """Each cluster's saturation as frozen at init (a two-stage design), or None."""
        row = self.db.execute("SELECT body FROM log WHERE kind = 'clusters' ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else {str(c): float(s) for c, s in json.loads(row[0])["saturations"].items()}

    def replay_clusters(self, secret: bytes) -> tuple[int, str | None]:
        """Stage one regenerated from the secret and compared with the ledger's frozen draw; the first difference."""
        from trial.clusters import cluster_saturations

        protocol = self.protocol()
        frozen = self.cluster_saturations()
        if not protocol.randomisation.two_stage:
            return 0, None if frozen is None else "the ledger holds a cluster draw, but its protocol is individual"
        if frozen is None:
            return 0, "the two-stage ledger holds no cluster draw"
        drawn = cluster_saturations(protocol, secret).saturations
        for cluster, saturation in drawn.items():
            if frozen.get(cluster) != saturation:
                return 0, f"cluster '{cluster}': saturation {frozen.get(cluster)} is not the drawn {saturation:g}"
        if set(frozen) != set(drawn):
            return 0, f"the cluster draw lists {sorted(set(frozen) - set(drawn))[0]!r}, which the protocol does not"
        return len(drawn), None

    def amend(self, protocol: Protocol, protocol_text: str, reason: str) -> None:
        """Record a protocol amendment; arms and randomisation cannot change once anyone is enrolled."""
        current = self.protocol()
        if protocol.fingerprint == current.fingerprint:
            raise LedgerError("the protocol is unchanged: nothing to amend")
        if protocol.id != current.id:
            raise LedgerError(f"protocol id '{protocol.id}' differs from the ledger's '{current.id}'")
        if (protocol.arms, protocol.randomisation) != (current.arms, current.randomisation):
            raise LedgerError("an amendment cannot change the arms or the randomisation; start a new ledger")
        body = _protocol_body(protocol, protocol_text) | {
            "reason": _reason(reason, "an amendment"),
            "replaces": current.fingerprint,
        }
        self.append([Entry("amendment", _now(), body)])

    def withdraw(self, person: str, reason: str, on: date, *, secret: bytes | None = None) -> str:
        """Record a withdrawal on or after the person's randomisation; they stay in the intention-to-treat analysis.

        `person` is a pseudonym or, with the secret, a CPR number, pseudonymised here and never stored or echoed.
        Returns the pseudonym.
        """
        reason = _reason(reason, "a withdrawal")
        if secret is not None:
            digits = re.sub(r"[\s-]", "", person)
            if not re.fullmatch(r"[0-9]{10}", digits):
                raise ParameterError("cpr", "not a CPR number (10 digits, optionally DDMMYY-SSSS)")
            person_id, who = pseudonym(digits, secret), "the person with this CPR number"
        elif _PSEUDONYM.fullmatch(person):
            person_id, who = person, f"person {person}"
        else:
            # Not echoed: a CPR number typed by mistake must not be printed back.
            raise LedgerError(
                f"give the pseudonym ({PSEUDONYM_HEX} hexadecimal characters, as in trial export) or use --cpr"
            )
        with self.transaction():
            if secret is not None:
                self.check_secret(secret)
            row = self.db.execute(
                "SELECT arm, at FROM log WHERE kind = 'enrolment' AND person_id = ?", (person_id,)
            ).fetchone()
            if row is None:
                raise LedgerError(f"{who} is not enrolled in this ledger")
            randomised = date.fromisoformat(row[1][:10])
            if on < randomised:
                raise LedgerError(f"withdrawal date {on.isoformat()} lies before the randomisation of {who} on "
                                  f"{randomised.isoformat()}; give a date from then to today")
            again = self.db.execute(
                "SELECT 1 FROM log WHERE kind = 'withdrawal' AND person_id = ?", (person_id,)
            ).fetchone()
            if again:
                raise LedgerError(f"{who} has already withdrawn")
            self._append([Entry("withdrawal", on.isoformat(), {"reason": reason}, person_id, row[0])])
        return person_id

    def log_recommendations(
        self, rows: Iterable[tuple[str, str, int] | Mapping[str, Any]], shown_at: datetime | str
    ) -> int:
        """Append what was generated for the consultants; refuses anyone not enrolled in the treatment arm.

        A row is (person_id, posting_id, rank) or a mapping with those keys and any of `RECOMMENDATION_FIELDS`
        (score, served_on, model version, the cap in force, the consultant's pseudonym); each is logged with
        status 'generated'. A consultant_id that looks like a CPR number is refused before anything is written.
        """
        at = shown_at if isinstance(shown_at, str) else shown_at.isoformat(timespec="seconds")
        treatment = self.protocol().treatment_arm
        bodies = [_recommendation_body(row) for row in rows]
        with self.transaction():
            arms = self._arms_of({person for person, _ in bodies})
            outside = sorted({person for person, _ in bodies if arms.get(person) != treatment})
            if outside:
                raise LedgerError(f"{len(outside)} person(s) are not in the treatment arm; nothing was logged")
            return self._append(Entry("recommendation", at, body, person, treatment) for person, body in bodies)

    def confirm_shown(self, rows: Iterable[Mapping[str, Any]], confirmed_at: datetime | str) -> dict[str, int]:
        """Append consultants' confirmations of generated recommendations: each row's person_id, posting_id and
        served_on name one, `shown` says whether it was shown, `consultant_id` who confirmed.

        A confirmation already recorded with the same answer is skipped; a different answer is appended and is the
        one that counts from then on. Returns counts: shown, not_shown, unchanged, changed.
        """
        at = confirmed_at if isinstance(confirmed_at, str) else confirmed_at.isoformat(timespec="seconds")
        wanted = [_confirmation_body(row) for row in rows]
        treatment = self.protocol().treatment_arm
        counts = {"shown": 0, "not_shown": 0, "unchanged": 0, "changed": 0}
        with self.transaction():
            generated = self.recommendations()
            known = set(zip(generated["person_id"], generated["posting_id"], generated["served_on"], strict=True))
            unknown = [key for key, _ in wanted if key not in known]
            if unknown:
                raise LedgerError(f"{len(unknown)} confirmation(s) name no recommendation in the log (person, "
                                  "posting and day served); nothing was recorded")
            earlier = self.confirmations()
            latest = dict(zip(zip(earlier["person_id"], earlier["posting_id"], earlier["served_on"], strict=True),
                              earlier["status"], strict=True))
            entries = []
            for key, body in dict(wanted).items():  # a key given twice: its last row counts
                before = latest.get(key)
                if before == body["status"]:
                    counts["unchanged"] += 1
                    continue
                counts["changed" if before is not None else body["status"]] += 1
                entries.append(Entry("shown", at, body, key[0], treatment))
            self._append(entries)
        return counts

    # -- reading -------------------------------------------------------------------------------------------
    def _bodies(self, kind: str) -> list[tuple[Any, ...]]:
        return self.db.execute(
            "SELECT seq, person_id, arm, stratum, at, body FROM log WHERE kind = ? ORDER BY seq", (kind,)
        ).fetchall()

    def protocol(self) -> Protocol:
        """The active protocol: the latest amendment, or the one frozen at init."""
        row = self.db.execute(
            "SELECT body FROM log WHERE kind IN ('protocol', 'amendment') ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise LedgerError(f"{self.path} holds no protocol")
        return parse_protocol(json.loads(row[0])["text"], source=f"{self.path} (frozen protocol)")

    def protocol_history(self) -> list[dict[str, Any]]:
        """The frozen protocol and each amendment: kind, time, fingerprint, reason."""
        rows = self.db.execute(
            "SELECT kind, at, body FROM log WHERE kind IN ('protocol', 'amendment') ORDER BY seq"
        ).fetchall()
        return [
            {"kind": k, "at": at, "fingerprint": json.loads(b)["fingerprint"], "reason": json.loads(b).get("reason")}
            for k, at, b in rows
        ]

    def _arms_of(self, person_ids: Iterable[str]) -> dict[str, str]:
        ids = list(person_ids)
        if len(ids) > 2000:
            # One scan of the enrolments beats thousands of index probes for a whole weekly extract.
            wanted = set(ids)
            everyone = self.db.execute("SELECT person_id, arm FROM log WHERE kind = 'enrolment'").fetchall()
            return {p: a for p, a in everyone if p in wanted}
        found: dict[str, str] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            found.update(
                self.db.execute(
                    f"SELECT person_id, arm FROM log WHERE kind = 'enrolment' AND person_id IN ({marks})", chunk
                ).fetchall()
            )
        return found

    def arms_of(self, person_ids: Iterable[str]) -> dict[str, str]:
        """Arm by pseudonym for those enrolled; unknown pseudonyms are absent."""
        return self._arms_of(person_ids)

    def stratum_counts(self) -> dict[str, int]:
        """Enrolments so far per stratum: the position of the next person in each stratum's sequence."""
        return dict(
            self.db.execute("SELECT stratum, COUNT(*) FROM log WHERE kind = 'enrolment' GROUP BY stratum").fetchall()
        )

    def allocations(self) -> pd.DataFrame:
        """One row per enrolled person: person_id, arm, stratum, randomised_on and the baseline covariates."""
        rows = self._bodies("enrolment")
        records = [
            {"person_id": p, "arm": a, "stratum": s, "randomised_on": at, **json.loads(b)}
            for _seq, p, a, s, at, b in rows
        ]
        frame = pd.DataFrame.from_records(
            records, columns=None if records else ["person_id", "arm", "stratum", "randomised_on"]
        )
        frame["randomised_on"] = pd.to_datetime(frame["randomised_on"])
        return frame

    def screening(self) -> pd.DataFrame:
        """One row per enrolment run with its counts, for the CONSORT diagram (`trial.screening.consort_screening`).

        `people` holds the run's screening tokens by outcome ('eligible' or a reason code), or None for runs
        recorded before tokens; no CPR number, pseudonym or covariate is among them.
        """
        records = []
        for seq, _p, _a, _s, at, body in self._bodies("screening"):
            data = json.loads(body)
            flat = {"seq": seq, "as_of": at, "file": data["file"], "file_sha256": data["file_sha256"]}
            flat |= {k: data[k] for k in ("read", "duplicate_rows", "already_enrolled", "eligible")}
            flat["blank_rows"] = data.get("blank_rows", 0)
            flat |= {f"excluded_{k}": v for k, v in data["excluded"].items()}
            flat |= {f"enrolled_{k}": v for k, v in data["enrolled"].items()}
            flat["people"] = data.get("people")
            records.append(flat)
        if not records:
            return pd.DataFrame()
        frame = pd.DataFrame.from_records(records)
        counts = [c for c in frame.columns if c.startswith(("excluded_", "enrolled_"))]
        frame[counts] = frame[counts].fillna(0).astype(int)
        return frame

    def withdrawals(self) -> pd.DataFrame:
        rows = self._bodies("withdrawal")
        return pd.DataFrame(
            [(p, a, at, json.loads(b)["reason"]) for _s, p, a, _st, at, b in rows],
            columns=["person_id", "arm", "withdrawn_on", "reason"],
        )

    def recommendations(self) -> pd.DataFrame:
        """The recommendation log, one row per posting generated for a citizen: person_id, posting_id, rank,
        shown_at (when the run was logged) and `RECOMMENDATION_FIELDS` and status (None where an older ledger
        lacks them; served_on then is shown_at's day).
        """
        records = []
        for _s, person, _a, _st, at, body in self._bodies("recommendation"):
            data = json.loads(body)
            records.append({"person_id": person, "posting_id": data["posting_id"], "rank": data["rank"],
                            "shown_at": at} | {k: data.get(k) for k in (*RECOMMENDATION_FIELDS, "status")})
        frame = pd.DataFrame.from_records(records, columns=RECOMMENDATION_COLUMNS)
        if len(frame):
            frame["served_on"] = frame["served_on"].fillna(frame["shown_at"].str.slice(0, 10))
            frame["status"] = frame["status"].fillna("generated")
        return frame

    def confirmations(self) -> pd.DataFrame:
        """Every confirmation recorded by `trial match shown`, in ledger order: person_id, posting_id, served_on,
        status ('shown' or 'not_shown'), consultant_id, confirmed_at. A later row for the same recommendation
        replaces an earlier one.
        """
        records = []
        for _s, person, _a, _st, at, body in self._bodies("shown"):
            data = json.loads(body)
            records.append((person, data["posting_id"], data["served_on"], data["status"], data.get("consultant_id"),
                            at))
        return pd.DataFrame(records, columns=CONFIRMATION_COLUMNS)

    def head_hash(self) -> str:
        """The hash of the last row: write it down, and any later rewrite of history shows."""
        row = self.db.execute("SELECT hash FROM log ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else GENESIS

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return int(self.db.execute("SELECT COUNT(*) FROM log").fetchone()[0])
        return int(self.db.execute("SELECT COUNT(*) FROM log WHERE kind = ?", (kind,)).fetchone()[0])

    # -- integrity -----------------------------------------------------------------------------------------
    def verify_chain(self) -> VerifyResult:
        """Recompute every row's hash in order: a changed, deleted or reordered row breaks the chain."""
        prev = GENESIS
        n = 0
        cursor = self.db.execute(f"SELECT {', '.join(_COLUMNS)}, hash FROM log ORDER BY rowid")
        for expected_seq, row in enumerate(cursor, start=1):
            n = expected_seq
            seq = row[0]
            if seq != expected_seq:
                return VerifyResult(False, n, f"row {expected_seq} is missing or out of order (found {seq})", seq)
            if row[7] != prev:
                return VerifyResult(False, n, f"row {seq} does not follow row {seq - 1} (deleted or reordered)", seq)
            if row_hash(row[:8]) != row[8]:
                return VerifyResult(False, n, f"row {seq} ({row[1]}) was changed after it was written", seq)
            prev = row[8]
        if n == 0:
            return VerifyResult(False, 0, "the ledger has no rows", None)
        present = {
            r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'log'")
        }
        missing = [t for t in TRIGGERS if t not in present]
        if missing:
            return VerifyResult(False, n, f"the append-only triggers were removed: {', '.join(missing)}", None)
        return VerifyResult(True, n, f"{n} rows intact; head {prev}")


def _consultant(value: Any) -> str | None:
    """A consultant's pseudonym fit for the log: None when empty; refused when it looks like a CPR number."""
    text = "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()
    if _CPR_LIKE.search(text):
        raise LedgerError("a consultant_id looks like a CPR number; the log keeps only pseudonyms; nothing was logged")
    return text or None


def _recommendation_body(row: tuple[str, str, int] | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The person and the body of one generated recommendation (plain JSON values, status 'generated')."""
    if not isinstance(row, Mapping):
        person, posting, rank = row
        return str(person), {"posting_id": str(posting), "rank": int(rank), "status": "generated"}
    body: dict[str, Any] = {"posting_id": str(row["posting_id"]), "rank": int(row["rank"]), "status": "generated"}
    for name in RECOMMENDATION_FIELDS:
        value = row.get(name)
        if name == "consultant_id":
            value = _consultant(value)
        elif value is None or pd.isna(value):
            value = None
        elif name == "score":
            value = float(value)
        elif name in ("max_per_posting", "window_days"):
            value = int(value)
        else:
            value = str(value)
        body[name] = value
    return str(row["person_id"]), body


def _confirmation_body(row: Mapping[str, Any]) -> tuple[tuple[str, str, str], dict[str, Any]]:
    """The key (person_id, posting_id, served_on) and the body of one confirmation."""
    served = row["served_on"]
    served = served.isoformat() if isinstance(served, date) else str(served)[:10]
    key = (str(row["person_id"]), str(row["posting_id"]), served)
    body = {"posting_id": key[1], "served_on": served, "status": "shown" if row["shown"] else "not_shown",
            "consultant_id": _consultant(row.get("consultant_id"))}
    return key, body


def _clusters_entry(protocol: Protocol, secret: bytes | None) -> Entry:
    """Stage one of a two-stage design, frozen at init: each cluster's saturation drawn from the secret."""
    from trial.clusters import cluster_saturations

    if secret is None:
        raise LedgerError(
            "a two-stage protocol draws each cluster's saturation from the trial secret at init: give the secret "
            "($TRIAL_SECRET holds the secret itself, $TRIAL_SECRET_FILE or --secret-file the path of its file)"
        )
    return Entry("clusters", _now(), cluster_saturations(protocol, secret).body())


def _protocol_body(protocol: Protocol, text: str) -> dict[str, Any]:
    return {"fingerprint": protocol.fingerprint, "id": protocol.id, "version": protocol.version, "text": text}


def checked_secret(db: str | Path, data_file: str | Path, secret_file: str | Path | None = None) -> bytes | None:
    """The secret for a data file keyed by CPR number, refused unless it is the ledger's; None for other files.

    The ledger is only read: a ledger without a key check is checked by its allocations, and gets one recorded
    by the next command that writes.
    """
    names = column_names(data_file)
    if "cpr" not in names or "person_id" in names:
        return None
    secret = load_secret(secret_file)
    with Ledger.open(db, read_only=True) as ledger:
        ledger.check_secret(secret)
    return secret
