"""The typed contract between the analysis and everything that reads it: frozen, documented result models.

`trial analyse` returns an `AnalysisResult`; `--json` writes it with the model's own serialiser, and savings, the
report and the demo read a file back with `AnalysisResult.load` — the one place where an analysis file is validated.
The other things a report shows (screening counts, the baseline table, savings) have their models here too, so that
`reports/` needs nothing from `trial/` but the protocol, these results and the errors.

Numbers the data cannot support are `None` (JSON null), never NaN. Arms are keyed by the protocol's arm names;
`meta.arms` says which name is the control and which the treatment, so no reader picks an arm by position.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trial.errors import InputError
from trial.files import first_problem
from trial.protocol import Protocol

Number = float | None
"""A finite number, or None where the data cannot support one."""

Interval = tuple[float | None, float | None]
"""A (lower, upper) pair; (None, None) when it cannot be computed."""

NO_INTERVAL: Interval = (None, None)


class Result(BaseModel):
    """Base of every result model: immutable, and strict about unknown fields so a typo in a file is caught."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nan(cls, value: Any) -> Any:
        return plain(value)


def plain(value: Any) -> Any:
    """Plain Python data: numpy arrays and scalars become lists and numbers, NaN and infinities become None.

    JSON has neither NaN nor infinity; the analysis reports such a figure as missing.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # a numpy array or scalar
        return plain(value.tolist())
    return value


# --- effects ------------------------------------------------------------------------------------------------------


class Effect(Result):
    """A treatment-vs-control contrast with its interval and two-sided p; None where the data cannot support it."""

    estimate: Number
    ci: Interval = NO_INTERVAL
    p: Number = None
    se: Number = Field(default=None, description="Standard error (on the log scale for a ratio's log_se).")
    rci: Interval | None = Field(
        default=None,
        description="Repeated confidence interval at the look's efficacy boundary (Jennison & Turnbull): estimate ± "
        "z_boundary × se (on the log scale for a ratio); the ordinary interval when no looks are planned.",
    )  # issue 14


class DaysSaved(Effect):
    """RMST(control) − RMST(treatment) to the horizon: analytic (survRM2) and bootstrap percentile intervals."""

    ci_bootstrap: Interval = NO_INTERVAL
    se_bootstrap: Number = None


class Coefficient(Result):
    """One coefficient of a Cox model (log hazard ratio scale)."""

    coef: Number
    se: Number
    p: Number


class HazardRatio(Effect):
    """Cox hazard ratio of employment, treatment vs control (Efron ties); `coef` and `se` on the log scale."""

    coef: Number = None
    n: int = 0
    events: int = 0
    coefficients: dict[str, Coefficient] | None = Field(default=None, description="Every term of an adjusted model.")
    covariates: list[str] | None = Field(default=None, description="The adjusted model's design columns.")


class Test(Result):
    """A test statistic, its degrees of freedom and p."""

    statistic: Number
    df: int = 1
    p: Number


class Statistic(Result):
    """A test statistic and its p (one term of a multi-term test)."""

    statistic: Number
    p: Number


class PHTest(Result):
    """Grambsch-Therneau test on scaled Schoenfeld residuals (KM time transform); `adjusted` for the adjusted model."""

    statistic: Number
    p: Number
    transform: str
    per_covariate: dict[str, Statistic]
    adjusted: PHTest | None = None


class Cace(Effect):
    """Days saved among compliers = ITT / (receipt share treatment − control) (Wald / instrumental variable).

    From release 0.2 the interval is a percentile bootstrap drawing the effect and receipt jointly (same people).
    """

    receipt_difference: Number
    outcome: str | None = Field(default=None, description="The intention-to-treat effect divided (a key of effects).")
    method: str | None = None
    assumptions: list[str] = Field(default_factory=list)


class BinaryArm(Result):
    """A binary outcome in one arm: yes out of n, with the Wilson interval."""

    n: int
    yes: int
    proportion: Number
    ci: Interval = NO_INTERVAL


class BinaryOutcome(Result):
    """A protocol's binary outcome: proportion per arm (Wilson) and the difference treatment − control (Newcombe)."""

    name: str
    column: str
    arms: dict[str, BinaryArm]
    missing: int
    difference: Effect | None = None


