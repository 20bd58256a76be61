"""Kroner from days on benefit saved (and conversations avoided): the trial's own population first, then scenarios.

The figure multiplied is the protocol's days estimand (BC16: days on benefit saved per person randomised, adjusted for
the strata), read from the analysis by name. The trial's population row multiplies it by the eligible persons a year
(protocol or ledger) and the cost of a calendar day; the target groups of the seed are scenarios that assume the
effect holds for their spells. Savings are linear in the effect, so an interval carries straight through to kroner;
kroner are rounded to what the interval supports. The multi-year view discounts investment, running costs and
savings to year 0 (net present value) and gives the break-even days on that basis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from trial.errors import InputError, ParameterError
from trial.protocol import Protocol
from trial.results import (
    Appraisal,
    ConversationSavings,
    DisplacementSavings,
    Estimate,
    PopulationSavings,
    ProtocolRef,
    SavingsEffect,
    SavingsResult,
    TargetGroupSavings,
)


@dataclass(frozen=True)
class EligiblePerYear:
    """Eligible persons a year and where the figure comes from."""

    persons: float
    source: str
    note: str = ""


def _scaled(per_unit: float, estimate: float | None, ci: tuple[float, float] | None) -> Estimate:
    """Estimate and interval of a quantity that is `per_unit` times the effect."""
    return Estimate(
        estimate=None if estimate is None else per_unit * estimate,
        ci=None if ci is None else (per_unit * ci[0], per_unit * ci[1]),
    )


def rounding_step(per_unit: float, ci: tuple[float, float] | None) -> float | None:
    """The kroner step an interval supports: two significant digits of its half-width (None without an interval)."""
    if ci is None:
        return None
    half = abs(per_unit) * (ci[1] - ci[0]) / 2
    if not half > 0:
        return None
    return float(10 ** (math.floor(math.log10(half)) - 1))


def _rounded(value: Estimate, step: float | None, offset: float = 0.0) -> Estimate:
    """An estimate (minus `offset`) with its interval, each rounded to `step` kroner."""

    def r(x: float | None) -> float | None:
        if x is None:
            return None
        x -= offset
        return x if step is None else round(x / step) * step

    return Estimate(estimate=r(value.estimate), ci=None if value.ci is None else (r(value.ci[0]), r(value.ci[1])))


def _check_ci(name: str, estimate: float | None, ci: tuple[float, float] | None) -> tuple[float, float] | None:
    if ci is None:
        return None
    lo, hi = float(ci[0]), float(ci[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ParameterError(name, f"the confidence interval must be two finite numbers LO ≤ HI; got {lo:g} {hi:g}")
    if estimate is not None and not lo <= estimate <= hi:
        raise ParameterError(name, f"the estimate {estimate:g} lies outside its confidence interval [{lo:g}, {hi:g}]")
    return lo, hi


def _payback_years(investment: float, per_year: float | None) -> float | None:
    """Years of savings it takes to pay back the investment; None when nothing is saved."""
    if per_year is None or per_year <= 0 or investment <= 0:
        return None
    return investment / per_year


def appraisal(protocol: Protocol) -> Appraisal:
    """Discount factors, the present value of investment and running costs, and of one krone saved every year."""
    fin = protocol.finance
    years = fin.appraisal_years
    investment = list(fin.investment_by_year) or [fin.investment]
    factors = [(1 + fin.discount_rate) ** -year for year in range(years)]
    saving_years = range(fin.savings_from_year, years)
    costs = sum(amount * factors[year] for year, amount in enumerate(investment))
    costs += sum(fin.running_cost_per_year * factors[year] for year in saving_years)
    return Appraisal(
        years=years,
        discount_rate=fin.discount_rate,
        savings_from_year=fin.savings_from_year,
        investment_by_year=investment,
        running_cost_per_year=fin.running_cost_per_year,
        discount_factors=factors,
        present_value_of_costs=costs,
        savings_years_factor=sum(factors[year] for year in saving_years),
    )


def _npv(
    per_day: float, plan: Appraisal, days: float | None, ci: tuple[float, float] | None
) -> tuple[Estimate, float | None]:
    """Net present value for `days` saved (per person or spell) and the days at which it is zero."""
    per_day_value = per_day * plan.savings_years_factor
    npv = _rounded(_scaled(per_day_value, days, ci), rounding_step(per_day_value, ci), plan.present_value_of_costs)
    break_even = plan.present_value_of_costs / per_day_value if per_day_value > 0 else None
    return npv, break_even


def savings(
    protocol: Protocol,
    days_saved: float | None,
    ci: tuple[float, float] | None = None,
    *,
    share: float | None = None,
    share_ci: tuple[float, float] | None = None,
    effect_name: str = "given",
    effect_note: str = "",
    eligible: EligiblePerYear | None = None,
    gross: tuple[str, float, tuple[float, float] | None] | None = None,
    design: str | None = None,
) -> SavingsResult:
    """Savings of days on benefit saved (`days_saved` per person, with `ci`) and of conversations avoided.

    The trial's population row needs eligible persons a year: `eligible` (e.g. from the ledger) or the protocol's
    `finance.trial_population.eligible_per_year`. `share` is the extra share of citizens who manage without
    conversations (treatment minus control); it defaults to the protocol's hypothesis. `design` (from an analysis:
    'two_stage' or 'individual') adds the gross-and-net view; in a two-stage design `days_saved` is the net effect and
    `gross` (name, estimate, interval) the direct one.
    """
    fin = protocol.finance
    if days_saved is not None and not math.isfinite(days_saved):
        raise ParameterError("days_saved", f"must be a finite number; got {days_saved}")
    ci = _check_ci("ci", days_saved, ci)
    plan = appraisal(protocol)
    groups = [_scenario(group, protocol, plan, days_saved, ci) for group in fin.target_groups]
    effect = None
    if days_saved is not None:
        effect = SavingsEffect(
            name=effect_name, estimate=days_saved, ci=ci, source="given" if effect_name == "given" else "analysis",
            note=effect_note,
        )  # fmt: skip
    population = _population(protocol, plan, days_saved, ci, eligible)
    return SavingsResult(
        displacement=_displacement(protocol, plan, design, effect, gross, population, eligible),
        protocol=ProtocolRef(id=protocol.id, version=protocol.version, fingerprint=protocol.fingerprint),
        currency=fin.currency,
        investment=fin.investment,
        investment_note=fin.investment_note,
        haircut=fin.haircut,
        days_saved=None if days_saved is None else Estimate(estimate=days_saved, ci=ci),
        target_groups=groups,
        conversations=_conversations(protocol, share, share_ci),
        effect=effect,
        trial_population=population,
        appraisal=plan,
    )


GROSS_ONLY = (
    "Individuel lodtrækning: besparelsen er brutto. Forsøget kan ikke udelukke, at indsatsgruppen fik job, som andre "
    "ledige ellers ville have fået (fortrængning); det kan kun et to-trins-design måle.",
    "Individual randomisation: these savings are gross. The trial cannot exclude that the treated took jobs other job "
    "seekers would have got (displacement); only a two-stage design measures it.",
)
GROSS_AND_NET = (
    "To-trins-design: netto = alle i jobcentre med anbefalinger mod jobcentre uden, fortrængning medregnet (det, en "
    "udrulning sparer); brutto = den direkte effekt, indsats mod ikke-indsats i samme jobcentre.",
    "Two-stage design: net = everyone in jobcentres with recommendations against jobcentres without, displacement "
    "included (what a roll-out saves); gross = the direct effect, treated against untreated in the same jobcentres.",
)


def _displacement(
    protocol: Protocol,
    plan: Appraisal,
    design: str | None,
    net: SavingsEffect | None,
    gross: tuple[str, float, tuple[float, float] | None] | None,
    population: PopulationSavings | None,
    eligible: EligiblePerYear | None,
) -> DisplacementSavings | None:
    """Gross and net side by side for a two-stage analysis; the note that savings are gross for an individual one."""
    if design is None or net is None:
        return None
    if design == "individual" or gross is None:
        return DisplacementSavings(
            design="individual", gross=net, gross_per_year=None if population is None else population.per_year,
            gross_npv=None if population is None else population.npv, note_da=GROSS_ONLY[0], note_en=GROSS_ONLY[1],
        )  # fmt: skip
    name, days, interval = gross
    gross_population = _population(protocol, plan, days, _check_ci("gross", days, interval), eligible)
    return DisplacementSavings(
        design="two_stage",
        gross=SavingsEffect(name=name, estimate=days, ci=interval, source="analysis",
                            note="the direct effect: the treated against the untreated of the same clusters"),
        net=net,
        gross_per_year=None if gross_population is None else gross_population.per_year,
        net_per_year=None if population is None else population.per_year,
        gross_npv=None if gross_population is None else gross_population.npv,
        net_npv=None if population is None else population.npv,
        note_da=GROSS_AND_NET[0],
        note_en=GROSS_AND_NET[1],
    )


def _population(
    protocol: Protocol,
    plan: Appraisal,
    days: float | None,
    ci: tuple[float, float] | None,
    eligible: EligiblePerYear | None,
) -> PopulationSavings | None:
    """The trial's own population: eligible persons a year × days saved × cost per calendar day × haircut."""
    fin = protocol.finance
    population = fin.trial_population
    if population is None:
        return None
    if eligible is None:
        if population.eligible_per_year is None:
            return None
        eligible = EligiblePerYear(float(population.eligible_per_year), "protocol")
    calendar_cost = population.daily_cost * fin.calendar_day_factor
    per_day = eligible.persons * calendar_cost * fin.haircut
    step = rounding_step(per_day, ci)
    npv, break_even = _npv(per_day, plan, days, ci)
    return PopulationSavings(
        label_da=population.label_da,
        label_en=population.label_en,
        persons_per_year=eligible.persons,
        persons_source=eligible.source,
        persons_note=eligible.note,
        daily_cost=population.daily_cost,
        daily_cost_unit=fin.daily_cost_unit,
        cost_per_calendar_day=calendar_cost,
        per_day_saved=per_day,
        per_year=_rounded(_scaled(per_day, days, ci), step),
        npv=npv,
        break_even_days=break_even,
        ci_above_break_even=None if ci is None or break_even is None else bool(ci[0] >= break_even),
        rounded_to=step,
    )


