"""The report's sections, one function each: typed inputs → the figures a template shows, small cells hidden.

Every figure arrives computed in `trial.results.ReportInputs`; a section only picks it, puts the arms in page order
(`reports.blinding`), hides what would point at few people (`reports.disclosure`) and draws it (`reports.plots`).
"""

from __future__ import annotations

import re
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


# Each effect of the analysis, the outcome family whose place in the protocol decides its role (primary, secondary
# in the protocol's order, or exploratory), and how it turns on a blinded page: "saved" differences read control −
# treatment (A − B blinded), the others treatment − control (B − A), ratios treatment / control (B / A).
FAMILIES = {
    "benefit_days_saved_adjusted": ("benefit_days", "difference", 1),
    "benefit_days_saved": ("benefit_days", "difference", 1),
    "benefit_days_all_spells_saved": ("benefit_days_all_spells", "difference", 1),
    "days_saved_adjusted": ("days_saved", "difference", 1),
    "days_saved": ("days_saved", "difference", 1),
    "hazard_ratio": ("time_to_employment", "ratio", 2),
    "hazard_ratio_adjusted": ("time_to_employment", "ratio", 2),
    "logrank": ("time_to_employment", "test", 2),
    "logrank_stratified": ("time_to_employment", "test", 2),
    "employment_rate_difference": ("employment_frequency", "difference", 3),
    "employment_rate_ratio": ("employment_frequency", "ratio", 2),
    "unemployed_share_difference": ("unemployed_share", "difference", 3),
    "binary.difference": ("binary", "difference", 3),
    "spillover.direct": ("benefit_days", "difference", 1),
    "exit_share_difference": ("exits", "difference", 3),
}


def _found(page: Page, name: str, part: str | None = None) -> Any:
    """The effect called `name` (a key of effects, 'binary.difference', or a dict's entry `part`)."""
    effects = page.result.effects
    if name == "binary.difference":
        return effects.binary.difference if effects.binary is not None else None
    if name == "spillover.direct":
        return effects.spillover.direct if effects.spillover is not None else None
    value = getattr(effects, name, None)
    return value.get(part) if isinstance(value, dict) and part is not None else value


def _shown(page: Page, name: str, effect: Any) -> EffectView | None:
    """One effect in the page's direction."""
    kind = FAMILIES[name][1]
    if kind == "test":
        return statistic_view(effect)
    if kind == "ratio":
        return page.blinding.ratio(effect)
    return page.blinding.difference(effect, getattr(effect, "ci_bootstrap", (None, None)))


def effects(page: Page) -> dict[str, EffectView | Hidden | None]:
    """The contrasts the summary and the sections quote, in the page's direction; all hidden when an arm is small."""
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
    }
    if page.enough:
        return out
    return {key: None if value is None else page.hidden() for key, value in out.items()}


def roles(page: Page) -> dict[str, tuple[str, int]]:
    """Each outcome family's role: ("primary", 0), ("secondary", its place in the protocol's list), or exploratory."""
    primary = page.result.primary
    out: dict[str, tuple[str, int]] = {}
    if primary is not None:
        out[FAMILIES.get(primary.name, ("", "", 0))[0]] = ("primary", 0)
    for place, name in enumerate(page.protocol.outcomes.secondary, start=1):
        family = "time_to_employment" if name == "time_to_employment" else name
        out.setdefault(family, ("secondary", place))
    return out