# === days on benefit (issue 13: the estimand finance multiplies) ====================================================
# Kept in one section; the fields they add to ArmSummary, Effects, Counts and AnalysisResult are marked "issue 13".


class ArmDays(Result):
    """Mean days on benefit in one arm, its standard error and interval; n is everyone in that analysis."""

    estimate: Number
    se: Number = None
    ci: Interval = NO_INTERVAL
    n: int = 0


class WindowArmDays(ArmDays):
    """Mean days covered by any benefit spell in [0, W) after randomisation in one arm, returns to benefit counted."""

    n_complete: int = Field(default=0, description="People observed for the whole window by the data cut.")


class WindowEffect(Effect):
    """Days on any benefit saved in [0, W) after randomisation: control minus treatment (the DREAM-style measure)."""

    window_days: int
    n_complete: int = Field(default=0, description="People observed for the whole window, both arms.")


class AdjustedDaysSaved(DaysSaved):
    """A strata-adjusted RMST difference (control − treatment) averaged over the trial population.

    Pseudo-observations (Andersen, Hansen & Klein 2004) regressed by OLS on the arm, the centred stratum indicators
    and their interactions with the arm; robust (HC0) SE; bootstrap within strata and arms.
    """

    covariates: list[str] = Field(default_factory=list, description="Design columns besides the arm.")
    method: str = ""


class PrimaryEffect(Result):
    """The protocol's primary effect (the report's headline, the figure finance multiplies) and where it lives."""

    name: str = Field(description="Its key under `effects`, e.g. 'benefit_days_saved_adjusted'.")
    adjusted: bool
    estimate: Number
    se: Number = None
    ci: Interval = NO_INTERVAL
    p: Number = None
    rci: Interval | None = Field(default=None, description="Its repeated confidence interval (issue 14).")


# === interim decisions, follow-up and what a reviewer needs beside them (issue 14) ================================
# Kept in one section; the fields they add to Interim, ArmSummary, Effects, AnalysisResult and ReportInputs are
# marked "issue 14".

Decision = Literal["continue", "stop_for_benefit", "stop_for_harm", "final"]
"""What a look decides: continue; stop for benefit or harm (the boundary crossed at an interim look); final."""


class FollowUpArm(Result):
    """How long one arm is followed: days from randomisation to the data cut, and who reaches the horizon."""

    n: int
    min_days: Number = None
    quartile_1_days: Number = None
    median_days: Number = None
    quartile_3_days: Number = None
    max_days: Number = None
    followed_to_horizon: int = Field(description="People randomised at least the horizon before the data cut.")
    share_followed_to_horizon: Number = None
    at_risk_at_horizon: int = Field(description="Still in the index spell and observed on the horizon's day.")


class Amendment(Result):
    """One entry of the protocol's history in the ledger: the frozen protocol or an amendment."""

    kind: Literal["protocol", "amendment"]
    at: str
    fingerprint: str
    reason: str | None = None


CACE_ASSUMPTIONS = (
    "randomisation: the arm is independent of potential outcomes (by design)",
    "exclusion restriction: being assigned to treatment changes days on benefit only through recommendations shown",
    "no receipt in the control arm (one-sided non-compliance; the matcher's guard refuses the control arm)",
    "receipt counts recommendations shown before the data cut while the person was in the index spell",
)