def _scenario(
    group: Any, protocol: Protocol, plan: Appraisal, days: float | None, ci: tuple[float, float] | None
) -> TargetGroupSavings:
    """A target group of the seed as a scenario: the trial's effect per person assumed for each of its spells."""
    fin = protocol.finance
    components = [
        {
            "label_da": c.label_da,
            "label_en": c.label_en,
            "spells_per_year": c.spells_per_year,
            "daily_cost": c.daily_cost,
            "per_day_saved": c.spells_per_year * c.daily_cost * fin.calendar_day_factor,
        }
        for c in group.components
    ]
    gross = sum(c["per_day_saved"] for c in components)
    net = gross * fin.haircut
    step = rounding_step(net, ci)
    per_year = _rounded(_scaled(net, days, None), step)
    npv, break_even = _npv(net, plan, days, None)
    return TargetGroupSavings.model_validate({
        "id": group.id,
        "label_da": group.label_da,
        "label_en": group.label_en,
        "components": components,
        "per_day_saved_gross": gross,
        "per_day_saved": net,
        "per_year": per_year,
        "break_even_days": fin.investment / net if net > 0 else None,
        "payback_years": _payback_years(fin.investment, per_year.estimate),
        "ci_above_break_even": (None if ci is None or net <= 0 else bool(ci[0] * net >= fin.investment)),
        "npv": _rounded(npv, rounding_step(net * plan.savings_years_factor, ci)),
        "break_even_days_npv": break_even,
        "rounded_to": step,
    })


