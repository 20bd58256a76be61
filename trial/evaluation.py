"""Everything an evaluation reads — protocol, allocations, registry spells, the ledger's logs — with fingerprints.

`trial analyse`, `trial report` and the demo load their inputs the same way through `load_evaluation`, so the
reproducibility stamp (input SHA-256, ledger head) means the same thing everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trial.allocations import load_allocations
from trial.analysis import analyse
from trial.errors import ParameterError, TrialError
from trial.outcomes import read_spells
from trial.protocol import Protocol, load_protocol
from trial.results import AnalysisResult, BaselineRow, Interval, ReportInputs, SavingsResult
from trial.savings import EligiblePerYear
from trial.savings import savings as savings_of
from trial.screening import consort_screening
from trial.status import baseline_table


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Evaluation:
    """The inputs of one evaluation, ready for `analyse` and the report."""

    protocol: Protocol
    allocations: pd.DataFrame
    spells: pd.DataFrame
    withdrawals: pd.DataFrame | None = None
    recommendations: pd.DataFrame | None = None
    screening: pd.DataFrame | None = None
    confirmations: pd.DataFrame | None = None  # issue 16: what consultants confirmed they showed
    ledger_head: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    # Decides which arm a blinded report calls A; never printed (see `blind_order`).
    blind_key: bytes | None = None
    amendments: list[dict[str, Any]] = field(default_factory=list)

    def analyse(self, as_of: Any, **options: Any) -> AnalysisResult:
        """The intention-to-treat analysis at the data cut `as_of` (options as for `trial.analysis.analyse`)."""
        return analyse(
            self.protocol,
            self.allocations,
            self.spells,
            as_of,
            withdrawals=self.withdrawals,
            recommendations=self.recommendations,
            confirmations=self.confirmations,
            inputs=self.inputs,
            **options,
        )

    def report_inputs(self, result: AnalysisResult, savings: SavingsResult | None = None) -> ReportInputs:
        """Everything the report of `result` shows, computed here so that the renderer only renders.

        The baseline table and the screening counts come from this evaluation's allocations and ledger; the savings
        box from the primary effect's interval of record (`report_savings`), for the eligible persons a year of
        `savings` when given, else of the ledger's screening, else of the protocol.
        """
        arms = [result.meta.arms.treatment, result.meta.arms.control]
        variables = list(dict.fromkeys(["age", *self.protocol.analysis.covariates]))
        return ReportInputs(
            protocol=self.protocol,
            result=result,
            screening=None if self.screening is None else consort_screening(self.screening),
            baseline=[BaselineRow.model_validate(row) for row in baseline_table(self.allocations, variables, arms)],
            savings=report_savings(self.protocol, result, self.eligible(savings)),
            ledger_head=self.ledger_head,
            blind_order=None if self.blind_key is None else blind_order(self.protocol, self.blind_key),
            amendments=self.amendments,
        )

    def eligible(self, savings: SavingsResult | None = None) -> EligiblePerYear | None:
        """Eligible persons a year: as `savings` counted them, else from the ledger's screening (two runs or more)."""
        population = None if savings is None else savings.trial_population
        if population is not None:
            return EligiblePerYear(population.persons_per_year, population.persons_source, population.persons_note)
        if self.screening is None or len(self.screening) < 2:
            return None
        from trial.savings import eligible_from_ledger

        return eligible_from_ledger(self.screening)

    def blind_order(self) -> tuple[str, str]:
        """The arms a blinded report calls A and B, the same in every language and rerun; refused without a key."""
        if self.blind_key is None:
            raise TrialError(
                "--blind: an allocation file does not say which arm a blinded report calls A; give the trial secret "
                "(--secret-file or $TRIAL_SECRET_FILE) or set the protocol's report.blind_seed"
            )
        return blind_order(self.protocol, self.blind_key)


BLIND_CONTEXT = b"jobmatch-trial: which arm a blinded report calls A"


def blind_order(protocol: Protocol, key: bytes) -> tuple[str, str]:
    """Arm names as a blinded report orders them (A first): one bit of HMAC-SHA256 under `key` and the protocol id.

    The key is never printed: a ledger's first enrolled pseudonym (itself an HMAC under the trial secret), else the
    protocol's `report.blind_seed`, else the trial secret; so no reader of a report can work out which arm is A.
    """
    digest = hmac.new(key, BLIND_CONTEXT + b"\x1f" + protocol.id.encode(), hashlib.sha256).digest()
    treatment, control = protocol.treatment_arm, protocol.control_arm
    return (control, treatment) if digest[0] & 1 else (treatment, control)


def interval_of_record(result: AnalysisResult, effect: Any = None) -> Interval | None:
    """The interval a decision may rest on, of `effect` (default: the primary effect): the repeated interval at the
    look's boundary (the ordinary one when no looks are planned); None where it cannot be computed."""
    effect = result.primary if effect is None else effect
    if effect is None:
        return None
    interval = effect.rci if result.interim is not None else effect.ci
    if interval is None or interval[0] is None or interval[1] is None:
        return None
    return interval