class Effects(Result):
    """Every contrast of the analysis plan."""

    days_saved: DaysSaved
    hazard_ratio: HazardRatio
    hazard_ratio_adjusted: HazardRatio
    logrank: Test
    logrank_stratified: Test | None = Field(description="None when the allocations carry no stratum.")
    employment_rate_difference: Effect
    employment_rate_ratio: Effect
    unemployed_share_difference: Effect = Field(
        description="Treatment − control of the share of the horizon spent in the index spell."
    )
    ph_test: PHTest
    binary: BinaryOutcome | None = None
    cace_days_saved: Cace | None = Field(default=None, description="Only with a recommendation log.")
    # issue 13: days on benefit, complete intention to treat, strata adjustment
    benefit_days_saved: DaysSaved | None = Field(
        default=None, description="RMST of time to any end of the index spell, control − treatment; all randomised."
    )
    benefit_days_saved_adjusted: AdjustedDaysSaved | None = None
    days_saved_adjusted: AdjustedDaysSaved | None = None
    benefit_days_all_spells_saved: dict[str, WindowEffect] | None = Field(
        default=None, description="Per window in days: days on any benefit spell in [0, W) saved, returns counted."
    )
    cace_benefit_days_saved: Cace | None = Field(default=None, description="Only with a recommendation log.")
    # issue 14
    exit_share_difference: dict[str, Effect] | None = Field(
        default=None, description="Per exit: treatment − control of its cumulative incidence by the horizon."
    )
    # issue 15
    spillover: Spillover | None = Field(default=None, description="A two-stage design's four estimands by saturation.")


# --- per arm ------------------------------------------------------------------------------------------------------


class ArmSummary(Result):
    """Counts and estimates of one arm: Kaplan-Meier median, RMST, employment by the horizon, unemployed share."""

    n: int
    events: int
    competing: int
    censored: int
    median_days: Number
    median_ci: Interval = NO_INTERVAL
    rmst_days: Number
    rmst_se: Number
    rmst_ci: Interval = NO_INTERVAL
    employment_rate: Number
    employment_rate_se: Number
    employment_rate_ci: Interval = NO_INTERVAL
    unemployed_share: Number = Field(
        description="Share of the horizon spent in the index spell (benefit_days / horizon), not Jobindsats' "
        "ledighedsgrad (a full-time-equivalent measure from hours of registered unemployment)."
    )
    unemployed_share_se: Number
    still_unemployed_at: dict[str, Number] = Field(description="Kaplan-Meier survival at each landmark day.")
    still_unemployed_ci: dict[str, Interval]
    max_follow_up_days: Number
    # issue 13
    benefit_days: ArmDays | None = Field(
        default=None, description="Restricted mean days in the index spell to the horizon (time to any exit)."
    )
    benefit_days_all_spells: dict[str, WindowArmDays] | None = Field(
        default=None, description="Per window in days: mean days on any benefit spell in [0, W)."
    )
    exits_by_horizon: dict[str, Number] | None = Field(
        default=None, description="Per exit: cumulative incidence by the horizon (Aalen-Johansen)."
    )  # issue 14


class Curve(Result):
    """Cause-specific Kaplan-Meier curve of time to employment with its pointwise log(-log) band; steps from 0."""

    time: list[float]
    survival: list[Number]
    lower: list[Number]
    upper: list[Number]


class IncidenceCurve(Result):
    """Aalen-Johansen cumulative incidence of one exit (every other exit competing); steps from 0."""

    time: list[float]
    cif: list[Number]


class Curves(Result):
    """Curves keyed by arm name (and exit type for the incidence curves)."""

    km: dict[str, Curve]
    cif: dict[str, dict[str, IncidenceCurve]]


class AtRisk(Result):
    """Numbers at risk every four weeks to the horizon, as printed under Kaplan-Meier curves."""

    times: list[int]
    by_arm: dict[str, list[int]]

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, data: Any) -> Any:
        # Files written before this model keep the arms beside 'times': {"times": [...], "control": [...], ...}.
        if isinstance(data, dict) and "by_arm" not in data:
            return {"times": data.get("times", []), "by_arm": {k: v for k, v in data.items() if k != "times"}}
        return data

    def at(self, arm: str, day: float) -> int | None:
        """The number at risk in `arm` at the last grid time on or before `day`."""
        best = None
        for t, n in zip(self.times, self.by_arm.get(arm, []), strict=False):
            if t <= day:
                best = n
        return best


class Subgroup(Result):
    """The effect within one level of a subgroup variable."""

    variable: str
    level: str
    n_by_arm: dict[str, int]
    hazard_ratio: Effect
    days_saved: Effect


class ReceiptArm(Result):
    """People of one arm with at least one logged recommendation."""

    n: int
    received: int
    share: Number


