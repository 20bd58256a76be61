"""A trial is data: the protocol TOML file, validated on load and fingerprinted for the ledger."""

from __future__ import annotations

import hashlib
import json
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from trial.errors import InputError
from trial.files import first_problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Eligibility(_Strict):
    """Who may be randomised; every rule that fails becomes an exclusion reason."""

    description: str = ""
    education_level: list[str] | None = None
    benefit: list[str] | None = None
    has_cv: bool | None = None
    max_days_registered: int | None = Field(default=None, ge=0)
    min_age: int | None = Field(default=None, ge=0)
    max_age: int | None = Field(default=None, ge=0)
    # Further required columns of the claimant file: column -> required value (bool, str or list of str).
    require: dict[str, bool | str | list[str]] = Field(default_factory=dict)


class Arm(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    role: Literal["treatment", "control"]
    ratio: int = Field(default=1, ge=1)
    label_da: str = ""
    label_en: str = ""


# The keys of a two-stage design: left out of the canonical form of an individual design, so that the fingerprint of
# every protocol written before them is unchanged.
TWO_STAGE_KEYS = ("design", "cluster", "clusters", "saturations", "clusters_per_saturation", "cluster_strata")
# A saturation is held in whole people by blocks of q (or 2q, 3q …) people: p/q with q at most this.
MAX_SATURATION_DENOMINATOR = 20


class Randomisation(_Strict):
    """How people are drawn: permuted blocks within strata, individually or within clusters of a drawn saturation.

    `design = "two_stage"` first draws each cluster's saturation (its planned treated share) from the secret, balanced
    over `saturations` (equal or ±1 clusters each, or `clusters_per_saturation`; within `cluster_strata` if given),
    then randomises people within their cluster by permuted blocks in the ratio of its saturation.
    """

    method: Literal["permuted_blocks"] = "permuted_blocks"
    block_sizes: list[int] = Field(min_length=1)
    strata: list[str] = Field(default_factory=list)
    age_band_cuts: list[int] = Field(default_factory=lambda: [30])
    design: Literal["individual", "two_stage"] = "individual"
    # The claimant extract's column naming a person's cluster (e.g. jobcenter_unit or a municipality code).
    cluster: str | None = None
    clusters: list[str] = Field(default_factory=list)
    saturations: list[float] = Field(default_factory=list)
    clusters_per_saturation: list[int] | None = None
    # Cluster → its stratum (e.g. region): saturations are balanced within each stratum of clusters.
    cluster_strata: dict[str, str] = Field(default_factory=dict)

    @model_serializer(mode="wrap")
    def _canonical(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if self.design == "individual":
            for key in TWO_STAGE_KEYS:
                data.pop(key, None)
        return data

    @field_validator(*TWO_STAGE_KEYS[1:])
    @classmethod
    def _only_two_stage(cls, value: Any, info: ValidationInfo) -> Any:
        if value and info.data.get("design", "individual") == "individual":
            raise ValueError("only for design = 'two_stage'")
        return value

    @field_validator("cluster")
    @classmethod
    def _cluster_column(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value.lower() in IDENTIFYING_COLUMNS:
            raise ValueError(f"'{value}' identifies a person")
        if value is not None and value in info.data.get("strata", []):
            raise ValueError(f"'{value}' is also a stratum; people are randomised within their cluster anyway")
        return value

    @field_validator("clusters")
    @classmethod
    def _cluster_names(cls, value: list[str]) -> list[str]:
        names = [c.strip() for c in value]
        if any(not n or any(ord(ch) < 32 for ch in n) for n in names):
            raise ValueError("a cluster without a name")
        folded = [" ".join(n.split()).casefold() for n in names]
        again = [n for i, n in enumerate(names) if folded[i] in folded[:i]]
        if again:
            raise ValueError(f"'{again[0]}' is listed twice")
        return value

    @field_validator("saturations")
    @classmethod
    def _shares(cls, value: list[float]) -> list[float]:
        if not value:
            return value
        if len(set(value)) != len(value):
            raise ValueError(f"each treated share once; got {value}")
        for s in value:
            # A share out of range (inf and nan included) is refused before Fraction, which cannot hold them.
            exact = Fraction(s).limit_denominator(MAX_SATURATION_DENOMINATOR) if 0 <= s <= 1 else None
            if exact is None or abs(float(exact) - s) > 1e-9:
                raise ValueError(
                    f"{s:g} is not a share p/q between 0 and 1 with q at most {MAX_SATURATION_DENOMINATOR}, which "
                    "blocks can hold in whole people"
                )
        if 0.0 not in value:
            raise ValueError("include 0.0: the pure-control clusters that spillover and net effects are measured "
                             "against")
        if not any(0 < s < 1 for s in value):
            raise ValueError("include a share between 0 and 1, whose clusters hold treated and untreated people (the "
                             "direct effect)")
        return value

    @model_validator(mode="after")
    def _design(self) -> Randomisation:
        if self.design == "two_stage":
            _check_two_stage(self)
        return self

    @property
    def two_stage(self) -> bool:
        return self.design == "two_stage"

    def saturation_fraction(self, saturation: float) -> Fraction:
        """A saturation as the fraction p/q its blocks hold in whole people (0.8 → 4/5)."""
        return Fraction(saturation).limit_denominator(MAX_SATURATION_DENOMINATOR)


def _check_two_stage(r: Randomisation) -> None:
    """What a two-stage design needs beyond each key's own rule, refused in one line naming the key."""
    missing = [k for k in ("cluster", "clusters", "saturations") if not getattr(r, k)]
    if missing:
        raise ValueError(f"{missing[0]}: a two-stage design names its cluster column, its clusters and "
                         "their treated shares (saturations)")
    names = [c.strip() for c in r.clusters]
    levels = r.saturations
    counts = r.clusters_per_saturation
    if counts is not None:
        if len(counts) != len(levels) or sum(counts) != len(names) or min(counts) < 2:
            raise ValueError(
                f"clusters_per_saturation: one count of at least 2 per saturation, adding up to the "
                f"{len(names)} clusters; got {counts}"
            )
        if r.cluster_strata:
            raise ValueError("clusters_per_saturation: cannot be combined with cluster_strata")
    elif len(names) < 2 * len(levels):
        raise ValueError(
            f"clusters: {len(names)} clusters cannot give each of the {len(levels)} saturations two, "
            "the fewest that show variation between clusters"
        )
    if r.cluster_strata:
        unknown = sorted(set(r.cluster_strata) - set(names))
        missing = sorted(set(names) - set(r.cluster_strata))
        if unknown or missing:
            which = f"'{unknown[0]}' is not a listed cluster" if unknown else f"cluster '{missing[0]}' has no stratum"
            raise ValueError(f"cluster_strata: {which}")


class BinaryOutcome(_Strict):
    """A binary primary outcome read from a column of the outcomes file (e.g. self-reliance)."""

    name: str
    column: str
    label_da: str = ""
    label_en: str = ""
    hypothesis_control: float | None = Field(default=None, ge=0, le=1)
    hypothesis_treatment: float | None = Field(default=None, ge=0, le=1)


# The names `outcomes.secondary` may list, in the order the protocol pre-specifies; each names rows of the report's
# effects table (anything the analysis estimates that no name covers is labelled exploratory).
SECONDARY_OUTCOMES = (
    "benefit_days",
    "days_saved",
    "time_to_employment",
    "benefit_days_all_spells",
    "employment_frequency",
    "unemployed_share",
    "conversations_avoided",
)

# Exit codes as Danish registries and case systems write them, for the protocol's canonical exit names. A protocol's
# own `outcomes.exit_codes` come first; an alias applies only where its exit is one of the protocol's exits.
EXIT_ALIASES = {
    "employment": ("beskæftigelse", "beskaeftigelse", "job", "arbejde", "ansat", "ansættelse", "ansaettelse",
                   "ordinær beskæftigelse", "employed", "work"),
    "education": ("uddannelse", "studie", "su", "ordinær uddannelse"),
    "other": ("andet", "anden", "anden afgang", "sygdom", "syg", "barsel", "orlov", "pension", "førtidspension",
              "efterløn", "udvandret", "udrejst", "fraflyttet", "flyttet", "død"),
}
# Codes that say the exit is not known: read as a missing exit, not as an exit no protocol knows.
UNKNOWN_EXIT_CODES = frozenset({"ukendt", "unknown", "uoplyst", "?", "-", "na", "n/a", "none", "null"})


class Outcomes(_Strict):
    """What is measured. `primary`: "benefit_days" (days on benefit in the index spell, time to any exit),
    "time_to_event" (days to the event exits with other exits censored: `effects.days_saved`) or "binary"."""

    primary: Literal["time_to_event", "binary", "benefit_days"] = "time_to_event"
    event_exits: list[str] = Field(default_factory=lambda: ["employment"], min_length=1)
    competing_exits: list[str] = Field(default_factory=lambda: ["education", "other"])
    horizon_days: int = Field(default=182, gt=0)
    index_window_days: int = Field(default=14, ge=0)
    landmarks_days: list[int] = Field(default_factory=lambda: [91, 182])
    # Windows [0, W) after randomisation in which days on any benefit spell are counted (returns included).
    benefit_windows_days: list[int] = Field(default_factory=list)
    # Secondary outcomes in their pre-specified order (names of SECONDARY_OUTCOMES); the rest is exploratory.
    secondary: list[str] = Field(default_factory=list)
    binary: BinaryOutcome | None = None
    # The spells file's exit codes → the protocol's exits (e.g. "01" = "employment"); Danish words are built in.
    exit_codes: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _windows(self) -> Outcomes:
        if any(w <= 0 for w in self.benefit_windows_days):
            raise ValueError(f"outcomes.benefit_windows_days: must be positive days; got {self.benefit_windows_days}")
        unknown = [name for name in self.secondary if name not in SECONDARY_OUTCOMES]
        if unknown:
            raise ValueError(
                f"outcomes.secondary: '{unknown[0]}' is not an outcome of the analysis; "
                f"use {', '.join(SECONDARY_OUTCOMES)}"
            )
        for code, exit_name in self.exit_codes.items():
            if exit_name not in self.known_exits:
                raise ValueError(
                    f"outcomes.exit_codes: '{code}' maps to '{exit_name}', which is not an exit of the protocol "
                    f"({', '.join(self.known_exits)})"
                )
        return self

    @property
    def known_exits(self) -> list[str]:
        return [*self.event_exits, *self.competing_exits]

    def exit_names(self, exits: list[str] | None = None) -> dict[str, str]:
        """Every code read as one of `exits` (default: the protocol's): built-in Danish aliases, then the protocol's
        own `exit_codes`, keys lower-cased; each exit's own name maps to itself."""
        exits = self.known_exits if exits is None else exits
        names = {alias: exit_name for exit_name, aliases in EXIT_ALIASES.items() if exit_name in exits
                 for alias in aliases}
        names |= {code.strip().lower(): exit_name for code, exit_name in self.exit_codes.items()}
        return names | {exit_name: exit_name for exit_name in exits}


class Analysis(_Strict):
    """The analysis plan: alpha, adjustment, subgroups, and the group-sequential design that decides at each look."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    sided: Literal[1, 2] = 2
    covariates: list[str] = Field(default_factory=list)
    subgroups: list[str] = Field(default_factory=list)
    bootstrap: int = Field(default=2000, ge=0)
    looks_months: list[int] = Field(default_factory=list)
    spending: Literal["obrien-fleming", "pocock"] = "obrien-fleming"
    # The primary effect is the one adjusted for the randomisation strata (pseudo-observations, robust SE).
    adjust_for_strata: bool = False
    # The test each look decides on: the primary estimand's z (estimate / SE), or the log-rank or Cox test.
    primary_test: Literal["primary_estimand", "logrank", "hazard_ratio"] = "primary_estimand"
    # Information at an interim look: calendar months / the last look's month; observed primary events /
    # `planned_events`; or (planned final SE / observed SE of the primary estimate)², each capped at 1.
    information: Literal["calendar", "events", "variance"] = "calendar"
    planned_events: int | None = Field(default=None, gt=0)
    planned_final_se: float | None = Field(default=None, gt=0)
    # Below this share of an arm followed to the horizon, the analysis says the horizon is not yet supported.
    min_followed_share: float = Field(default=0.10, ge=0, le=1)

    @model_validator(mode="after")
    def _information(self) -> Analysis:
        if self.information == "events" and self.planned_events is None:
            raise ValueError("analysis.planned_events: required when analysis.information = 'events'")
        if self.information == "variance" and self.planned_final_se is None:
            raise ValueError("analysis.planned_final_se: required when analysis.information = 'variance'")
        return self


class Report(_Strict):
    language: Literal["da", "en"] = "da"
    min_cell: int = Field(default=5, ge=1)
    # Decides which arm a blinded report calls A when the trial is analysed from an allocation file (a ledger or
    # the trial secret decide otherwise); never printed. Any text; keep it apart from the evaluators' copy.
    blind_seed: str = ""


class CostComponent(_Strict):
    label_da: str = ""
    label_en: str = ""
    spells_per_year: int = Field(ge=0)
    daily_cost: float = Field(ge=0)


class TargetGroup(_Strict):
    id: str
    label_da: str = ""
    label_en: str = ""
    components: list[CostComponent] = Field(min_length=1)


class Conversations(_Strict):
    """The second savings model: conversations avoided when citizens manage on their own."""

    label_da: str = ""
    label_en: str = ""
    eligible_per_year: int = Field(ge=0)
    conversations_per_citizen: float = Field(gt=0)
    cost_per_conversation: float = Field(ge=0)
    hours_per_conversation: float = Field(gt=0)
    hours_per_fte: float = Field(gt=0)
    hypothesis_share: float = Field(ge=0, le=1)
    supplier_estimate_low: float | None = None
    supplier_estimate_high: float | None = None


class TrialPopulation(_Strict):
    """The population the trial randomised, for the savings row that needs no assumption about other groups."""

    label_da: str = ""
    label_en: str = ""
    # Eligible persons a year; `trial savings --db` counts them in the ledger's screening instead.
    eligible_per_year: int | None = Field(default=None, ge=0)
    daily_cost: float = Field(ge=0)


class Finance(_Strict):
    currency: str = "DKK"
    investment: float = Field(default=0, ge=0)
    investment_note: str = ""
    haircut: float = Field(default=1.0, gt=0, le=1)
    # The day of `daily_cost`: a calendar day, or a paid weekday (5 of 7 days; × 5/7 gives the calendar-day cost).
    daily_cost_unit: Literal["calendar_day", "paid_weekday"] = "calendar_day"
    trial_population: TrialPopulation | None = None
    target_groups: list[TargetGroup] = Field(default_factory=list)
    conversations: Conversations | None = None
    # The multi-year view: year 0 is the first year of investment.
    investment_by_year: list[float] = Field(default_factory=list)
    running_cost_per_year: float = Field(default=0, ge=0)
    discount_rate: float = Field(default=0, ge=0, lt=1)
    appraisal_years: int = Field(default=1, ge=1)
    savings_from_year: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _years(self) -> Finance:
        if self.investment_by_year and abs(sum(self.investment_by_year) - self.investment) > 0.5:
            raise ValueError(
                f"finance.investment_by_year: adds up to {sum(self.investment_by_year):,.0f}, "
                f"not the investment {self.investment:,.0f}"
            )
        if len(self.investment_by_year) > self.appraisal_years:
            raise ValueError("finance.investment_by_year: more years than finance.appraisal_years")
        if self.savings_from_year >= self.appraisal_years:
            raise ValueError("finance.savings_from_year: must lie within the appraisal years")
        return self

    @property
    def calendar_day_factor(self) -> float:
        """What one calendar day costs per unit of `daily_cost`: 1, or 5/7 for a cost per paid weekday."""
        return 1.0 if self.daily_cost_unit == "calendar_day" else 5 / 7


class Matching(_Strict):
    """Serving defaults of `trial match recommend`: the exposure cap (none unless set) and its window."""

    max_per_posting: int | None = Field(default=None, ge=1)  # treated citizens a posting may reach within the window
    window_days: int = Field(default=14, ge=1)


IDENTIFYING_COLUMNS = frozenset({"cpr", "person_id", "birth_date", "_row"})


class Protocol(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str
    title_en: str = ""
    version: str
    owner: str = ""
    # The trial's registration (e.g. "ISRCTN12345678"); empty: not registered. The report's methods name it.
    registration: str = ""
    eligibility: Eligibility
    arms: list[Arm] = Field(min_length=2)
    randomisation: Randomisation
    outcomes: Outcomes = Field(default_factory=Outcomes)
    analysis: Analysis = Field(default_factory=Analysis)
    report: Report = Field(default_factory=Report)
    finance: Finance = Field(default_factory=Finance)
    matching: Matching = Field(default_factory=Matching)

    @model_validator(mode="after")
    def _consistent(self) -> Protocol:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError("arms: arm names must be unique")
        roles = [a.role for a in self.arms]
        if roles.count("treatment") != 1 or roles.count("control") != 1 or len(self.arms) != 2:
            raise ValueError("arms: exactly one arm with role 'treatment' and one with role 'control'")
        total = sum(a.ratio for a in self.arms)
        bad = [b for b in self.randomisation.block_sizes if b % total]
        if bad:
            raise ValueError(f"randomisation.block_sizes: {bad} is not a multiple of the allocation ratio sum {total}")
        if self.outcomes.primary == "binary" and self.outcomes.binary is None:
            raise ValueError("outcomes.binary: required when outcomes.primary = 'binary'")
        overlap = set(self.outcomes.event_exits) & set(self.outcomes.competing_exits)
        if overlap:
            raise ValueError(f"outcomes.competing_exits: {sorted(overlap)} is also an event exit")
        # Strata, covariates and subgroups are written into the append-only ledger and the reports.
        for where, names in (
            ("randomisation.strata", self.randomisation.strata),
            ("analysis.covariates", self.analysis.covariates),
            ("analysis.subgroups", self.analysis.subgroups),
        ):
            personal = sorted({n.lower() for n in names} & IDENTIFYING_COLUMNS)
            if personal:
                raise ValueError(f"{where}: {personal} identifies a person and may never be stored or reported")
        return self

    @property
    def treatment_arm(self) -> str:
        return next(a.name for a in self.arms if a.role == "treatment")

    @property
    def control_arm(self) -> str:
        return next(a.name for a in self.arms if a.role == "control")

    @property
    def arm_names(self) -> list[str]:
        return [a.name for a in self.arms]

    def canonical(self) -> str:
        """The canonical form: sorted-key JSON of the validated model with defaults filled in."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical form: comments, order and formatting of the file do not matter."""
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()


def parse_protocol(text: str, *, source: str = "<protocol>") -> Protocol:
    """Validate protocol TOML text; any problem becomes one InputError naming the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=source) from None
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise InputError(first_problem(exc), file=source) from None


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol file."""
    from trial.files import read_text

    return parse_protocol(read_text(path, "a protocol file"), source=str(path))
