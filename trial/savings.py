"""Kroner from days saved (and conversations avoided), per target group of the protocol's finance section.

Savings are linear in the effect, so a confidence interval of the effect carries straight through to kroner.
Target groups are alternative scopes (BC16: academics under 30 lie inside "all dagpenge"), so they are never summed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from trial.errors import InputError, TrialError
from trial.protocol import Protocol


def _scaled(per_unit: float, estimate: float | None, ci: tuple[float, float] | None) -> dict[str, Any]:
    """Estimate and interval of a quantity that is `per_unit` times the effect."""
    return {
        "estimate": None if estimate is None else per_unit * estimate,
        "ci": None if ci is None else [per_unit * ci[0], per_unit * ci[1]],
    }


def _check_ci(name: str, estimate: float | None, ci: tuple[float, float] | None) -> tuple[float, float] | None:
    if ci is None:
        return None
    lo, hi = float(ci[0]), float(ci[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise TrialError(f"{name}: the confidence interval must be two finite numbers LO ≤ HI; got {lo} {hi}")
    if estimate is not None and not lo <= estimate <= hi:
        raise TrialError(f"{name}: the estimate {estimate} lies outside its confidence interval [{lo}, {hi}]")
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
) -> dict[str, Any]:
    """Savings per year for each target group (days saved × spells × daily cost × haircut) and conversations avoided.

    `share` is the extra share of citizens who manage without conversations (treatment minus control); it defaults to
    the protocol's hypothesis. The result is plain data: the JSON of `trial savings` and the report's savings box.
    """
    fin = protocol.finance
    if days_saved is not None and not math.isfinite(days_saved):
        raise TrialError(f"days saved must be a finite number; got {days_saved}")
    ci = _check_ci("days saved", days_saved, ci)
    haircut = fin.haircut
    groups: list[dict[str, Any]] = []
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
            {
                "id": group.id,
                "label_da": group.label_da,
                "label_en": group.label_en,
                "components": components,
                "per_day_saved_gross": gross,
                "per_day_saved": net,
                "per_year": per_year,
                "break_even_days": fin.investment / net if net > 0 else None,
                "payback_years": _payback_years(fin.investment, per_year["estimate"]),
                "ci_above_break_even": (None if ci is None or net <= 0 else bool(ci[0] * net >= fin.investment)),
            }
        )
    result: dict[str, Any] = {
        "protocol": {"id": protocol.id, "version": protocol.version, "fingerprint": protocol.fingerprint},
        "currency": fin.currency,
        "investment": fin.investment,
        "investment_note": fin.investment_note,
        "haircut": haircut,
        "days_saved": None if days_saved is None else {"estimate": days_saved, "ci": None if ci is None else list(ci)},
        "target_groups": groups,
        "conversations": _conversations(protocol, share, share_ci),
    }
    return result


def _conversations(
    protocol: Protocol, share: float | None, share_ci: tuple[float, float] | None
) -> dict[str, Any] | None:
    """The second model: conversations avoided × cost per conversation, and full-time equivalents freed."""
    fin = protocol.finance
    conv = fin.conversations
    if conv is None:
        return None
    source = "hypothesis" if share is None else "given"
    share = conv.hypothesis_share if share is None else float(share)
    if not -1 <= share <= 1:
        raise TrialError(f"share: must lie between -1 and 1 (a difference in proportions); got {share}")
    share_ci = _check_ci("share", share, share_ci)
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
    return {
        "label_da": conv.label_da,
        "label_en": conv.label_en,
        "share": share,
        "share_ci": None if share_ci is None else list(share_ci),
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
        "payback_years": _payback_years(fin.investment, kroner["estimate"]),
        "suppliers": suppliers,
    }


def _dig(data: dict[str, Any], path: list[str]) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _estimate_and_ci(node: Any, file: Path, where: str) -> tuple[float, tuple[float, float] | None]:
    """Read {"estimate": x, "ci": [lo, hi]} from the analysis JSON, naming the key when it is malformed."""
    if isinstance(node, dict) and node.get("estimate", 0) is None:
        raise InputError(f"'{where}' has no estimate (too few data at this data cut?)", file=file)
    try:
        estimate = float(node["estimate"])
        raw = node.get("ci")
        # An interval the analysis could not compute is [null, null]: carry no interval then.
        ci = None if raw is None or None in raw else (float(raw[0]), float(raw[1]))
    except (KeyError, TypeError, ValueError, IndexError):
        raise InputError(f"'{where}' must hold a number 'estimate' and a 'ci' of two numbers", file=file) from None
    return estimate, ci


def effects_from_analysis(path: str | Path, protocol: Protocol) -> dict[str, Any]:
    """Days saved (effects.days_saved) and, for a binary primary outcome, the share difference from `trial analyse`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("analysis file not found", file=path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not the JSON of `trial analyse`: {exc}", file=path) from None
    if not isinstance(data, dict):
        raise InputError("not the JSON of `trial analyse` (expected an object)", file=path)
    out: dict[str, Any] = {"days_saved": None, "ci": None, "share": None, "share_ci": None}
    node = _dig(data, ["effects", "days_saved"])
    if node is not None:
        out["days_saved"], out["ci"] = _estimate_and_ci(node, path, "effects.days_saved")
    binary = protocol.outcomes.binary
    if binary is not None:
        # The analysis reports a binary primary outcome as effects.binary, its treatment − control difference
        # being the extra share who manage on their own.
        node = _dig(data, ["effects", "binary", "difference"])
        if node is not None:
            out["share"], out["share_ci"] = _estimate_and_ci(node, path, "effects.binary.difference")
    if out["days_saved"] is None and out["share"] is None:
        raise InputError("no 'effects.days_saved' (estimate and ci) in the analysis JSON", file=path)
    return out