class Counts(Result):
    """Participants by arm ('total' beside the arm names): allocated, analysed, without an outcome, withdrawn."""

    allocated: dict[str, int]
    analysed: dict[str, int]
    without_outcome: dict[str, dict[str, int]] = Field(description="Per arm, people without an outcome by reason.")
    withdrawn: dict[str, int] | None = Field(default=None, description="None when no ledger was read.")
    analysed_benefit: dict[str, int] | None = Field(
        default=None, description="People in the days-on-benefit analyses: everyone randomised by the data cut."
    )  # issue 13


class Boundary(Result):
    """One look of a group-sequential design: information fraction, efficacy boundary on Z, alpha spent."""

    look: int
    information_fraction: float
    z: Number
    p_one_sided: float
    alpha_spent: float
    alpha_increment: float


class Interim(Result):
    """Which planned look a data cut is and the efficacy boundary that applies (Lan-DeMets alpha spending)."""

    spending: str
    alpha: float
    sided: int
    alpha_per_side: float
    planned_months: list[int]
    first_randomised: date
    as_of: date
    months_since_first_randomised: float
    look: int
    of: int
    final: bool
    information_fraction: float
    z_boundary: Number
    p_boundary_one_sided: Number
    p_boundary_two_sided: Number
    alpha_spent: float
    boundaries: list[Boundary]
    note_en: str
    note_da: str
    # issue 14: the decision of this look
    information: Literal["calendar", "events", "variance"] = "calendar"
    events: int | None = Field(default=None, description="Observed events of the primary test (events information).")
    planned_events: int | None = None
    planned_final_se: Number = None
    test: str | None = Field(default=None, description="The decision's test: a key of effects, or 'logrank'.")
    z: Number = Field(default=None, description="Its z: estimate / se, benefit positive (log HR > 0 for a job).")
    crossed: bool | None = Field(default=None, description="z ≥ boundary (benefit) or, two-sided, z ≤ −boundary.")
    decision: Decision | None = None


# --- provenance ---------------------------------------------------------------------------------------------------


class ProtocolRef(Result):
    """Which protocol a result belongs to."""

    id: str
    version: str
    fingerprint: str


class ArmRoles(Result):
    """The protocol's name of each arm role."""

    control: str
    treatment: str


class InputStamp(Result):
    """One input of an evaluation: its SHA-256, its path (left out of blinded reports), a ledger's head hash."""

    path: str | None = None
    sha256: str
    head_hash: str | None = None


class BootstrapInfo(Result):
    """How the bootstrap intervals were drawn."""

    replicates: int
    seed: int
    method: str


class Meta(Result):
    """Provenance of an analysis: protocol, inputs, package versions and the settings that shape every figure."""

    protocol: ProtocolRef
    arms: ArmRoles
    inputs: dict[str, InputStamp]
    packages: dict[str, str]
    as_of: date
    horizon_days: int
    index_window_days: int
    event_exits: list[str]
    competing_exits: list[str]
    bootstrap: BootstrapInfo
    alpha: float
    confidence_level: float
    km_interval: str
    benefit_windows_days: list[int] = Field(default_factory=list)  # issue 13


# --- the analysis -------------------------------------------------------------------------------------------------


