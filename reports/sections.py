"""The report's sections, one function each: typed inputs → the figures a template shows, small cells hidden.

Every figure arrives computed in `trial.results.ReportInputs`; a section only picks it, puts the arms in page order
(`reports.blinding`), hides what would point at few people (`reports.disclosure`) and draws it (`reports.plots`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np

from reports import disclosure, plots
from reports.blinding import ArmSlot, Blinding, EffectView, effect_view, pair, statistic_view
from reports.disclosure import Hidden
from reports.formatting import finite
from trial.protocol import Protocol
from trial.results import AnalysisResult, ArmSummary, BaselineRow, ReportInputs, Subgroup


@dataclass(frozen=True)
class Page:
    """One rendering of a report: its inputs, language, blinding and wording (the language's text module)."""

    inputs: ReportInputs
    lang: str
    blinding: Blinding
    text: Any

    @property
    def protocol(self) -> Protocol:
        return self.inputs.protocol

    @property
    def result(self) -> AnalysisResult:
        return self.inputs.result

    @property
    def blind(self) -> bool:
        return self.blinding.blind

    @property
    def order(self) -> tuple[str, str]:
        return self.blinding.order

    @property
    def min_cell(self) -> int:
        return self.protocol.report.min_cell

    @property
    def horizon(self) -> float:
        return float(self.protocol.outcomes.horizon_days)

    @cached_property
    def arms(self) -> list[ArmSlot]:
        """The arms section: each arm's slot, letter, colour and (unblinded) label, in page order."""
        return self.blinding.slots(self.protocol, self.lang, str(self.text.group_word))

    @cached_property
    def arm_n(self) -> dict[str, int]:
        """People analysed per arm."""
        return {arm: self.result.arms[arm].n for arm in self.order}

    @property
    def enough(self) -> bool:
        """Every arm is large enough to show estimates about."""
        return all(not disclosure.too_small(n, self.min_cell) for n in self.arm_n.values())

    def hidden(self) -> Hidden:
        """A suppressed cell under this report's threshold."""
        return Hidden(self.min_cell)


# --- effects ------------------------------------------------------------------------------------------------------


def effects(page: Page) -> dict[str, EffectView | Hidden | None]:
    """Every contrast in the page's direction; all hidden when an arm is too small, the complier effect when blind."""
    found = page.result.effects
    turn = page.blinding
    out: dict[str, EffectView | Hidden | None] = {
        "days_saved": turn.difference(found.days_saved, found.days_saved.ci_bootstrap),
        "hazard_ratio": turn.ratio(found.hazard_ratio),
        "hazard_ratio_adjusted": turn.ratio(found.hazard_ratio_adjusted),
        "employment_rate_difference": turn.difference(found.employment_rate_difference),
        "employment_rate_ratio": turn.ratio(found.employment_rate_ratio),
        "unemployed_share_difference": turn.difference(found.unemployed_share_difference),
        "logrank": statistic_view(found.logrank),
        "logrank_stratified": statistic_view(found.logrank_stratified),
        "ph_test": statistic_view(found.ph_test),
        "cace_days_saved": None if page.blind else effect_view(found.cace_days_saved),
    }
    if page.enough:
        return out
    return {key: None if value is None else page.hidden() for key, value in out.items()}


# --- per-arm outcomes ---------------------------------------------------------------------------------------------


def at_risk(page: Page) -> dict[str, Any]:
    """The numbers-at-risk table under the Kaplan-Meier figure, every four weeks."""
    node = page.result.at_risk
    times = [float(t) for t in node.times]
    rows = [
        {"arm": info, "values": disclosure.protect_at_risk(node.by_arm.get(arm, []), page.min_cell)}
        for arm, info in zip(page.order, page.arms, strict=True)
    ]
    return {"times": times, "weeks": [round(t / 7) for t in times], "rows": rows}


def stops(page: Page) -> list[float | None]:
    """Per arm, the time up to which its curves rest on enough people at risk (curves are cut there)."""
    node = page.result.at_risk
    out: list[float | None] = []
    for arm in page.order:
        stop = disclosure.shown_until(node.times, node.by_arm.get(arm, []), page.min_cell)
        # Every grid point shows enough people: the curve holds to the horizon.
        if stop is not None and node.times and stop == float(node.times[-1]):
            stop = page.horizon
        # Never enough people at risk: nothing of this arm's curve is drawn.
        out.append(-1.0 if stop is None else stop)
    return out


def outcome_rows(page: Page) -> list[dict[str, Any]]:
    """The outcomes table: one column per arm, counts and estimates hidden where they rest on few people."""
    return [
        _outcome_row(page, arm, info, page.result.arms[arm])
        for arm, info in zip(page.order, page.arms, strict=True)
    ]


def _outcome_row(page: Page, arm: str, info: ArmSlot, node: ArmSummary) -> dict[str, Any]:
    """One arm's column: counts protected together, shares hidden where they would reveal a small count."""
    n = node.n
    cells = {"n": n, "events": node.events, "competing": node.competing, "censored": node.censored}
    protected = disclosure.protect_counts(cells, [("n", ["events", "competing", "censored"])], page.min_cell)
    enough = not disclosure.too_small(n, page.min_cell)

    def value(v: Any) -> Any:
        return v if enough else page.hidden()

    still = {
        day: disclosure.protect_share(finite(share), page.result.at_risk.at(arm, float(day)), n, page.min_cell)
        for day, share in node.still_unemployed_at.items()
    }
    employment = disclosure.protect_share(finite(node.employment_rate), node.events, n, page.min_cell)
    return {
        "arm": info,
        **protected,
        "median_days": value(finite(node.median_days)),
        "median_ci": value(pair(node.median_ci)),
        "rmst_days": value(finite(node.rmst_days)),
        "rmst_se": value(finite(node.rmst_se)),
        "employment_rate": employment,
        "employment_rate_ci": employment if isinstance(employment, Hidden) else pair(node.employment_rate_ci),
        "unemployed_share": value(finite(node.unemployed_share)),
        "still_unemployed_at": still,
    }


# --- figures ------------------------------------------------------------------------------------------------------


def km_figure(page: Page) -> str | None:
    """Kaplan-Meier curves of both arms with their bands, each cut where too few people remain at risk."""
    curves = []
    for arm, info, stop in zip(page.order, page.arms, stops(page), strict=True):
        km = page.result.curves.km.get(arm)
        if km is None or not km.time:
            return None
        curves.append(
            plots.Curve(
                label=info.legend,
                colour=info.colour,
                time=np.asarray(km.time, dtype=float),
                value=np.asarray(km.survival, dtype=float),
                lower=np.asarray(km.lower, dtype=float),
                upper=np.asarray(km.upper, dtype=float),
                stop=stop,
            )
        )
    return plots.km_svg(
        curves, horizon=page.horizon, xlabel=page.text.axis_days, ylabel=page.text.axis_still_unemployed
    )


def cif_figure(page: Page) -> str | None:
    """Cumulative incidence of each exit, one panel an exit, both arms in each."""
    node = page.result.curves.cif
    exits = [*page.protocol.outcomes.event_exits, *page.protocol.outcomes.competing_exits]
    exits = [e for e in exits if any(e in node.get(arm, {}) for arm in page.order)]
    if not node or not exits:
        return None
    panels = []
    arm_stops = stops(page)
    for exit_name in exits:
        panel = plots.Panel(title=str(page.text.exit_names.get(exit_name, exit_name)))
        for arm, info, stop in zip(page.order, page.arms, arm_stops, strict=True):
            curve = node.get(arm, {}).get(exit_name)
            if curve is None:
                continue
            panel.curves.append(
                plots.Curve(
                    label=info.legend,
                    colour=info.colour,
                    time=np.asarray(curve.time, dtype=float),
                    value=np.asarray(curve.cif, dtype=float),
                    stop=stop,
                )
            )
        panels.append(panel)
    return plots.cif_svg(
        panels, horizon=page.horizon, xlabel=page.text.axis_days, ylabel=page.text.axis_cumulative_incidence
    )


# --- subgroups ----------------------------------------------------------------------------------------------------


def subgroups(page: Page) -> dict[str, Any] | None:
    """The subgroup table and forest plot; a level's estimates are hidden where either arm has few people in it."""
    by_variable: dict[str, list[Subgroup]] = {}
    for row in page.result.subgroups:
        by_variable.setdefault(row.variable, []).append(row)
    if not by_variable:
        return None
    groups = []
    forest: list[plots.ForestRow] = []
    for variable, levels in by_variable.items():
        label = page.text.variable_names.get(variable, variable)
        group, rows = _subgroup(page, variable, str(label), levels)
        groups.append(group)
        forest += rows
    figure = None
    if any(r.estimate is not None for r in forest):
        figure = plots.forest_svg(
            forest, xlabel=page.text.axis_hazard_ratio, decimal="," if page.lang == "da" else "."
        )
    return {"groups": groups, "figure": figure}


def _subgroup(
    page: Page, variable: str, label: str, levels: list[Subgroup]
) -> tuple[dict[str, Any], list[plots.ForestRow]]:
    """One subgroup variable: its table rows and its rows of the forest plot."""
    counts = {arm: {r.level: r.n_by_arm.get(arm, 0) for r in levels} for arm in page.order}
    protected = disclosure.protect_table(counts, page.min_cell, page.arm_n)
    interaction = page.result.subgroup_interactions.get(variable)
    forest = [plots.ForestRow(label=label, estimate=None, heading=True)]
    out_levels = []
    for row in levels:
        ns = [protected[arm][row.level] for arm in page.order]
        safe = not any(isinstance(n, Hidden) for n in ns)
        hr = page.blinding.ratio(row.hazard_ratio) if safe else page.hidden()
        days = page.blinding.difference(row.days_saved) if safe else page.hidden()
        out_levels.append({"level": row.level, "n": ns, "hazard_ratio": hr, "days_saved": days})
        ci = hr["ci"] if isinstance(hr, dict) else None
        forest.append(
            plots.ForestRow(
                label=f"  {row.level}",
                estimate=hr["estimate"] if isinstance(hr, dict) else None,
                lower=ci[0] if ci else None,
                upper=ci[1] if ci else None,
            )
        )
    p_interaction = None if interaction is None else finite(interaction.p)
    group = {"variable": variable, "label": label, "p_interaction": p_interaction, "levels": out_levels}
    return group, forest


# --- CONSORT ------------------------------------------------------------------------------------------------------


def consort(page: Page) -> dict[str, Any]:
    """The CONSORT flow: screening (from the ledger, when there is one), allocation, follow-up, analysis."""
    screening = page.inputs.screening
    cells: dict[str, int] = {}
    relations: list[tuple[str, list[str]]] = []
    reasons = [] if screening is None else screening.excluded
    if screening is not None:
        for reason in reasons:
            cells[f"excluded:{reason.code}"] = reason.n
        cells["excluded"] = screening.excluded_total
        cells["read"] = screening.rows_read
        cells["duplicates"] = screening.duplicate_rows
        cells["already"] = screening.already_enrolled
        cells["assessed"] = screening.assessed
        # People are counted once however often they were read; rows are data handling and add up to nothing.
        relations += [
            ("excluded", [f"excluded:{r.code}" for r in reasons]),
            ("assessed", ["excluded", "randomised"]),
        ]
    _arm_flow(page, cells, relations)
    protected = disclosure.protect_counts(cells, relations, page.min_cell)
    return {
        "screened": screening is not None,
        "read": protected.get("read"),
        "duplicates": protected.get("duplicates"),
        "already": protected.get("already"),
        "assessed": protected.get("assessed"),
        "excluded": protected.get("excluded"),
        "reasons": [
            {
                "reason": reason.label_da if page.lang == "da" else reason.label_en,
                "n": protected[f"excluded:{reason.code}"],
            }
            for reason in reasons
        ],
        "randomised": protected["randomised"],
        "arms": [
            {
                "arm": info,
                "allocated": protected[f"allocated:{arm}"],
                "withdrawn": protected[f"withdrawn:{arm}"],
                "missing": protected[f"missing:{arm}"],
                "analysed": protected[f"analysed:{arm}"],
            }
            for arm, info in zip(page.order, page.arms, strict=True)
        ],
    }


def _arm_flow(page: Page, cells: dict[str, int], relations: list[tuple[str, list[str]]]) -> None:
    """Add each arm's allocated, missing, withdrawn and analysed counts to the CONSORT cells and their sums."""
    counts = page.result.counts
    withdrawn = counts.withdrawn or {}
    for arm in page.order:
        analysed = page.arm_n[arm]
        cells[f"allocated:{arm}"] = counts.allocated.get(arm, analysed)
        cells[f"analysed:{arm}"] = analysed
        missing = counts.without_outcome.get(arm)
        unknown = max(cells[f"allocated:{arm}"] - analysed, 0)
        cells[f"missing:{arm}"] = unknown if missing is None else sum(missing.values())
        # Intention to treat keeps withdrawn people's registry outcomes, so they are a note, not a subtraction.
        cells[f"withdrawn:{arm}"] = withdrawn.get(arm, 0)
        relations.append((f"allocated:{arm}", [f"missing:{arm}", f"analysed:{arm}"]))
    cells["randomised"] = sum(cells[f"allocated:{arm}"] for arm in page.order)
    relations.append(("randomised", [f"allocated:{arm}" for arm in page.order]))


# --- baseline -----------------------------------------------------------------------------------------------------


def baseline(page: Page) -> list[dict[str, Any]]:
    """The baseline table by arm, with absolute SMDs and small cells hidden."""
    by_variable: dict[str, list[BaselineRow]] = {}
    for row in page.inputs.baseline:
        by_variable.setdefault(row.variable, []).append(row)
    out = []
    for variable, levels in by_variable.items():
        label = page.text.variable_names.get(variable, variable)
        if levels[0].kind == "numeric":
            out.append(_baseline_numeric(page, label, levels[0]))
        else:
            out.append({"kind": "categorical", "label": label, "levels": _baseline_levels(page, levels)})
    return out


def _baseline_numeric(page: Page, label: Any, row: BaselineRow) -> dict[str, Any]:
    """Mean (SD) of a numeric covariate per arm, hidden when an arm is too small."""
    enough = page.enough
    stats = [row.arms[arm] for arm in page.order]
    return {
        "kind": "numeric",
        "label": label,
        "stats": [
            {"mean": finite(s.mean) if enough else page.hidden(), "sd": finite(s.sd) if enough else page.hidden()}
            for s in stats
        ],
        "smd": _abs(row.smd) if enough else page.hidden(),
    }


def _baseline_levels(page: Page, levels: list[BaselineRow]) -> list[dict[str, Any]]:
    """Number (share) per arm of each level of a category, protected as one table per arm."""
    counts = {arm: {str(r.level): r.arms[arm].n for r in levels} for arm in page.order}
    totals = {arm: int(sum(counts[arm].values())) for arm in page.order}
    protected = disclosure.protect_table(counts, page.min_cell, totals)
    out = []
    for row in levels:
        level = str(row.level)
        ns = [protected[arm][level] for arm in page.order]
        shares = [
            n if isinstance(n, Hidden) else (n / totals[arm] if totals[arm] else None)
            for n, arm in zip(ns, page.order, strict=True)
        ]
        safe = not any(isinstance(n, Hidden) for n in ns)
        out.append({"level": level, "n": ns, "share": shares, "smd": _abs(row.smd) if safe else page.hidden()})
    return out


def _abs(value: float | None) -> float | None:
    """Absolute SMD: its sign would only say which arm is listed first."""
    number = finite(value)
    return None if number is None else abs(number)


# --- use of the recommendations, savings, methods -----------------------------------------------------------------


def receipt(page: Page) -> dict[str, Any] | None:
    """Use of the recommendations: only the treatment arm can receive them, so never in a blinded report."""
    node = (page.result.receipt or {}).get(page.result.meta.arms.treatment)
    if page.blind or node is None:
        return None
    cells = disclosure.protect_counts(
        {"n": node.n, "received": node.received, "not": node.n - node.received},
        [("n", ["received", "not"])],
        page.min_cell,
    )
    share = disclosure.protect_share(finite(node.share), node.received, node.n, page.min_cell)
    return {"n": cells["n"], "received": cells["received"], "share": share, "recommendations": None}


def savings(page: Page, days: EffectView | Hidden | None) -> dict[str, Any] | None:
    """The savings box: kroner per year for each target group; left out when blind or the effect is hidden."""
    data = page.inputs.savings
    if page.blind or not isinstance(days, dict) or data is None or not data.target_groups:
        return None
    groups = [
        {
            "label": (group.label_da if page.lang == "da" else group.label_en) or group.id,
            "per_day": finite(group.per_day_saved),
            "estimate": finite(group.per_year.estimate),
            "ci": pair(group.per_year.ci),
            "break_even_days": finite(group.break_even_days),
        }
        for group in data.target_groups
    ]
    return {
        "currency": data.currency,
        "investment": finite(data.investment),
        "haircut": finite(data.haircut),
        "groups": groups,
    }


def methods(page: Page) -> dict[str, Any]:
    """The reproducibility stamp and the settings of the analysis, with the planned look this data cut is."""
    meta = page.result.meta
    interim = page.result.interim
    ledger = meta.inputs.get("ledger")
    return {
        "fingerprint": meta.protocol.fingerprint,
        "protocol_id": page.protocol.id,
        "protocol_version": page.protocol.version,
        "ledger_head": page.inputs.ledger_head or (ledger.head_hash if ledger else None),
        # Only the role of each input and its hash: a path could carry a person's or an arm's name.
        "files": [{"name": name, "sha256": stamp.sha256} for name, stamp in meta.inputs.items()],
        "versions": [{"name": name, "version": version} for name, version in sorted(meta.packages.items())],
        "as_of": meta.as_of.isoformat(),
        "bootstrap_seed": meta.bootstrap.seed,
        "bootstrap": meta.bootstrap.replicates,
        "alpha": page.protocol.analysis.alpha,
        "horizon": int(page.horizon),
        "min_cell": page.min_cell,
        "look": interim.look if interim else None,
        "looks": interim.of if interim else None,
        "final": interim.final if interim else None,
        "z_boundary": finite(interim.z_boundary) if interim else None,
        "p_boundary": finite(interim.p_boundary_two_sided) if interim else None,
        "information_fraction": finite(interim.information_fraction) if interim else None,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