def eligible_from_ledger(runs: pd.DataFrame) -> EligiblePerYear:
    """Eligible persons a year from the ledger's enrolment runs: the CONSORT count of eligible people, annualised and
    rounded to whole people.

    Each weekly (or other) run covers the days since the previous one; the first run is taken to cover the typical
    gap between runs. One run cannot be annualised.
    """
    from trial.screening import consort_screening

    screening = consort_screening(runs)
    if screening is None or len(runs) < 2:
        raise ParameterError("db", "the ledger has fewer than two enrolment runs: eligible persons a year cannot be "
                                   "counted yet; use the protocol's finance.trial_population.eligible_per_year")
    days = pd.to_datetime(runs["as_of"]).dt.normalize().sort_values()
    gaps = days.diff().dt.days.dropna()
    span = float((days.iloc[-1] - days.iloc[0]).days + gaps.median())
    persons = round(screening.eligible * 365.25 / span)  # whole people
    return EligiblePerYear(
        persons, "ledger", f"{screening.eligible} eligible people in {len(runs)} enrolment runs over {span:g} days"
    )


def _conversations(
    protocol: Protocol, share: float | None, share_ci: tuple[float, float] | None
) -> ConversationSavings | None:
    """The second model: conversations avoided × cost per conversation, and full-time equivalents freed."""
    fin = protocol.finance
    conv = fin.conversations
    if conv is None:
        return None
    source = "hypothesis" if share is None else "given"
    share = conv.hypothesis_share if share is None else float(share)
    if not -1 <= share <= 1:
        raise ParameterError("share", f"must lie between -1 and 1 (a difference in proportions); got {share:g}")
    share_ci = _check_ci("share_ci", share, share_ci)
    per_share_conversations = conv.eligible_per_year * conv.conversations_per_citizen
    conversations = _scaled(per_share_conversations, share, share_ci)
    kroner = _scaled(per_share_conversations * conv.cost_per_conversation * fin.haircut, share, share_ci)
    fte_per_share = per_share_conversations * conv.hours_per_conversation / conv.hours_per_fte * fin.haircut
    fte = _scaled(fte_per_share, share, share_ci)
    net_per_share = per_share_conversations * conv.cost_per_conversation * fin.haircut
    suppliers = None
    if conv.supplier_estimate_low is not None and conv.supplier_estimate_high is not None:
        suppliers = {
            "low": conv.supplier_estimate_low,
            "high": conv.supplier_estimate_high,
            "low_after_haircut": conv.supplier_estimate_low * fin.haircut,
            "high_after_haircut": conv.supplier_estimate_high * fin.haircut,
        }
    return ConversationSavings.model_validate({
        "label_da": conv.label_da,
        "label_en": conv.label_en,
        "share": share,
        "share_ci": share_ci,
        "share_source": source,
        "eligible_per_year": conv.eligible_per_year,
        "conversations_per_citizen": conv.conversations_per_citizen,
        "cost_per_conversation": conv.cost_per_conversation,
        "hours_per_conversation": conv.hours_per_conversation,
        "hours_per_fte": conv.hours_per_fte,
        "conversations_avoided": conversations,
        "per_year": kroner,
        "fte_freed": fte,
        "break_even_share": fin.investment / net_per_share if net_per_share > 0 else None,
        "payback_years": _payback_years(fin.investment, kroner.estimate),
        "suppliers": suppliers,
    })


