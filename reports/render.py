"""Render the six-month report: analysis results → disclosure-controlled context → one self-contained HTML file.

All user-facing text lives in `reports/templates/` (`text_da.html.j2`, `text_en.html.j2`); this module only
arranges numbers, hides small cells (`reports.disclosure`), draws figures (`reports.plots`) and blinds arms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from reports import disclosure, plots
from reports.blinding import BLIND_LETTERS, arm_order, invert, negate
from reports.disclosure import Hidden
from trial.errors import TrialError
from trial.protocol import Protocol

if TYPE_CHECKING:
    from trial.evaluation import Evaluation

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class ReportInputs:
    """Everything a report shows: the analysis result plus what only the ledger knows (screening, withdrawals)."""

    protocol: Protocol
    result: dict[str, Any]
    allocations: pd.DataFrame | None = None
    screening: pd.DataFrame | None = None
    withdrawals: pd.DataFrame | None = None
    ledger_head: str | None = None
    baseline: list[dict[str, Any]] | None = None
    savings: dict[str, Any] | None = None

    @classmethod
    def from_evaluation(
        cls, evaluation: Evaluation, result: dict[str, Any], savings: dict[str, Any] | None = None
    ) -> ReportInputs:
        """The report of an evaluation's analysis `result`, with the ledger's counts when it came from a ledger."""
        return cls(
            protocol=evaluation.protocol,
            result=result,
            allocations=evaluation.allocations,
            screening=evaluation.screening,
            withdrawals=evaluation.withdrawals,
            ledger_head=evaluation.ledger_head,
            savings=savings,
        )


# ----------------------------------------------------------------------------------------------------------------
# Small helpers


def _get(data: Any, path: str, default: Any = None) -> Any:
    """Follow a dotted path through nested dicts; `default` when any step is missing or None."""
    node = data
    for key in path.split("."):
        if not isinstance(node, Mapping) or node.get(key) is None:
            return default
        node = node[key]
    return node


def _finite(value: Any) -> float | None:
    """A float for a finite number, otherwise None (so NaN never reaches a template)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _pair(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, Sequence) or len(value) != 2:
        return None
    lo, hi = _finite(value[0]), _finite(value[1])
    return None if lo is None or hi is None else (lo, hi)


def _effect(node: Any) -> dict[str, Any] | None:
    """Normalise an effect node ({estimate, ci, p, ...}) to finite floats; None when there is no estimate."""
    if not isinstance(node, Mapping) or _finite(node.get("estimate")) is None:
        return None
    return {
        "estimate": _finite(node.get("estimate")),
        "ci": _pair(node.get("ci")),
        "ci_bootstrap": _pair(node.get("ci_bootstrap")),
        "p": _finite(node.get("p")),
        "se": _finite(node.get("se")),
    }


def _hide_effect(effect: dict[str, Any] | None, min_cell: int) -> Any:
    return Hidden(min_cell) if effect is not None else None


# ----------------------------------------------------------------------------------------------------------------
# Number formatting for the templates (numbers only; words live in the templates)


class Formatter:
    """Danish or English number formats; hidden cells show as "<min_cell" (counts) or the dash mark (estimates)."""

    def __init__(self, lang: str, min_cell: int, hidden_mark: str) -> None:
        self.decimal = "," if lang == "da" else "."
        self.thousands = "." if lang == "da" else ","
        self.min_cell = min_cell
        self.hidden_mark = hidden_mark

    def _hidden(self, value: Any, count: bool) -> Markup | None:
        if isinstance(value, Hidden):
            text = f"&lt;{value.min_cell}" if count and value.primary else self.hidden_mark
            return Markup(f'<span class="hidden-cell">{text}</span>')
        return None

    def number(self, value: Any, digits: int = 1) -> Any:
        """A decimal number with the language's separators (minus sign typeset as U+2212)."""
        hidden = self._hidden(value, count=False)
        if hidden is not None:
            return hidden
        number = _finite(value)
        if number is None:
            return "–"
        text = f"{number:,.{digits}f}"
        text = text.replace(",", "\x00").replace(".", self.decimal).replace("\x00", self.thousands)
        return text.replace("-", "−")

    def count(self, value: Any) -> Any:
        """A count of people: "<5" when hidden."""
        hidden = self._hidden(value, count=True)
        if hidden is not None:
            return hidden
        number = _finite(value)
        return "–" if number is None else self.number(round(number), 0)

    def percent(self, value: Any, digits: int = 1) -> Any:
        """A share 0..1 as a percentage number (the % sign is added by the template's wording)."""
        hidden = self._hidden(value, count=False)
        if hidden is not None:
            return hidden
        number = _finite(value)
        return "–" if number is None else self.number(100 * number, digits)

    def pvalue(self, value: Any) -> Any:
        """p with three decimals, "<0,001" below that."""
        hidden = self._hidden(value, count=False)
        if hidden is not None:
            return hidden
        number = _finite(value)
        if number is None:
            return "–"
        return "<" + self.number(0.001, 3) if number < 0.001 else self.number(number, 3)