def effect_rows(page: Page) -> list[dict[str, Any]]:
    """The effects table: the primary estimand first, secondary outcomes in the protocol's order, then everything
    else labelled exploratory; each row with its nominal and repeated intervals in the page's direction."""
    role_of = roles(page)
    primary = page.result.primary
    primary_test = page.protocol.analysis.primary_test
    names: list[tuple[str, str | None]] = []
    for name in FAMILIES:
        value = getattr(page.result.effects, name, None)
        if isinstance(value, dict):
            names += [(name, part) for part in value]
        else:
            names.append((name, None))
    rows = []
    for order, (name, part) in enumerate(names):
        effect = _found(page, name, part)
        if effect is None:
            continue
        family, kind, digits = FAMILIES[name]
        role, place = role_of.get(family, ("exploratory", 99))
        headline = primary is not None and name == primary.name
        if name == primary_test:  # the log-rank or Cox test the looks decide on
            role, place = "primary", 0
        view: Any = _shown(page, name, effect)
        if not page.enough and view is not None:
            view = page.hidden()
        estimable = getattr(effect, "estimate", getattr(effect, "statistic", None)) is not None
        rows.append({
            "key": name if part is None else f"{name}.{part}", "name": name, "part": part, "kind": kind,
            "digits": digits, "view": view, "role": role, "place": place, "headline": headline,
            "primary_test": name == primary_test or (headline and primary_test == "primary_estimand"),
            "estimable": estimable, "order": (0 if headline else 1, {"primary": 0, "secondary": 1}.get(role, 2),
                                               place, order),
        })  # fmt: skip
    return sorted(rows, key=lambda row: row["order"])


def headline(page: Page) -> dict[str, Any] | None:
    """The primary effect for the summary: its view in the page's direction and its interval of record (the
    repeated interval at this look's boundary; the ordinary one without planned looks or an interim record)."""
    primary = page.result.primary
    if primary is None:
        return None
    view: Any = _shown(page, primary.name, primary)
    if view is not None and not page.enough:
        view = page.hidden()
    record = None
    if isinstance(view, dict):
        record = view["rci"] if page.result.interim is not None else view["ci"]
    return {"name": primary.name, "adjusted": primary.adjusted, "view": view, "record": record}