def _estimate_and_ci(
    effect: Any, where: str, file: Path, repeated: bool = False
) -> tuple[float, tuple[float, float] | None]:
    """An effect's estimate and interval of record (its repeated interval at a group-sequential look when
    `repeated`, else the nominal one); an effect the analysis could not estimate is refused by name."""
    if effect.estimate is None:
        raise InputError(f"'{where}' has no estimate (too few data at this data cut?)", file=file)
    interval = effect.rci if repeated else effect.ci
    if interval is None:  # an effect without a standard error has no repeated interval
        return effect.estimate, None
    low, high = interval
    # An interval the analysis could not compute is [null, null]: carry no interval then.
    return effect.estimate, None if low is None or high is None else (low, high)


def effects_from_analysis(path: str | Path, protocol: Protocol) -> dict[str, Any]:
    """The protocol's days estimand from `trial analyse` (and, for a binary primary outcome, the share difference).

    The estimand is found by name (`trial.analysis.days_effect_name`); an analysis written before it existed falls
    back to effects.days_saved, and the returned note says so. An analysis of a two-stage design gives its net effect
    per person (`effects.spillover.net_per_person`) and, as `gross`, its direct effect.
    """
    from trial.results import AnalysisResult

    path = Path(path)
    return effects_of(AnalysisResult.load(path), protocol, path)