# ----------------------------------------------------------------------------------------------------------------
# Sections


class _Builder:
    """Builds the template context of one report (one language, blinded or not)."""

    def __init__(self, inputs: ReportInputs, lang: str, blind: bool, blind_seed: int | None, text: Any) -> None:
        self.inputs = inputs
        self.protocol = inputs.protocol
        self.result = inputs.result
        self.lang = lang
        self.blind = blind
        self.text = text
        self.min_cell = self.protocol.report.min_cell
        self.order = arm_order(self.protocol, blind, blind_seed)
        # Blinded comparisons read "B relative to A"; the analysis reports treatment relative to control.
        # When A is the treatment arm every effect is turned round, so the sign convention reveals nothing.
        self.flip = blind and self.order[0] == self.protocol.treatment_arm
        self.horizon = float(self.protocol.outcomes.horizon_days)
        self.arm_n = {arm: _finite(_get(self.result, f"arms.{arm}.n")) for arm in self.order}

    # -- arms ---------------------------------------------------------------------------------------------------

    def arms(self) -> list[dict[str, Any]]:
        out = []
        for i, name in enumerate(self.order):
            arm = next(a for a in self.protocol.arms if a.name == name)
            label = (arm.label_da if self.lang == "da" else arm.label_en) or arm.name
            out.append(
                {
                    "slot": str(i + 1),
                    "letter": BLIND_LETTERS[i],
                    "label": None if self.blind else label,
                    "role": None if self.blind else arm.role,
                    "colour": plots.ARM_COLOURS[i],
                    "legend": f"{self.text.group_word} {BLIND_LETTERS[i]}" if self.blind else label,
                }
            )
        return out

    # -- effects with the blinding convention -------------------------------------------------------------------

    def difference(self, node: Any) -> dict[str, Any] | None:
        effect = _effect(node)
        return negate(effect) if self.flip else effect

    def ratio(self, node: Any) -> dict[str, Any] | None:
        effect = _effect(node)
        return invert(effect) if self.flip else effect

    def _enough(self) -> bool:
        return all(not disclosure.too_small(n, self.min_cell) for n in self.arm_n.values())

    def effects(self) -> dict[str, Any]:
        eff = _get(self.result, "effects", {})
        out = {
            "days_saved": self.difference(eff.get("days_saved")),
            "hazard_ratio": self.ratio(eff.get("hazard_ratio")),
            "hazard_ratio_adjusted": self.ratio(eff.get("hazard_ratio_adjusted")),
            "employment_rate_difference": self.difference(eff.get("employment_rate_difference")),
            "employment_rate_ratio": self.ratio(eff.get("employment_rate_ratio")),
            "unemployed_share_difference": self.difference(eff.get("unemployed_share_difference")),
            "logrank": _effect({"estimate": _get(eff, "logrank.statistic"), "p": _get(eff, "logrank.p")}),
            "logrank_stratified": _effect(
                {"estimate": _get(eff, "logrank_stratified.statistic"), "p": _get(eff, "logrank_stratified.p")}
            ),
            "ph_test": _effect({"estimate": _get(eff, "ph_test.statistic"), "p": _get(eff, "ph_test.p")}),
            "cace_days_saved": None if self.blind else _effect(eff.get("cace_days_saved")),
        }
        # Days saved in the difference convention of "employment": the unemployed share falls when employment rises.
        if not self._enough():
            out = {key: _hide_effect(value, self.min_cell) for key, value in out.items()}
        return out

    # -- per-arm outcomes ---------------------------------------------------------------------------------------

    def at_risk(self) -> dict[str, Any]:
        node = _get(self.result, "at_risk", {})
        times = [float(t) for t in node.get("times", [])]
        rows = []
        for arm, info in zip(self.order, self.arms(), strict=True):
            values = node.get(arm, [])
            rows.append({"arm": info, "values": disclosure.protect_at_risk(values, self.min_cell)})
        return {"times": times, "weeks": [round(t / 7) for t in times], "rows": rows}

    def _at_risk_at(self, arm: str, t: float) -> float | None:
        node = _get(self.result, "at_risk", {})
        times, values = node.get("times", []), node.get(arm, [])
        best = None
        for ti, vi in zip(times, values, strict=False):
            if float(ti) <= t:
                best = vi
        return _finite(best)

    def stops(self) -> list[float | None]:
        """Per arm, the time up to which its curves rest on enough people at risk (curves are cut there)."""
        out: list[float | None] = []
        for arm in self.order:
            km = _get(self.result, f"curves.km.{arm}", {})
            if "at_risk" in km and len(km["at_risk"]) == len(km.get("time", [])):
                stop = disclosure.shown_until(km["time"], km["at_risk"], self.min_cell)
                out.append(-1.0 if stop is None else stop)
                continue
            node = _get(self.result, "at_risk", {})
            times, values = node.get("times", []), node.get(arm, [])
            stop = disclosure.shown_until(times, values, self.min_cell)
            # Every grid point shows enough people: the curve holds to the horizon.
            if stop is not None and times and stop == float(times[-1]):
                stop = self.horizon
            # Never enough people at risk: nothing of this arm's curve is drawn.
            out.append(-1.0 if stop is None else stop)
        return out

    def outcome_rows(self) -> list[dict[str, Any]]:
        rows = []
        for arm, info in zip(self.order, self.arms(), strict=True):
            node = _get(self.result, f"arms.{arm}", {})
            n = _finite(node.get("n"))
            counts = {k: int(node.get(k) or 0) for k in ("events", "competing", "censored")}
            cells = {"n": int(n or 0), **counts}
            protected = disclosure.protect_counts(cells, [("n", ["events", "competing", "censored"])], self.min_cell)
            enough = not disclosure.too_small(n, self.min_cell)

            def value(v: Any, enough: bool = enough) -> Any:
                return v if enough else Hidden(self.min_cell)

            still = {}
            for day, share in (node.get("still_unemployed_at") or {}).items():
                at_risk = self._at_risk_at(arm, float(day))
                still[str(day)] = disclosure.protect_share(_finite(share), at_risk, n, self.min_cell)
            employment = disclosure.protect_share(
                _finite(node.get("employment_rate")), node.get("events"), n, self.min_cell
            )
            rows.append(
                {
                    "arm": info,
                    **protected,
                    "median_days": value(_finite(node.get("median_days"))),
                    "median_ci": value(_pair(node.get("median_days_ci") or node.get("median_ci"))),
                    "rmst_days": value(_finite(node.get("rmst_days"))),
                    "rmst_se": value(_finite(node.get("rmst_se"))),
                    "employment_rate": employment,
                    "employment_rate_ci": employment
                    if isinstance(employment, Hidden)
                    else _pair(node.get("employment_rate_ci")),
                    "unemployed_share": value(_finite(node.get("unemployed_share"))),
                    "still_unemployed_at": still,
                }
            )
        return rows

    # -- figures ------------------------------------------------------------------------------------------------

    def km_figure(self) -> str | None:
        curves = []
        for arm, info, stop in zip(self.order, self.arms(), self.stops(), strict=True):
            km = _get(self.result, f"curves.km.{arm}")
            if not km or not len(km.get("time", [])):
                return None
            curves.append(
                plots.Curve(
                    label=info["legend"],
                    colour=info["colour"],
                    time=np.asarray(km["time"], dtype=float),
                    value=np.asarray(km["survival"], dtype=float),
                    lower=np.asarray(km["lower"], dtype=float) if km.get("lower") is not None else None,
                    upper=np.asarray(km["upper"], dtype=float) if km.get("upper") is not None else None,
                    stop=stop,
                )
            )
        return plots.km_svg(
            curves, horizon=self.horizon, xlabel=self.text.axis_days, ylabel=self.text.axis_still_unemployed
        )

    def cif_figure(self) -> str | None:
        node = _get(self.result, "curves.cif")
        if not node:
            return None
        exits = [*self.protocol.outcomes.event_exits, *self.protocol.outcomes.competing_exits]
        exits = [e for e in exits if any(e in (node.get(arm) or {}) for arm in self.order)]
        if not exits:
            return None
        names = self.text.exit_names
        panels = []
        stops = self.stops()
        for exit_name in exits:
            panel = plots.Panel(title=str(names.get(exit_name, exit_name)) if hasattr(names, "get") else exit_name)
            for arm, info, stop in zip(self.order, self.arms(), stops, strict=True):
                curve = _get(node, f"{arm}.{exit_name}")
                if not curve:
                    continue
                value = curve.get("cif", curve.get("value"))
                panel.curves.append(
                    plots.Curve(
                        label=info["legend"],
                        colour=info["colour"],
                        time=np.asarray(curve["time"], dtype=float),
                        value=np.asarray(value, dtype=float),
                        stop=stop,
                    )
                )
            panels.append(panel)
        return plots.cif_svg(
            panels, horizon=self.horizon, xlabel=self.text.axis_days, ylabel=self.text.axis_cumulative_incidence
        )

    # -- subgroups ----------------------------------------------------------------------------------------------

    def subgroups(self) -> dict[str, Any] | None:
        rows = self.result.get("subgroups")
        if isinstance(rows, Mapping):
            interaction = rows.get("interaction") or {}
            rows = rows.get("rows") or rows.get("levels") or []
        else:
            interaction = self.result.get("subgroup_interactions") or {}
        if not rows:
            return None
        by_variable: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_variable.setdefault(str(row.get("variable")), []).append(row)
        groups = []
        forest: list[plots.ForestRow] = []
        for variable, levels in by_variable.items():
            counts = {
                arm: {str(r.get("level")): int(_get(r, f"n_by_arm.{arm}", 0) or 0) for r in levels}
                for arm in self.order
            }
            protected = disclosure.protect_table(counts, self.min_cell, {a: self.arm_n[a] or 0 for a in self.order})
            p_interaction = _finite(
                levels[0].get("interaction_p")
                if levels[0].get("interaction_p") is not None
                else (
                    interaction.get(variable, {}).get("p")
                    if isinstance(interaction.get(variable), Mapping)
                    else interaction.get(variable)
                )
            )
            label = self.text.variable_names.get(variable, variable)
            forest.append(plots.ForestRow(label=str(label), estimate=None, heading=True))
            out_levels = []
            for row in levels:
                level = str(row.get("level"))
                ns = [protected[arm][level] for arm in self.order]
                safe = not any(isinstance(n, Hidden) for n in ns)
                hr = self.ratio(row.get("hazard_ratio")) if safe else _hide_effect(1, self.min_cell)
                days = self.difference(row.get("days_saved")) if safe else _hide_effect(1, self.min_cell)
                out_levels.append({"level": level, "n": ns, "hazard_ratio": hr, "days_saved": days})
                estimate = hr["estimate"] if isinstance(hr, dict) else None
                ci = hr.get("ci") if isinstance(hr, dict) else None
                forest.append(
                    plots.ForestRow(
                        label=f"  {level}",
                        estimate=estimate,
                        lower=ci[0] if ci else None,
                        upper=ci[1] if ci else None,
                    )
                )
            groups.append({"variable": variable, "label": label, "p_interaction": p_interaction, "levels": out_levels})
        figure = None
        if any(r.estimate is not None for r in forest):
            figure = plots.forest_svg(
                forest, xlabel=self.text.axis_hazard_ratio, decimal="," if self.lang == "da" else "."
            )
        return {"groups": groups, "figure": figure}

    # -- CONSORT ------------------------------------------------------------------------------------------------

    def consort(self) -> dict[str, Any]:
        cells: dict[str, int] = {}
        relations: list[tuple[str, list[str]]] = []
        reasons: list[str] = []
        screening = self.inputs.screening
        if screening is not None and len(screening):
            sums = screening.drop(columns=[c for c in screening.columns if screening[c].dtype == object]).sum()
            reasons = sorted(c.removeprefix("excluded_") for c in sums.index if c.startswith("excluded_"))
            for reason in reasons:
                cells[f"excluded:{reason}"] = int(sums[f"excluded_{reason}"])
            cells["excluded"] = sum(cells[f"excluded:{r}"] for r in reasons)
            cells["read"] = int(sums.get("read", 0))
            cells["duplicates"] = int(sums.get("duplicate_rows", 0))
            cells["already"] = int(sums.get("already_enrolled", 0))
            cells["assessed"] = cells["read"] - cells["duplicates"] - cells["already"]
            relations += [
                ("excluded", [f"excluded:{r}" for r in reasons]),
                ("read", ["duplicates", "already", "assessed"]),
                ("assessed", ["excluded", "randomised"]),
            ]
        allocated = self._allocated()
        withdrawn = self._withdrawn()
        missing = self._without_outcome()
        for arm in self.order:
            analysed = int(self.arm_n.get(arm) or 0)
            cells[f"allocated:{arm}"] = allocated.get(arm, analysed)
            cells[f"analysed:{arm}"] = analysed
            cells[f"missing:{arm}"] = missing.get(arm, max(cells[f"allocated:{arm}"] - analysed, 0))
            # Intention to treat keeps withdrawn people's registry outcomes, so they are a note, not a subtraction.
            cells[f"withdrawn:{arm}"] = withdrawn.get(arm, 0)
            relations.append((f"allocated:{arm}", [f"missing:{arm}", f"analysed:{arm}"]))
        cells["randomised"] = sum(cells[f"allocated:{arm}"] for arm in self.order)
        relations.append(("randomised", [f"allocated:{arm}" for arm in self.order]))
        protected = disclosure.protect_counts(cells, relations, self.min_cell)
        # Reason names belong to the screening rules, which label them in both languages.
        from trial.screening import reason_label

        return {
            "screened": screening is not None and len(screening) > 0,
            "read": protected.get("read"),
            "duplicates": protected.get("duplicates"),
            "already": protected.get("already"),
            "assessed": protected.get("assessed"),
            "excluded": protected.get("excluded"),
            "reasons": [
                {"reason": reason_label(r, self.lang), "n": protected[f"excluded:{r}"]}
                for r in reasons
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
                for arm, info in zip(self.order, self.arms(), strict=True)
            ],
        }

    def _allocated(self) -> dict[str, int]:
        counts = _get(self.result, "counts.allocated") or _get(self.result, "counts.randomised")
        if isinstance(counts, Mapping):
            return {str(k): int(v) for k, v in counts.items() if k in self.order}
        if self.inputs.allocations is not None and "arm" in self.inputs.allocations:
            return {str(k): int(v) for k, v in self.inputs.allocations["arm"].value_counts().items()}
        return {}

    def _without_outcome(self) -> dict[str, int]:
        counts = _get(self.result, "counts.without_outcome")
        if not isinstance(counts, Mapping):
            return {}
        return {
            str(arm): int(sum(v.values())) if isinstance(v, Mapping) else int(v or 0)
            for arm, v in counts.items()
            if arm in self.order
        }

    def _withdrawn(self) -> dict[str, int]:
        counts = _get(self.result, "counts.withdrawn")
        if isinstance(counts, Mapping):
            return {str(k): int(v or 0) for k, v in counts.items() if k in self.order}
        frame = self.inputs.withdrawals
        if frame is not None and len(frame) and "arm" in frame:
            return {str(k): int(v) for k, v in frame.drop_duplicates("person_id")["arm"].value_counts().items()}
        return {}

    # -- baseline -----------------------------------------------------------------------------------------------

    def baseline(self) -> list[dict[str, Any]]:
        """Baseline table by arm from `trial.status.baseline_table`, with absolute SMDs and small cells hidden."""
        rows = self.inputs.baseline
        if rows is None and self.inputs.allocations is not None:
            from trial.status import baseline_table

            rows = baseline_table(self.inputs.allocations, self._baseline_variables(), self.order)
        if not rows:
            return []
        by_variable: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_variable.setdefault(str(row["variable"]), []).append(row)
        enough = self._enough()
        out = []
        for variable, levels in by_variable.items():
            label = self.text.variable_names.get(variable, variable)
            first = levels[0]
            if first.get("kind") == "numeric":
                stats = [first["arms"][arm] for arm in self.order]
                out.append(
                    {
                        "kind": "numeric",
                        "label": label,
                        "stats": [
                            {
                                "mean": _finite(s["mean"]) if enough else Hidden(self.min_cell),
                                "sd": _finite(s["sd"]) if enough else Hidden(self.min_cell),
                            }
                            for s in stats
                        ],
                        "smd": _abs(first.get("smd")) if enough else Hidden(self.min_cell),
                    }
                )
                continue
            counts = {arm: {str(r["level"]): int(r["arms"][arm]["n"]) for r in levels} for arm in self.order}
            totals = {arm: int(sum(counts[arm].values())) for arm in self.order}
            protected = disclosure.protect_table(counts, self.min_cell, totals)
            out_levels = []
            for row in levels:
                level = str(row["level"])
                ns = [protected[arm][level] for arm in self.order]
                shares = [
                    n if isinstance(n, Hidden) else (n / totals[arm] if totals[arm] else None)
                    for n, arm in zip(ns, self.order, strict=True)
                ]
                safe = not any(isinstance(n, Hidden) for n in ns)
                smd = _abs(row.get("smd")) if safe else Hidden(self.min_cell)
                out_levels.append({"level": level, "n": ns, "share": shares, "smd": smd})
            out.append({"kind": "categorical", "label": label, "levels": out_levels})
        return out

    def _baseline_variables(self) -> list[str]:
        names = ["age", *self.protocol.analysis.covariates]
        seen: list[str] = []
        for name in names:
            if name not in seen and self.inputs.allocations is not None and name in self.inputs.allocations:
                seen.append(name)
        return seen

    # -- use of recommendations, savings, methods ---------------------------------------------------------------

    def receipt(self) -> dict[str, Any] | None:
        """Use of the recommendations: only the treatment arm can receive them, so never in a blinded report."""
        node = self.result.get("receipt")
        arm = self.protocol.treatment_arm
        if self.blind or not isinstance(node, Mapping) or not isinstance(node.get(arm), Mapping):
            return None
        n = int(_get(node, f"{arm}.n", 0))
        received = int(_get(node, f"{arm}.received", 0))
        cells = disclosure.protect_counts(
            {"n": n, "received": received, "not": n - received}, [("n", ["received", "not"])], self.min_cell
        )
        share = disclosure.protect_share(_finite(_get(node, f"{arm}.share")), received, n, self.min_cell)
        return {"n": cells["n"], "received": cells["received"], "share": share, "recommendations": None}

    def savings(self, days: Any) -> dict[str, Any] | None:
        """The savings box: kroner per year for each target group; left out when blind or the effect is hidden."""
        if self.blind or not isinstance(days, dict) or not self.protocol.finance.target_groups:
            return None
        if self.inputs.savings is not None:
            data = self.inputs.savings
        else:
            try:
                from trial.savings import savings
            except ImportError:
                return None
            data = savings(self.protocol, days["estimate"], days.get("ci"))
        data = data.model_dump(mode="json") if hasattr(data, "model_dump") else data
        groups = []
        for group in data.get("target_groups", []):
            groups.append(
                {
                    "label": group.get(f"label_{self.lang}") or group.get("id"),
                    "per_day": _finite(group.get("per_day_saved")),
                    "estimate": _finite(_get(group, "per_year.estimate")),
                    "ci": _pair(_get(group, "per_year.ci")),
                    "break_even_days": _finite(group.get("break_even_days")),
                }
            )
        return {
            "currency": data.get("currency", self.protocol.finance.currency),
            "investment": _finite(data.get("investment")),
            "haircut": _finite(data.get("haircut")),
            "groups": groups,
        }

    def methods(self) -> dict[str, Any]:
        meta = self.result.get("meta") or {}
        interim = self.interim()
        inputs = meta.get("inputs") or {}
        # Only the role of each input and its hash: a path could carry a person's or an arm's name.
        files = [{"name": str(name), "sha256": _sha_of(value)} for name, value in inputs.items()]
        head = self.inputs.ledger_head or _get(inputs, "ledger.head_hash")
        versions = meta.get("packages") or meta.get("versions") or {}
        return {
            "fingerprint": _get(meta, "protocol.fingerprint") or self.protocol.fingerprint,
            "protocol_id": self.protocol.id,
            "protocol_version": self.protocol.version,
            "ledger_head": head,
            "files": files,
            "versions": [{"name": str(k), "version": str(v)} for k, v in sorted(versions.items())],
            "as_of": meta.get("as_of"),
            "bootstrap_seed": _get(meta, "bootstrap.seed"),
            "bootstrap": _get(meta, "bootstrap.replicates", self.protocol.analysis.bootstrap),
            "alpha": self.protocol.analysis.alpha,
            "horizon": int(self.horizon),
            "min_cell": self.min_cell,
            "look": interim.get("look"),
            "looks": interim.get("of"),
            "final": interim.get("final"),
            "z_boundary": _finite(interim.get("z_boundary")),
            "p_boundary": _finite(interim.get("p_boundary_two_sided")),
            "information_fraction": _finite(interim.get("information_fraction")),
            "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }

    def interim(self) -> dict[str, Any]:
        """Which planned look this data cut is: from the analysis when it says, else from the first randomisation."""
        node = self.result.get("interim")
        if isinstance(node, Mapping):
            return dict(node)
        as_of = _get(self.result, "meta.as_of")
        frame = self.inputs.allocations
        if as_of is None or frame is None or "randomised_on" not in frame or not len(frame):
            return {}
        from trial.interim import look_for

        first = pd.to_datetime(frame["randomised_on"]).min().date()
        return look_for(self.protocol, first, date.fromisoformat(str(as_of)))

    def context(self) -> dict[str, Any]:
        effects = self.effects()
        return {
            "lang": self.lang,
            "blind": self.blind,
            "title": self.protocol.title if self.lang == "da" else (self.protocol.title_en or self.protocol.title),
            "protocol": self.protocol,
            "min_cell": self.min_cell,
            "horizon": int(self.horizon),
            "horizon_weeks": round(self.horizon / 7),
            "arms": self.arms(),
            "effects": effects,
            "consort": self.consort(),
            "baseline": self.baseline(),
            "outcomes": self.outcome_rows(),
            "at_risk": self.at_risk(),
            "km_svg": self.km_figure(),
            "cif_svg": self.cif_figure(),
            "subgroups": self.subgroups(),
            "receipt": self.receipt(),
            "savings": self.savings(effects.get("days_saved")),
            "methods": self.methods(),
            "data_quality": self.result.get("data_quality") or {},
            "landmarks": [str(d) for d in self.protocol.outcomes.landmarks_days],
        }


def _abs(value: Any) -> float | None:
    """Absolute SMD: its sign would only say which arm is listed first."""
    number = _finite(value)
    return None if number is None else abs(number)


def _sha_of(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("sha256", ""))
    return str(value)


# ----------------------------------------------------------------------------------------------------------------
# Rendering


def _environment(lang: str, min_cell: int) -> tuple[Environment, Any]:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    fmt = Formatter(lang, min_cell, "")
    env.filters.update({"num": fmt.number, "count": fmt.count, "pct": fmt.percent, "p": fmt.pvalue})
    env.tests["hidden"] = disclosure.is_hidden
    text = env.get_template(f"text_{lang}.html.j2").make_module({"min_cell": min_cell})
    # The mark for a hidden estimate is part of the wording, so it comes from the language's text module.
    fmt.hidden_mark = str(text.hidden_mark)
    return env, text


def render_html(
    inputs: ReportInputs,
    *,
    lang: str | None = None,
    blind: bool = False,
    blind_seed: int | None = None,
) -> str:
    """The report as one self-contained HTML document (inline CSS and SVG, no scripts, no external requests)."""
    lang = lang or inputs.protocol.report.language
    if lang not in ("da", "en"):
        raise TrialError(f"--lang: the report is written in 'da' or 'en', not '{lang}'")
    env, text = _environment(lang, inputs.protocol.report.min_cell)
    # Transitional: the builder still walks plain data with the arms beside the at-risk times.
    plain = inputs.result if isinstance(inputs.result, Mapping) else inputs.result.model_dump(mode="json")
    if "by_arm" in plain.get("at_risk", {}):
        plain = {**plain, "at_risk": {"times": plain["at_risk"]["times"], **plain["at_risk"]["by_arm"]}}
    inputs = ReportInputs(**{**inputs.__dict__, "result": plain})
    builder = _Builder(inputs, lang, blind, blind_seed, text)
    context = builder.context()
    context["T"] = text
    return env.get_template("report.html.j2").render(context)