class AnalysisResult(Result):
    """Every estimate of the intention-to-treat analysis plan: the output of `trial analyse`."""

    arms: dict[str, ArmSummary]
    curves: Curves
    at_risk: AtRisk
    effects: Effects
    subgroups: list[Subgroup]
    subgroup_interactions: dict[str, Test] = Field(description="Per variable: are the hazard ratios equal?")
    receipt: dict[str, ReceiptArm] | None = None
    data_quality: dict[str, int] = Field(description="Count per reason (spell rows or people), zero when none.")
    data_quality_rows: dict[str, list[int]] = Field(description="Up to five file rows as examples per reason.")
    counts: Counts
    interim: Interim | None = None
    notes: list[str]
    meta: Meta
    primary: PrimaryEffect | None = None  # issue 13
    # issue 14
    follow_up: dict[str, FollowUpArm] | None = None
    horizon_supported: bool | None = Field(
        default=None, description="False when an arm has fewer followed to the horizon than the protocol's minimum."
    )
    subgroup_interactions_days: dict[str, Test] = Field(
        default_factory=dict, description="Per variable: are the days saved equal across levels (Cochran's Q)?"
    )
    exposure: ExposureAnalysis | None = None  # issue 16: receipt's basis, exposure, effects clustered by consultant

    @property
    def control(self) -> ArmSummary:
        """The control arm's summary."""
        return self.arms[self.meta.arms.control]

    @property
    def treatment(self) -> ArmSummary:
        """The treatment arm's summary."""
        return self.arms[self.meta.arms.treatment]

    def to_json(self) -> str:
        """The JSON of `trial analyse --json`."""
        return self.model_dump_json(indent=2)

    @classmethod
    def load(cls, path: str | Path) -> AnalysisResult:
        """Read and validate an analysis file; any problem is one InputError naming the file and the first bad field."""
        from trial.files import read_text

        return cls.parse(read_text(path, "an analysis file (the JSON of `trial analyse`)"), source=str(path))

    @classmethod
    def parse(cls, text: str, *, source: str = "<analysis>") -> AnalysisResult:
        """Validate the JSON text of an analysis (see `load`)."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise InputError(f"not the JSON of `trial analyse`: {first_problem(exc)}", file=source) from None


# --- what else a report shows -------------------------------------------------------------------------------------


class ExclusionReason(Result):
    """One reason for exclusion at screening, with its label in both languages."""

    code: str
    label_da: str
    label_en: str
    n: int


class Screening(Result):
    """The screening part of the CONSORT flow, from the ledger: people, with data handling counted apart."""

    rows_read: int = Field(description="Rows read over all enrolment runs (data handling, not people).")
    duplicate_rows: int = Field(description="Identical duplicate rows ignored.")
    already_enrolled: int = Field(description="Rows of people enrolled in an earlier run (arm kept).")
    assessed: int = Field(description="People assessed for eligibility.")
    eligible: int
    excluded: list[ExclusionReason]
    enrolled: int

    @property
    def excluded_total(self) -> int:
        """Everyone excluded, whatever the reason."""
        return sum(reason.n for reason in self.excluded)


class BaselineArm(Result):
    """One arm's cell of a baseline row: n and share (a level of a category) or mean and sd (a number)."""

    n: int
    share: Number = None
    mean: Number = None
    sd: Number = None


class BaselineRow(Result):
    """A covariate (numeric) or one level of it (category) by arm, with the standardised mean difference."""

    variable: str
    level: str | None
    kind: Literal["numeric", "category"]
    arms: dict[str, BaselineArm]
    smd: Number


class Estimate(Result):
    """A figure and its interval (None when no interval was given)."""

    estimate: Number
    ci: Interval | None = None


class CostComponentSavings(Result):
    """One component of a target group: spells a year × daily cost."""

    label_da: str
    label_en: str
    spells_per_year: int
    daily_cost: float
    per_day_saved: float


class TargetGroupSavings(Result):
    """Kroner a year for one target group of the protocol, and the break-even days against the investment.

    From release 0.2 a target group is a scenario: it assumes the trial's effect per person holds for each of the
    group's spells; its figures carry no interval, because that transfer is assumed, not estimated.
    """

    id: str
    label_da: str
    label_en: str
    components: list[CostComponentSavings]
    per_day_saved_gross: float
    per_day_saved: float
    per_year: Estimate
    break_even_days: Number = Field(description="Days per spell that pay the investment back in one year (the seed's).")
    payback_years: Number
    ci_above_break_even: bool | None
    # issue 13: the multi-year view of the scenario
    npv: Estimate | None = None
    break_even_days_npv: Number = Field(default=None, description="Days per spell at which the NPV is zero.")
    rounded_to: Number = Field(default=None, description="Kroner figures are rounded to this step.")


class Suppliers(Result):
    """The suppliers' own savings estimate, before and after the protocol's haircut."""

    low: float
    high: float
    low_after_haircut: float
    high_after_haircut: float


