"""Enrolment status: counts by arm, stratum and ISO week, block balance, baseline balance, withdrawals, screening."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trial.protocol import Protocol
from trial.screening import consort_screening, data_handling


def _finite(value: float) -> float | None:
    """The number, or None where it does not exist (the sd of one person): JSON has no NaN."""
    return float(value) if np.isfinite(value) else None


def _smd_numeric(a: pd.Series, b: pd.Series) -> float:
    pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else 0.0


def _smd_share(p: float, q: float) -> float:
    pooled = np.sqrt((p * (1 - p) + q * (1 - q)) / 2)
    return float((p - q) / pooled) if pooled > 0 else 0.0


def baseline_table(allocations: pd.DataFrame, covariates: list[str], arms: list[str]) -> list[dict[str, Any]]:
    """Per covariate (and level, for categories): n / mean per arm and the standardised mean difference.

    The SMD compares the first arm with the second: (mean₁ − mean₂) / √((s₁² + s₂²)/2), shares as 0/1 means.
    """
    first, second = (allocations[allocations["arm"] == arm] for arm in arms[:2])
    rows: list[dict[str, Any]] = []
    for name in covariates:
        if name not in allocations.columns:
            continue
        column = allocations[name]
        if pd.api.types.is_numeric_dtype(column) and column.nunique() > 2:
            rows.append({
                "variable": name, "level": None, "kind": "numeric",
                "arms": {arm: {"n": int(g[name].notna().sum()), "mean": _finite(g[name].mean()),
                               "sd": _finite(g[name].std(ddof=1))}
                         for arm, g in zip(arms, (first, second), strict=True)},
                "smd": _finite(_smd_numeric(first[name].dropna(), second[name].dropna())),
            })
            continue
        for level in sorted(column.dropna().astype(str).unique()):
            shares = {}
            for arm, group in zip(arms, (first, second), strict=True):
                hits = int((group[name].astype(str) == level).sum())
                shares[arm] = {"n": hits, "share": hits / len(group) if len(group) else None}
            first_share, second_share = (shares[arm]["share"] for arm in arms[:2])
            rows.append({
                "variable": name, "level": level, "kind": "category", "arms": shares,
                "smd": None if first_share is None or second_share is None else _smd_share(first_share, second_share),
            })
    return rows


def status(
    allocations: pd.DataFrame,
    protocol: Protocol,
    *,
    withdrawals: pd.DataFrame | None = None,
    runs: pd.DataFrame | None = None,
    saturations: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The analyst's overview of a ledger's enrolment; `withdrawals` and the screening `runs` come from the ledger.

    `screening` counts people as the report's CONSORT flow does; `data_handling` counts rows and runs. A two-stage
    ledger adds its clusters by saturation (`saturations`: the ledger's draw), and measures each stratum's imbalance
    against its cluster's saturation.
    """
    arms = protocol.arm_names
    by_arm = {arm: int((allocations["arm"] == arm).sum()) for arm in arms}
    table = pd.crosstab(allocations["stratum"], allocations["arm"]).reindex(columns=arms, fill_value=0)
    two_stage = protocol.randomisation.two_stage and "saturation" in allocations.columns
    if len(table) and two_stage:
        worst = _largest_deviation(allocations, table, protocol)
    elif len(table):
        gaps = (table[arms[0]] - table[arms[1]]).abs()
        worst = {"stratum": str(gaps.idxmax()), "difference": int(gaps.max())}
    else:
        worst = {"stratum": None, "difference": 0}
    iso = allocations["randomised_on"].dt.isocalendar()
    weeks = (iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)).rename("week")
    by_week = pd.crosstab(weeks, allocations["arm"]).reindex(columns=arms, fill_value=0)
    covariates = list(dict.fromkeys(["age", *protocol.analysis.covariates]))
    return {
        "protocol": {"id": protocol.id, "version": protocol.version, "fingerprint": protocol.fingerprint},
        "enrolled": len(allocations),
        "by_arm": by_arm,
        "by_stratum": {str(s): {a: int(v) for a, v in row.items()} for s, row in table.iterrows()},
        "by_week": {str(w): {a: int(v) for a, v in row.items()} for w, row in by_week.iterrows()},
        "largest_imbalance": worst,
        "largest_block": largest_block(protocol),
        "balance": baseline_table(allocations, covariates, arms),
        "withdrawn": {arm: int((withdrawals["arm"] == arm).sum()) if withdrawals is not None else 0 for arm in arms},
        "screening": _screening(runs),
        "data_handling": data_handling(runs),
    } | (_clusters(allocations, protocol, saturations) if protocol.randomisation.two_stage else {})


def _screening(runs: pd.DataFrame | None) -> dict[str, Any]:
    """The people screened: assessed, eligible, excluded by reason code, enrolled."""
    counts = consort_screening(runs)
    if counts is None:
        return {"assessed": 0, "eligible": 0, "excluded": {}, "enrolled": 0}
    return {
        "assessed": counts.assessed,
        "eligible": counts.eligible,
        "excluded": {reason.code: reason.n for reason in counts.excluded},
        "enrolled": counts.enrolled,
    }


def largest_block(protocol: Protocol) -> int:
    """The largest block in people: the protocol's, or in a two-stage design that of its most finely split share."""
    r = protocol.randomisation
    largest = max(r.block_sizes)
    if not r.two_stage:
        return largest
    total = sum(a.ratio for a in protocol.arms)
    return max(largest * r.saturation_fraction(s).denominator // total for s in r.saturations if 0 < s < 1)


def _largest_deviation(allocations: pd.DataFrame, table: pd.DataFrame, protocol: Protocol) -> dict[str, Any]:
    """The stratum whose treated count lies furthest from its cluster's saturation × its size."""
    level = allocations.groupby("stratum")["saturation"].first().reindex(table.index)
    gaps = (table[protocol.treatment_arm] - level * table.sum(axis=1)).abs()
    return {"stratum": str(gaps.idxmax()), "difference": round(float(gaps.max()), 2)}


def _clusters(
    allocations: pd.DataFrame, protocol: Protocol, saturations: dict[str, float] | None
) -> dict[str, Any]:
    """A two-stage ledger's clusters: saturation, enrolled and treated share each, and totals by saturation."""
    drawn = saturations or {}
    treated = protocol.treatment_arm
    has = "cluster" in allocations.columns
    rows = []
    for cluster, level in sorted(drawn.items(), key=lambda item: (item[1], item[0])):
        mine = allocations[allocations["cluster"] == cluster] if has else allocations.iloc[:0]
        n, k = len(mine), int((mine["arm"] == treated).sum())
        rows.append({"cluster": cluster, "saturation": level, "enrolled": n, "treated": k,
                     "treated_share": k / n if n else None})
    by_level: dict[str, Any] = {}
    for level in sorted(set(drawn.values())):
        mine = [r for r in rows if r["saturation"] == level]
        n, k = sum(r["enrolled"] for r in mine), sum(r["treated"] for r in mine)
        by_level[f"{level}"] = {"clusters": len(mine), "enrolled": n, "treated": k,
                                "treated_share": k / n if n else None}
    return {"clusters": rows, "by_saturation": by_level}
