"""The report's displacement section of a two-stage design: time to a job of the three groups by saturation, the four
estimands in a table, and the plain sentence of how much of the treated's gain was taken from others.

It only renders `effects.spillover` of the analysis (`trial.spillover` computes it). A blinded report leaves the
section out: pure-control clusters hold only one arm, which would tell the arms apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reports import disclosure, plots
from trial.results import GroupCurve, Spillover, SpilloverEffect

ESTIMANDS = ("direct", "total_on_treated", "spillover_on_untreated", "net_per_person")
# Okabe-Ito, distinct from the arms' two colours: treated, untreated in treated clusters, pure control.
GROUP_COLOURS = {"treated": "#D55E00", "untreated": "#009E73", "pure_control": "#0072B2"}


def section(page: Any) -> dict[str, Any] | None:
    """Everything the displacement section shows, or None (an individual design, or a blinded report)."""
    found: Spillover | None = page.result.effects.spillover
    if found is None or page.blind or found.direct is None:
        return None
    min_cell = page.min_cell
    people = found.people
    shown = not any(disclosure.too_small(people[g], min_cell) for g in ("pure_control", "treated", "untreated"))
    levels = []
    for key, level in found.by_saturation.items():
        small = any(disclosure.too_small(n, min_cell) for n in level.people.values())
        levels.append({"share": float(key), "clusters": level.clusters, "people": level.people,
                       "effects": {name: _effect(getattr(level, name), small, min_cell) for name in ESTIMANDS}})
    spill, share = found.spillover_on_untreated, found.displaced_share
    return {
        "pooled": {name: _effect(getattr(found, name), not shown, min_cell) for name in ESTIMANDS},
        "levels": levels,
        "clusters": found.clusters,
        "people": people if shown else None,
        "icc": None if found.icc is None else found.icc.estimate,
        "later_days": None if spill is None or spill.estimate is None or not shown else -spill.estimate,
        "later_ci": _later_interval(spill, page.result.interim is not None) if shown else None,
        "taken_share": None if share is None or share.estimate is None or not shown else share.estimate,
        "taken_share_ci": None if share is None or not shown or share.ci[0] is None else share.ci,
        "replicates": found.bootstrap.replicates if found.bootstrap is not None else 0,
        "figure": _figure(page, found) if shown else None,
    }


def _effect(effect: SpilloverEffect | None, hidden: bool, min_cell: int) -> Any:
    """An estimand as the template shows it: estimate, interval, p; hidden when its groups are too small."""
    if effect is None or effect.estimate is None:
        return None
    if hidden:
        return disclosure.Hidden(min_cell)
    repeated = effect.rci is not None and tuple(effect.rci) != tuple(effect.ci)  # a look of a group-sequential design
    return {"estimate": effect.estimate, "ci": None if effect.ci[0] is None else effect.ci, "p": effect.p,
            "rci": effect.rci if repeated else None}


def _later_interval(spill: SpilloverEffect | None, look: bool) -> tuple[float, float] | None:
    """The spillover's interval of record (the repeated one at a look), as days the untreated left benefit later."""
    interval = None if spill is None else (spill.rci if look and spill.rci is not None else spill.ci)
    if interval is None or interval[0] is None or interval[1] is None:
        return None
    return -interval[1], -interval[0]


def _curve(group: GroupCurve, label: str, colour: str, min_cell: int) -> plots.Curve:
    """A group's Kaplan-Meier curve, cut where fewer than the smallest cell remain at risk."""
    time, at_risk = np.asarray(group.time, dtype=float), np.asarray(group.at_risk)
    enough = np.flatnonzero(at_risk >= min_cell)
    stop = float(time[enough[-1]]) if len(enough) else -1.0
    return plots.Curve(label=label, colour=colour, time=time, value=np.asarray(group.survival, dtype=float),
                       stop=stop)


def _figure(page: Any, found: Spillover) -> str | None:
    """One panel per saturation: the treated, the untreated of those clusters and the pure-control clusters."""
    text = page.text
    pure = found.curves.get("0.0", {}).get("pure_control")
    panels = []
    for key in found.by_saturation:
        panel = plots.Panel(title=str(text.d_panel_title(float(key))))
        groups = found.curves.get(key, {})
        for name in ("treated", "untreated"):
            if name in groups:
                panel.curves.append(_curve(groups[name], str(text.d_group[name]), GROUP_COLOURS[name],
                                           page.min_cell))
        if pure is not None:
            panel.curves.append(_curve(pure, str(text.d_group["pure_control"]), GROUP_COLOURS["pure_control"],
                                       page.min_cell))
        panels.append(panel)
    if not panels:
        return None
    fig, axes = plots._figure(7.0, 3.0, 1, len(panels), sharey=True)
    for ax, panel in zip(axes[0], panels, strict=True):
        plots._draw_curves(ax, panel.curves)
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlim(0, page.horizon)
        ax.set_xticks(np.arange(0, page.horizon + 1, 56))
        ax.set_xlabel(str(text.axis_days))
        ax.grid(True, color="#dddddd", linewidth=0.6)
    axes[0][0].set_ylim(0, 1.02)
    axes[0][0].set_ylabel(str(text.d_axis_without_job))
    axes[0][-1].legend(loc="upper right", frameon=False, fontsize=8)
    return plots._svg(fig, "displacement")
