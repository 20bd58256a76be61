"""Kroner from days saved (and conversations avoided), per target group of the protocol's finance section.

Savings are linear in the effect, so a confidence interval of the effect carries straight through to kroner.
Target groups are alternative scopes (BC16: academics under 30 lie inside "all dagpenge"), so they are never summed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from trial.errors import InputError, ParameterError
from trial.protocol import Protocol
from trial.results import ConversationSavings, Estimate, ProtocolRef, SavingsResult, TargetGroupSavings


def _scaled(per_unit: float, estimate: float | None, ci: tuple[float, float] | None) -> Estimate:
    """Estimate and interval of a quantity that is `per_unit` times the effect."""
    return Estimate(
        estimate=None if estimate is None else per_unit * estimate,
        ci=None if ci is None else (per_unit * ci[0], per_unit * ci[1]),
    )


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


def savings(
    protocol: Protocol,
    days_saved: float | None,
    ci: tuple[float, float] | None = None,
    *,
    share: float | None = None,
    share_ci: tuple[float, float] | None = None,
) -> SavingsResult:
    """Savings per year for each target group (days saved × spells × daily cost × haircut) and conversations avoided.

    `share` is the extra share of citizens who manage without conversations (treatment minus control); it defaults to
    the protocol's hypothesis. The result is the JSON of `trial savings` and the report's savings box.
    """
    fin = protocol.finance
    if days_saved is not None and not math.isfinite(days_saved):
        raise ParameterError("days_saved", f"must be a finite number; got {days_saved}")
    ci = _check_ci("ci", days_saved, ci)
    haircut = fin.haircut
    groups: list[TargetGroupSavings] = []
    for group in fin.target_groups:
        components = []
        for c in group.components:
            per_day = c.spells_per_year * c.daily_cost
            components.append(
                {
                    "label_da": c.label_da,
                    "label_en": c.label_en,
                    "spells_per_year": c.spells_per_year,
                    "daily_cost": c.daily_cost,
                    "per_day_saved": per_day,
                }
            )
        gross = sum(c["per_day_saved"] for c in components)
        net = gross * haircut
        per_year = _scaled(net, days_saved, ci)
        groups.append(
            TargetGroupSavings.model_validate({
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
            })
        )
    return SavingsResult(
        protocol=ProtocolRef(id=protocol.id, version=protocol.version, fingerprint=protocol.fingerprint),
        currency=fin.currency,
        investment=fin.investment,
        investment_note=fin.investment_note,
        haircut=haircut,
        days_saved=None if days_saved is None else Estimate(estimate=days_saved, ci=ci),
        target_groups=groups,
        conversations=_conversations(protocol, share, share_ci),
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


def _estimate_and_ci(effect: Any, where: str, file: Path) -> tuple[float, tuple[float, float] | None]:
    """An effect's estimate and interval; an effect the analysis could not estimate is refused by name."""
    if effect.estimate is None:
        raise InputError(f"'{where}' has no estimate (too few data at this data cut?)", file=file)
    low, high = effect.ci
    # An interval the analysis could not compute is [null, null]: carry no interval then.
    return effect.estimate, None if low is None or high is None else (low, high)


def effects_from_analysis(path: str | Path, protocol: Protocol) -> dict[str, Any]:
    """Days saved (effects.days_saved) and, for a binary primary outcome, the share difference from `trial analyse`."""
    from trial.results import AnalysisResult

    path = Path(path)
    result = AnalysisResult.load(path)
    out: dict[str, Any] = {"days_saved": None, "ci": None, "share": None, "share_ci": None}
    out["days_saved"], out["ci"] = _estimate_and_ci(result.effects.days_saved, "effects.days_saved", path)
    binary = result.effects.binary
    if protocol.outcomes.binary is not None and binary is not None and binary.difference is not None:
        # The treatment − control difference of a binary primary outcome is the extra share who manage on their own.
        out["share"], out["share_ci"] = _estimate_and_ci(binary.difference, "effects.binary.difference", path)
    return out