class ConversationSavings(Result):
    """Conversations avoided when citizens manage on their own, their kroner and full-time equivalents."""

    label_da: str
    label_en: str
    share: float
    share_ci: Interval | None
    share_source: Literal["hypothesis", "given"]
    eligible_per_year: int
    conversations_per_citizen: float
    cost_per_conversation: float
    hours_per_conversation: float
    hours_per_fte: float
    conversations_avoided: Estimate
    per_year: Estimate
    fte_freed: Estimate
    break_even_share: Number
    payback_years: Number
    suppliers: Suppliers | None


# === savings of days on benefit (issue 13) =========================================================================


class SavingsEffect(Result):
    """The effect finance multiplies: which estimand of the analysis (or a given number), estimate and interval."""

    name: str = Field(description="A key of the analysis' effects, e.g. 'benefit_days_saved_adjusted'; or 'given'.")
    estimate: float
    ci: Interval | None = None
    source: Literal["analysis", "given"]
    unit: str = "calendar days on benefit per person randomised"
    note: str = ""


class Appraisal(Result):
    """The multi-year view: year 0 is the first year of investment; flows are discounted to year 0."""

    years: int
    discount_rate: float
    savings_from_year: int
    investment_by_year: list[float]
    running_cost_per_year: float
    discount_factors: list[float]
    present_value_of_costs: float = Field(description="Investment and running costs, discounted to year 0.")
    savings_years_factor: float = Field(description="Sum of the discount factors of the years with savings.")


class PopulationSavings(Result):
    """Kroner for the population the trial randomised: eligible persons a year × days saved × cost per calendar day."""

    label_da: str
    label_en: str
    persons_per_year: float
    persons_source: Literal["protocol", "ledger"]
    persons_note: str = ""
    daily_cost: float
    daily_cost_unit: Literal["calendar_day", "paid_weekday"]
    cost_per_calendar_day: float
    per_day_saved: float = Field(description="Kroner a year per day saved per person, after the haircut.")
    per_year: Estimate
    npv: Estimate
    break_even_days: Number = Field(description="Days saved per person at which the NPV over the years is zero.")
    ci_above_break_even: bool | None
    rounded_to: Number = Field(default=None, description="Kroner figures are rounded to this step.")


class SavingsResult(Result):
    """The output of `trial savings`: kroner per year for each target group, and conversations avoided."""

    protocol: ProtocolRef
    currency: str
    investment: float
    investment_note: str
    haircut: float
    days_saved: Estimate | None
    target_groups: list[TargetGroupSavings]
    conversations: ConversationSavings | None
    # issue 13
    effect: SavingsEffect | None = None
    trial_population: PopulationSavings | None = None
    appraisal: Appraisal | None = None
    # issue 15
    displacement: DisplacementSavings | None = Field(
        default=None, description="From an analysis: gross and net side by side (two-stage), or why they are gross."
    )

    def to_json(self) -> str:
        """The JSON of `trial savings --json`."""
        return self.model_dump_json(indent=2)


# --- the report ---------------------------------------------------------------------------------------------------


class ReportInputs(Result):
    """Everything a report shows, computed before it is rendered: the analysis and what the ledger and finance add."""

    protocol: Protocol
    result: AnalysisResult
    screening: Screening | None = Field(default=None, description="None without a ledger (an allocation file).")
    baseline: list[BaselineRow] = Field(default_factory=list, description="Rows of trial.status.baseline_table.")
    savings: SavingsResult | None = Field(default=None, description="None without target groups or an estimate.")
    ledger_head: str | None = None
    # issue 14
    blind_order: tuple[str, str] | None = Field(
        default=None, description="The arms a blinded report calls A and B (derived from a key it never sees)."
    )
    amendments: list[Amendment] = Field(default_factory=list, description="The protocol's history in the ledger.")


# === exposure and receipt of the recommendations (issue 16) ==================================================

# Kept in one section; the field it adds to AnalysisResult is marked "issue 16".