def decision(page: Page) -> dict[str, Any]:
    """What this look is and decides. Blinded, the z is shown as |z| and a crossing is not said to favour anyone."""
    interim = page.result.interim
    if interim is None:
        return {"kind": "unknown"}
    single = not interim.planned_months
    kind = ("single" if single else "before" if interim.look == 0 else "final" if interim.final else "interim")
    z = finite(interim.z)
    month = interim.planned_months[interim.look - 1] if interim.look and interim.planned_months else None
    return {
        "kind": kind,
        "look": interim.look,
        "of": interim.of,
        "month": month,
        "first_month": interim.planned_months[0] if interim.planned_months else None,
        "decision": interim.decision,
        "crossed": interim.crossed,
        "z": None if z is None else (abs(z) if page.blind else z),
        "z_boundary": finite(interim.z_boundary),
        "p_boundary": finite(interim.p_boundary_two_sided),
        "alpha": interim.alpha,
        "spending": interim.spending,
        "information": interim.information,
        "information_fraction": finite(interim.information_fraction),
        "events": interim.events,
        "planned_events": interim.planned_events,
        "test": interim.test,
        "primary_test": page.protocol.analysis.primary_test,
    }


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
    on_benefit = node.benefit_days
    n_benefit = (page.result.counts.analysed_benefit or {}).get(arm, on_benefit.n if on_benefit else None)
    benefit_cells = disclosure.protect_counts({"n": n_benefit}, [], page.min_cell) if n_benefit is not None else {}
    enough_benefit = not disclosure.too_small(n_benefit, page.min_cell)
    windows = {
        day: {
            "estimate": finite(w.estimate) if enough_benefit else page.hidden(),
            "se": finite(w.se) if enough_benefit else page.hidden(),
            "n_complete": disclosure.protect_counts({"n": w.n_complete}, [], page.min_cell)["n"],
        }
        for day, w in (node.benefit_days_all_spells or {}).items()
    }
    return {
        "arm": info,
        **protected,
        "n_benefit": benefit_cells.get("n"),
        "benefit_days": None if on_benefit is None else (
            finite(on_benefit.estimate) if enough_benefit else page.hidden()),
        "benefit_days_se": None if on_benefit is None else (finite(on_benefit.se) if enough_benefit else page.hidden()),
        "windows": windows,
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


# --- follow-up, data quality, notes, competing exits (issue 14) ---------------------------------------------------


def follow_up(page: Page) -> dict[str, Any] | None:
    """Days of follow-up per arm (quartiles), who is followed to the horizon and who is still at risk there."""
    node = page.result.follow_up
    if not node:
        return None
    rows = []
    for arm, info in zip(page.order, page.arms, strict=True):
        f = node[arm]
        cells = {"n": f.n, "followed": f.followed_to_horizon, "not_followed": f.n - f.followed_to_horizon,
                 "at_risk": f.at_risk_at_horizon, "not_at_risk": f.n - f.at_risk_at_horizon}
        shown = disclosure.protect_counts(
            cells, [("n", ["followed", "not_followed"]), ("n", ["at_risk", "not_at_risk"])], page.min_cell
        )
        enough = not disclosure.too_small(f.n, page.min_cell)
        days = [f.min_days, f.quartile_1_days, f.median_days, f.quartile_3_days, f.max_days]
        rows.append({
            "arm": info, "n": shown["n"], "followed": shown["followed"], "at_risk": shown["at_risk"],
            "share": disclosure.protect_share(finite(f.share_followed_to_horizon), f.followed_to_horizon, f.n,
                                              page.min_cell),
            "days": [finite(d) if enough else page.hidden() for d in days],
        })  # fmt: skip
    shares = [finite(f.share_followed_to_horizon) for f in node.values()]
    longest = max((finite(f.max_days) or 0 for f in node.values()), default=0)
    return {
        "rows": rows,
        "supported": page.result.horizon_supported is not False,
        "minimum": page.protocol.analysis.min_followed_share,
        "least_share": min((s for s in shares if s is not None), default=None),
        "longest": longest,
    }


def data_quality(page: Page) -> list[dict[str, Any]]:
    """Every data-quality count of the analysis, small ones hidden; reasons keep the analysis' order."""
    counts = page.result.data_quality
    shown = disclosure.protect_counts(dict(counts), [], page.min_cell)
    return [{"reason": reason, "n": shown[reason]} for reason in counts]


_PAIR = re.compile(r"\b(\d[\d,]*) of (\d[\d,]*)\b")
_COUNT = re.compile(r"\((\d[\d,]*)\)")


def notes(page: Page) -> list[str]:
    """Every note of the analysis as it wrote it (English), with small counts masked and, blinded, the arms named
    only by their letters."""
    out = []
    for note in page.result.notes:
        text = note
        if page.blind:
            for arm, info in zip(page.order, page.arms, strict=True):
                text = text.replace(f"arm '{arm}'", f"group {info.letter}").replace(f"'{arm}'", info.letter)
        text = _PAIR.sub(lambda m: f"{_masked(page, m.group(1))} of {_masked(page, m.group(2))}", text)
        text = _COUNT.sub(lambda m: f"({_masked(page, m.group(1))})", text)
        out.append(text)
    if not page.blind:
        return out
    # The analysis writes a note per arm control first; blinded, such notes follow the letters, else their order
    # would tell which group is the control.
    kinds = [re.sub(r"group [AB]", "group ?", re.sub(r"[\d.,]+", "#", text)) for text in out]
    first = {kind: kinds.index(kind) for kind in kinds}
    order = sorted(range(len(out)), key=lambda i: (first[kinds[i]], "group B" in out[i]))
    return [out[i] for i in order]


def _masked(page: Page, number: str) -> str:
    """A count as a note prints it, or "<min_cell" when it is 1 to min_cell − 1."""
    value = int(number.replace(",", ""))
    return f"<{page.min_cell}" if disclosure.small_count(value, page.min_cell) else number


def competing(page: Page) -> list[dict[str, Any]]:
    """Each exit's share by the horizon per arm and the difference (treatment − control; blinded B − A), so a shift
    between exits is said in a sentence; shares resting on fewer than min_cell people are hidden."""
    differences = page.result.effects.exit_share_difference or {}
    out = []
    for exit_name, difference in differences.items():
        shares = []
        for arm in page.order:
            node = page.result.arms[arm]
            share = finite((node.exits_by_horizon or {}).get(exit_name))
            people = None if share is None else share * node.n
            small = share is None or disclosure.too_small(node.n, page.min_cell) or (
                people is not None and 0 < people < page.min_cell)
            shares.append(page.hidden() if small and share is not None else share)
        hidden = any(isinstance(x, Hidden) for x in shares)
        view = None if hidden else page.blinding.difference(difference)
        out.append({"exit": exit_name, "shares": shares, "difference": view,
                    "distinct": bool(view and view["ci"] and (view["ci"][0] > 0 or view["ci"][1] < 0))})
    return out


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
    interaction_days = page.result.subgroup_interactions_days.get(variable)
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
    p_days = None if interaction_days is None else finite(interaction_days.p)
    group = {"variable": variable, "label": label, "p_interaction": p_interaction, "p_interaction_days": p_days,
             "levels": out_levels}
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
        "benefit": page.result.counts.analysed_benefit is not None,
        "arms": [
            {
                "arm": info,
                "allocated": protected[f"allocated:{arm}"],
                "withdrawn": protected[f"withdrawn:{arm}"],
                "missing": protected[f"missing:{arm}"],
                "after_cut": protected.get(f"after_cut:{arm}"),
                "analysed_benefit": protected.get(f"benefit:{arm}"),
                "no_index": protected.get(f"no_index:{arm}"),
                "analysed": protected[f"analysed:{arm}"],
            }
            for arm, info in zip(page.order, page.arms, strict=True)
        ],
    }


