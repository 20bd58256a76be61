"""Everything an evaluation reads — protocol, allocations, registry spells, the ledger's logs — with fingerprints.

`trial analyse`, `trial report` and the demo load their inputs the same way through `load_evaluation`, so the
reproducibility stamp (input SHA-256, ledger head) means the same thing everywhere.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trial.allocations import load_allocations
from trial.analysis import analyse
from trial.errors import ParameterError, TrialError
from trial.outcomes import read_spells
from trial.protocol import Protocol, load_protocol
from trial.results import AnalysisResult, BaselineRow, ReportInputs, SavingsResult
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
        box from `savings`, or else from the protocol's finance model (see `report_savings`).
        """
        arms = [result.meta.arms.treatment, result.meta.arms.control]
        variables = list(dict.fromkeys(["age", *self.protocol.analysis.covariates]))
        return ReportInputs(
            protocol=self.protocol,
            result=result,
            screening=None if self.screening is None else consort_screening(self.screening),
            baseline=[BaselineRow.model_validate(row) for row in baseline_table(self.allocations, variables, arms)],
            savings=report_savings(self.protocol, result) if savings is None else savings,
            ledger_head=self.ledger_head,
        )


def report_savings(protocol: Protocol, result: AnalysisResult) -> SavingsResult | None:
    """Kroner of the days saved for the report's savings box; None without finance target groups or an estimate.

    Computed whether or not the report will show them: the report leaves them out when blind or the effect is hidden.
    """
    effect = result.effects.days_saved
    if not protocol.finance.target_groups or effect.estimate is None:
        return None
    low, high = effect.ci
    return savings_of(protocol, effect.estimate, None if low is None or high is None else (low, high))


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
    )