class LogExposure(Result):
    """How concentrated the treatment arm's recommendations were across postings, counted as `trial match recommend`
    counts them: distinct citizens per posting within windows of `window_days` days.
    """

    basis: Literal["shown", "generated"] = Field(description="Rows confirmed as shown, or every row generated.")
    citizens: int
    postings: int = Field(description="Distinct postings recommended.")
    slots: int = Field(description="Recommendations, all lists together.")
    max_per_posting: int = Field(description="The most citizens one posting reached within any window.")
    mean_per_posting: Number = Field(description="Citizens per recommended posting and window, on average.")
    gini: Number = Field(description="Gini coefficient of the citizens per posting and window.")
    top1pct_share: Number = Field(description="Share of all slots taken by the most-shown 1% of postings.")
    window_days: int
    caps: list[int] = Field(default_factory=list, description="Caps (max_per_posting) the log records in force.")


class ClusteredEffect(Effect):
    """An effect in days saved (control − treatment) with its standard error clustered by consultant."""

    estimand: Literal["itt", "cace"] = Field(description="Intention to treat, or the complier effect.")
    outcome: str | None = Field(default=None, description="The key of effects it re-estimates.")
    se_unclustered: Number = Field(default=None, description="The same estimate's heteroskedasticity-robust SE.")


class ConsultantClusters(Result):
    """Intention-to-treat and complier effects with standard errors clustered by the consultant the log names."""

    method: str
    consultants: int = Field(description="Distinct consultants named in the recommendation log.")
    people_with_consultant: int = Field(description="People randomised whose consultant the log names.")
    people: int = Field(description="People randomised by the data cut (the days-on-benefit analysis).")
    effects: dict[str, ClusteredEffect] = Field(
        description="benefit_days_saved, days_saved and their complier effects cace_benefit_days_saved, "
        "cace_days_saved (when anyone received recommendations)."
    )
    notes: list[str] = Field(default_factory=list)


class ExposureAnalysis(Result):
    """What the treatment arm was shown: which log rows receipt counts, the exposure of what was generated and of
    what was confirmed shown, and the effects clustered by consultant.
    """

    receipt_basis: Literal["shown", "generated"] = Field(
        description="'shown' once any consultant confirmed what was shown (trial match shown), else 'generated'."
    )
    receipt_definition: str
    generated: LogExposure | None = None
    shown: LogExposure | None = Field(default=None, description="None until consultants confirm what they showed.")
    confirmed_not_shown: int = Field(default=0, description="Generated rows a consultant confirmed as not shown.")
    unconfirmed: int = Field(default=0, description="Generated rows without a confirmation (basis 'shown' only).")
    by_consultant: ConsultantClusters | None = Field(
        default=None, description="None when the log names no consultant."
    )


# === two-stage designs: spillover and displacement (issue 15) =======================================================
# Kept in one section; the fields they add to Effects and SavingsResult are marked "issue 15".


class SpilloverEffect(Effect):
    """Days on benefit saved, reference group minus group: restricted mean days in the index spell to the horizon.

    `ci` and `p` come from the cluster bootstrap (clusters resampled within saturation levels): a t interval on its
    standard error with the small-sample factor G/(G − 1) of the fewest clusters G in a level involved, on
    `df` degrees of freedom (clusters minus levels); `ci_percentile` is the plain percentile interval and
    `se_cluster_robust` statsmodels' cluster-robust (CR1) standard error of the pseudo-observations, a cross-check.
    """

    ci_percentile: Interval = NO_INTERVAL
    se_cluster_robust: Number = None
    df: int | None = None
    reference: str = Field(default="", description="The reference group: 'pure_control' or 'untreated'.")
    group: str = Field(default="", description="The group compared with it: 'treated', 'untreated' or 'all'.")


class SpilloverEffects(Result):
    """The four estimands of a two-stage design, days on benefit saved (reference minus group); None where undefined.

    `direct`: untreated minus treated in the same treated clusters; `total_on_treated`: pure-control clusters minus
    the treated; `spillover_on_untreated`: pure-control clusters minus the untreated in treated clusters (negative =
    displacement); `net_per_person`: pure-control clusters minus everyone in treated clusters (the policy effect of
    rolling out at that share).
    """

    direct: SpilloverEffect | None = None
    total_on_treated: SpilloverEffect | None = None
    spillover_on_untreated: SpilloverEffect | None = None
    net_per_person: SpilloverEffect | None = None