def _arm_flow(page: Page, cells: dict[str, int], relations: list[tuple[str, list[str]]]) -> None:
    """Add each arm's flow to the CONSORT cells and their sums: allocated = randomised after the data cut + analysed
    for days on benefit (everyone else); of those, people without an index spell + analysed for time to a job."""
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
        if counts.analysed_benefit is not None and missing is not None:
            cells[f"after_cut:{arm}"] = missing.get("randomised_after_data_cut", 0)
            cells[f"benefit:{arm}"] = counts.analysed_benefit.get(arm, 0)
            cells[f"no_index:{arm}"] = missing.get("no_index_spell", 0)
            relations.append((f"allocated:{arm}", [f"after_cut:{arm}", f"benefit:{arm}"]))
            relations.append((f"benefit:{arm}", [f"no_index:{arm}", f"analysed:{arm}"]))
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
    """Use of the recommendations and the complier effects, with their method and assumptions; only the treatment
    arm can receive them, so never in a blinded report."""
    node = (page.result.receipt or {}).get(page.result.meta.arms.treatment)
    if page.blind or node is None:
        return None
    cells = disclosure.protect_counts(
        {"n": node.n, "received": node.received, "not": node.n - node.received},
        [("n", ["received", "not"])],
        page.min_cell,
    )
    share = disclosure.protect_share(finite(node.share), node.received, node.n, page.min_cell)
    found = page.result.effects
    cace = []
    for name in ("cace_benefit_days_saved", "cace_days_saved"):
        effect = getattr(found, name)
        if effect is None:
            continue
        view: Any = effect_view(effect) if page.enough else page.hidden()
        cace.append({"name": name, "view": view, "method": effect.method, "assumptions": effect.assumptions})
    return {"n": cells["n"], "received": cells["received"], "share": share, "recommendations": None, "cace": cace}