def interval_of_record(result: Any) -> tuple[bool, str]:
    """Whether finance multiplies the repeated intervals of a planned look (as the report does, so never budgets on
    a nominal interval the design does not yet support), and the note that says which interval it is."""
    interim = result.interim
    if interim is None or not interim.planned_months:
        return False, ""
    if interim.decision is None:  # written before each look decided (release 0.2): no repeated intervals in it
        return False, "the analysis predates repeated intervals: the interval is the nominal one"
    if interim.look == 0:
        return False, "before the first planned look: the interval is nominal and only descriptive"
    if interim.final:
        return True, f"the interval is the 95% interval at the final boundary (±{interim.z_boundary:.3f})"
    return True, (f"the interval is the repeated 95% interval at look {interim.look} of {interim.of} (boundary "
                  f"±{interim.z_boundary:.3f}), which the trial continues past: not a figure to budget on yet")


def effects_of(result: Any, protocol: Protocol, path: Path) -> dict[str, Any]:
    """The days estimand (and share) finance multiplies from an analysis result, with its interval of record;
    `path` names it in errors."""

    repeated, record = interval_of_record(result)
    found = _effects_of(result, protocol, path, repeated)
    found["note"] = "; ".join(n for n in (found["note"], record) if n)
    found["repeated"] = repeated
    return found


def _effects_of(result: Any, protocol: Protocol, path: Path, repeated: bool) -> dict[str, Any]:
    """The days estimand (and share) with their intervals, repeated ones when `repeated`."""
    from trial.analysis import days_effect_name

    spillover = result.effects.spillover
    if spillover is not None and (spillover.net_per_person is None or spillover.direct is None):
        raise InputError("the two-stage analysis has no net or direct effect yet (no pure-control or treated "
                         "jobcentre with people by its data cut); its savings cannot be told", file=path)
    if spillover is not None and spillover.net_per_person is not None and spillover.direct is not None:
        out = {"name": "spillover.net_per_person", "design": "two_stage", "share": None, "share_ci": None,
               "note": "two-stage design: the net effect per person in treated clusters against pure-control ones"}
        out["days_saved"], out["ci"] = _estimate_and_ci(spillover.net_per_person, "effects.spillover.net_per_person",
                                                        path, repeated)
        out["gross"] = ("spillover.direct", *_estimate_and_ci(spillover.direct, "effects.spillover.direct", path,
                                                              repeated))
        return out
    name = days_effect_name(protocol)
    note = ""
    effect = getattr(result.effects, name)
    if effect is None and name.endswith("_adjusted") and getattr(result.effects, name.removesuffix("_adjusted")):
        note = f"the analysis has no {name}; the unadjusted estimate is used"
        name = name.removesuffix("_adjusted")
        effect = getattr(result.effects, name)
    if effect is None:
        note = f"the analysis has no {name} (written before release 0.2?); effects.days_saved is used"
        name, effect = "days_saved", result.effects.days_saved
    out: dict[str, Any] = {"name": name, "note": note, "share": None, "share_ci": None, "design": "individual",
                           "gross": None}
    out["days_saved"], out["ci"] = _estimate_and_ci(effect, f"effects.{name}", path, repeated)
    binary = result.effects.binary
    if protocol.outcomes.binary is not None and binary is not None and binary.difference is not None:
        # The treatment − control difference of a binary primary outcome is the extra share who manage on their own.
        out["share"], out["share_ci"] = _estimate_and_ci(binary.difference, "effects.binary.difference", path,
                                                         repeated)
    return out