def report_savings(
    protocol: Protocol, result: AnalysisResult, eligible: EligiblePerYear | None = None
) -> SavingsResult | None:
    """Kroner of the primary effect for the report's savings box, with its interval of record (at an interim look
    the repeated interval, never the nominal one); None without a finance model or a days estimate.

    A two-stage design's kroner are its net effect per person, displacement included, with the direct effect as the
    gross figure beside it, as `trial savings --analysis` multiplies them and the report's displacement section
    says. Computed whether or not the report will show them: it leaves them out when blind or the effect is hidden.
    """
    primary = result.primary
    fin = protocol.finance
    if primary is None or primary.estimate is None or primary.name == "binary.difference":
        return None
    if not fin.target_groups and fin.trial_population is None:
        return None
    spillover = result.effects.spillover
    if spillover is not None:
        net, direct = spillover.net_per_person, spillover.direct
        if net is None or net.estimate is None:
            return None
        gross = None if direct is None or direct.estimate is None else \
            ("spillover.direct", direct.estimate, interval_of_record(result, direct))
        return savings_of(
            protocol, net.estimate, interval_of_record(result, net), effect_name="spillover.net_per_person",
            eligible=eligible, gross=gross, design="two_stage",
        )  # fmt: skip
    interval = interval_of_record(result)
    return savings_of(
        protocol, primary.estimate, None if interval is None else (interval[0], interval[1]),
        effect_name=primary.name, eligible=eligible,
    )  # fmt: skip


def load_evaluation(
    outcomes: str | Path,
    *,
    protocol: str | Path | None = None,
    db: str | Path | None = None,
    allocations: str | Path | None = None,
    secret: bytes | None = None,
    record_paths: bool = True,
) -> Evaluation:
    """Read a trial's inputs from a ledger (`db`) or an allocation file made elsewhere (then `protocol` is needed).

    A protocol given beside a ledger must be the ledger's active one. `record_paths=False` keeps file names out of
    the stamp (a blinded report must not reveal them); the SHA-256 of every input is always recorded.
    """
    if (db is None) == (allocations is None):
        got = "both" if db is not None else "neither"
        raise ParameterError("db", f"give a ledger (db) or an allocation file (allocations), one of the two; got {got}")
    if protocol is None and db is None:
        raise ParameterError("protocol", "an allocation file needs its protocol file")

    def stamp(path: str | Path, **more: Any) -> dict[str, Any]:
        return ({"path": str(path)} if record_paths else {}) | {"sha256": sha256_file(path)} | more

    evaluation_inputs: dict[str, Any] = {}
    ledger_protocol = withdrawals = recommendations = screening = head = confirmations = None
    history: list[dict[str, Any]] = []
    if db is not None:
        from trial.ledger import Ledger

        with Ledger.open(db, read_only=True) as ledger:
            ledger_protocol = ledger.protocol()
            withdrawals = ledger.withdrawals()
            screening = ledger.screening()
            log = ledger.recommendations()
            recommendations = log if len(log) else None
            confirmed = ledger.confirmations()
            confirmations = confirmed if len(confirmed) else None
            head = ledger.head_hash()
            history = ledger.protocol_history()
        evaluation_inputs["ledger"] = stamp(db, head_hash=head)
    chosen = load_protocol(protocol) if protocol is not None else ledger_protocol
    assert chosen is not None
    if protocol is not None:
        evaluation_inputs["protocol"] = stamp(protocol)
        if ledger_protocol is not None and ledger_protocol.fingerprint != chosen.fingerprint:
            raise TrialError(f"{protocol}: differs from the protocol frozen in {db} (record an amendment first)")
    frame = load_allocations(db=db, allocations=allocations, protocol=chosen)
    if allocations is not None:
        evaluation_inputs["allocations"] = stamp(allocations)
    binary = chosen.outcomes.binary
    spells = read_spells(outcomes, secret=secret, extra=(binary.column.lower(),) if binary else ())
    evaluation_inputs["outcomes"] = stamp(outcomes)
    if db is not None:
        # The first enrolled pseudonym: an HMAC under the trial secret, fixed once enrolled, never printed.
        blind_key = str(frame["person_id"].iloc[0]).encode() if len(frame) else None
    else:
        blind_key = chosen.report.blind_seed.encode() if chosen.report.blind_seed else secret
    return Evaluation(
        protocol=chosen,
        allocations=frame,
        spells=spells,
        withdrawals=withdrawals,
        recommendations=recommendations,
        screening=screening,
        confirmations=confirmations,
        ledger_head=head,
        inputs=evaluation_inputs,
        blind_key=blind_key,
        amendments=history,
    )