def savings(page: Page, shown: Any) -> dict[str, Any] | None:
    """The savings box: kroner a year and the net present value for the trial's population from the primary effect's
    interval of record, and the seed's groups as scenarios; left out when blind or the effect is hidden."""
    data = page.inputs.savings
    if page.blind or not isinstance(shown, dict) or data is None:
        return None
    population = data.trial_population
    trial = None
    if population is not None:
        trial = {
            "label": (population.label_da if page.lang == "da" else population.label_en) or "",
            "persons": finite(population.persons_per_year),
            "source": population.persons_source,
            "cost_per_day": finite(population.cost_per_calendar_day),
            "per_day": finite(population.per_day_saved),
            "per_year": finite(population.per_year.estimate),
            "per_year_ci": pair(population.per_year.ci),
            "npv": finite(population.npv.estimate),
            "npv_ci": pair(population.npv.ci),
            "break_even_days": finite(population.break_even_days),
            "above_break_even": population.ci_above_break_even,
            "rounded_to": finite(population.rounded_to),
        }
    groups = [
        {
            "label": (group.label_da if page.lang == "da" else group.label_en) or group.id,
            "per_day": finite(group.per_day_saved),
            "estimate": finite(group.per_year.estimate),
            "break_even_days": finite(group.break_even_days),
            "break_even_days_npv": finite(group.break_even_days_npv),
        }
        for group in data.target_groups
    ]
    effect = data.effect
    return {
        "currency": data.currency,
        "investment": finite(data.investment),
        "haircut": finite(data.haircut),
        "years": data.appraisal.years if data.appraisal is not None else None,
        "discount_rate": finite(data.appraisal.discount_rate) if data.appraisal is not None else None,
        "days": None if effect is None else finite(effect.estimate),
        "days_ci": None if effect is None else pair(effect.ci),
        "trial": trial,
        "groups": groups,
    }


def methods(page: Page) -> dict[str, Any]:
    """The reproducibility stamp and the settings of the analysis: protocol version, amendments, registration, the
    primary estimand and test, and the group-sequential design with the look this data cut is."""
    meta = page.result.meta
    interim = page.result.interim
    ledger = meta.inputs.get("ledger")
    analysis = page.protocol.analysis
    return {
        "fingerprint": meta.protocol.fingerprint,
        "protocol_id": page.protocol.id,
        "protocol_version": page.protocol.version,
        "registration": page.protocol.registration,
        "amendments": [a for a in page.inputs.amendments if a.kind == "amendment"],
        "ledger_head": page.inputs.ledger_head or (ledger.head_hash if ledger else None),
        # Only the role of each input and its hash: a path could carry a person's or an arm's name.
        "files": [{"name": name, "sha256": stamp.sha256} for name, stamp in meta.inputs.items()],
        "versions": [{"name": name, "version": version} for name, version in sorted(meta.packages.items())],
        "as_of": meta.as_of.isoformat(),
        "bootstrap_seed": meta.bootstrap.seed,
        "bootstrap": meta.bootstrap.replicates,
        "alpha": analysis.alpha,
        "sided": analysis.sided,
        "horizon": int(page.horizon),
        "min_cell": page.min_cell,
        "primary": page.result.primary.name if page.result.primary is not None else None,
        "primary_test": analysis.primary_test,
        "information": analysis.information,
        "planned_events": analysis.planned_events,
        "planned_final_se": analysis.planned_final_se,
        "look": interim.look if interim else None,
        "looks": interim.of if interim else None,
        "final": interim.final if interim else None,
        "planned_months": list(interim.planned_months) if interim else [],
        "spending": analysis.spending,
        "boundaries": [
            {"look": b.look, "fraction": finite(b.information_fraction), "z": finite(b.z),
             "p": finite(min(1.0, b.p_one_sided * analysis.sided))}
            for b in (interim.boundaries if interim else [])
        ],
        "z_boundary": finite(interim.z_boundary) if interim else None,
        "p_boundary": finite(interim.p_boundary_two_sided) if interim else None,
        "information_fraction": finite(interim.information_fraction) if interim else None,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