class EmploymentSpillover(Result):
    """The four estimands on employment by the horizon (share, group minus reference: positive = more employed).

    A linear probability model among people followed for the whole horizon, with statsmodels' cluster-robust (CR1)
    standard errors and t intervals on clusters − 1 degrees of freedom.
    """

    direct: Effect | None = None
    total_on_treated: Effect | None = None
    spillover_on_untreated: Effect | None = None
    net_per_person: Effect | None = None
    n_complete: int = Field(default=0, description="People followed for the whole horizon, in the model.")


class SaturationEffects(SpilloverEffects):
    """The four estimands at one saturation level, against the pure-control clusters."""

    saturation: float
    clusters: int
    people: dict[str, int] = Field(description="People analysed: 'treated' and 'untreated' in these clusters.")
    weight: float = Field(description="This level's weight in the pooled estimands: its share of the people.")
    employment: EmploymentSpillover | None = None


class GroupCurve(Result):
    """Kaplan-Meier curve of time to a job of one group, steps from 0, with the numbers at risk at each time."""

    time: list[float]
    survival: list[Number]
    at_risk: list[int]


class Icc(Result):
    """Intra-cluster correlation of the outcome: between-cluster share of its variance (ANOVA estimator)."""

    estimate: Number
    outcome: str
    method: str
    clusters: int


class Spillover(SpilloverEffects):
    """A two-stage design's effects: the four estimands pooled over saturations (weighted by people) and by level."""

    outcome: str = Field(description="The days estimand the four are on (BC16: benefit_days_saved).")
    by_saturation: dict[str, SaturationEffects] = Field(description="Keyed by the saturation, e.g. '0.5'.")
    employment: EmploymentSpillover | None = None
    icc: Icc | None = None
    clusters: dict[str, int] = Field(description="Clusters analysed per saturation, e.g. {'0.0': 15, '0.5': 15}.")
    people: dict[str, int] = Field(description="People analysed: 'pure_control', 'treated', 'untreated'.")
    displaced_share: Effect | None = Field(
        default=None, description="Days the untreated in treated clusters lost as a share of the days the treated "
        "gained: (−spillover × untreated) / (total on the treated × treated); percentile cluster-bootstrap interval.",
    )
    curves: dict[str, dict[str, GroupCurve]] = Field(
        default_factory=dict, description="Time to a job by saturation: 'treated' and 'untreated'; '0.0' holds "
        "'pure_control'.",
    )
    bootstrap: BootstrapInfo | None = None
    method: str = ""


class DisplacementSavings(Result):
    """Gross and net savings of the trial's population side by side, or the note that savings are gross.

    Gross: the direct effect (the treated against the untreated of the same jobcentres), what an individual trial
    measures. Net: everyone in treated jobcentres against pure-control ones, the displacement of the untreated
    included — what a roll-out saves. The net is the figure `effect` multiplies.
    """

    design: Literal["two_stage", "individual"]
    gross: SavingsEffect | None = None
    net: SavingsEffect | None = None
    gross_per_year: Estimate | None = None
    net_per_year: Estimate | None = None
    gross_npv: Estimate | None = None
    net_npv: Estimate | None = None
    note_da: str
    note_en: str


SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "analysis.schema.json"


def analysis_schema() -> str:
    """The JSON Schema of `trial analyse --json`, generated from the model (the text of docs/analysis.schema.json)."""
    import json

    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **AnalysisResult.model_json_schema(mode="serialization"),
    }
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


Effects.model_rebuild()  # issue 15: Effects refers to Spillover, defined in its own section below Effects
AnalysisResult.model_rebuild()
ReportInputs.model_rebuild()
SavingsResult.model_rebuild()

if __name__ == "__main__":  # python -m trial.results: rewrite docs/analysis.schema.json from the model
    SCHEMA_PATH.write_text(analysis_schema(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
