"""The report's figures as inline SVG text: Kaplan-Meier curves, cumulative incidence, and the subgroup forest plot.

Every label arrives from the caller (the templates hold all user-facing text); curves are thinned to a few
hundred points so a trial of any size gives a small SVG.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# Colour-blind safe (Okabe-Ito), given to arms by their order on the page, never by their role.
ARM_COLOURS = ("#0072B2", "#D55E00")
MAX_POINTS = 400


@dataclass
class Curve:
    """One arm's step curve, optionally with a pointwise confidence band."""

    label: str
    colour: str
    time: np.ndarray
    value: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    stop: float | None = None  # drawn up to this time only (where enough people are still at risk)


@dataclass
class ForestRow:
    """One row of the forest plot; `estimate` None leaves the row empty (a suppressed or missing estimate)."""

    label: str
    estimate: float | None
    lower: float | None = None
    upper: float | None = None
    heading: bool = False


@dataclass
class Panel:
    """One small multiple of the cumulative-incidence figure."""

    title: str
    curves: list[Curve] = field(default_factory=list)


_STYLE = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _figure(width: float, height: float, rows: int = 1, columns: int = 1, **kwargs: object):  # type: ignore[no-untyped-def]
    """A bare matplotlib Figure and its axes, without pyplot (its import alone costs a second) and with no GUI."""
    import matplotlib

    with matplotlib.rc_context(_STYLE):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(rows, columns, squeeze=False, **kwargs)
    return fig, axes


def thin_steps(time: np.ndarray, *values: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, ...]:
    """Sample right-continuous step functions on at most `max_points` times, keeping the first and last step.

    Sampling the function on a fine grid keeps its drawn shape while the SVG stays small for 100,000 people.
    """
    time = np.asarray(time, dtype=float)
    if len(time) <= max_points:
        return (time, *(np.asarray(v, dtype=float) for v in values))
    grid = np.unique(np.concatenate([np.linspace(time[0], time[-1], max_points - 1), [time[-1]]]))
    index = np.searchsorted(time, grid, side="right") - 1
    index = np.clip(index, 0, len(time) - 1)
    return (grid, *(np.asarray(v, dtype=float)[index] for v in values))


def _svg(fig, name: str) -> str:  # type: ignore[no-untyped-def]
    """The figure as SVG text ready to inline: no XML prolog, no date, ids unique to this figure."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({**_STYLE, "svg.hashsalt": name}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    # matplotlib names every element ("figure_1", "patch_1"...); prefix them so several SVGs share one page.
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{name}-{m.group(1)})", text)
    text = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{name}-{m.group(1)}"', text)
    # Scale with the page (phones) rather than keep matplotlib's fixed size in points.
    text = re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 class="figure" role="img"', text, count=1)
    return text


def _draw_curves(ax, curves: Sequence[Curve]) -> None:  # type: ignore[no-untyped-def]
    for curve in curves:
        stop = curve.stop
        time, value = np.asarray(curve.time, dtype=float), np.asarray(curve.value, dtype=float)
        arrays = [value]
        if curve.lower is not None and curve.upper is not None:
            arrays += [np.asarray(curve.lower, dtype=float), np.asarray(curve.upper, dtype=float)]
        if stop is not None:
            keep = time <= stop
            time, arrays = time[keep], [a[keep] for a in arrays]
        if len(time) == 0:
            continue
        thinned = thin_steps(time, *arrays)
        t, v = thinned[0], thinned[1]
        if len(thinned) == 4:
            ax.fill_between(t, thinned[2], thinned[3], step="post", color=curve.colour, alpha=0.18, linewidth=0)
        ax.step(t, v, where="post", color=curve.colour, linewidth=1.8, label=curve.label)


def _legend(axes: Sequence[object], **options: object) -> None:
    """A legend on the first of `axes` with a curve drawn; none when every curve is hidden (arms too small)."""
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:  # type: ignore[attr-defined]
            ax.legend(frameon=False, **options)  # type: ignore[attr-defined]
            return


def km_svg(
    curves: Sequence[Curve],
    *,
    horizon: float,
    xlabel: str,
    ylabel: str,
    tick_step: int = 28,
) -> str:
    """Kaplan-Meier curves with 95% bands, ticks every `tick_step` days; each curve ends at its `stop`."""
    fig, axes = _figure(7.0, 3.8)
    ax = axes[0][0]
    _draw_curves(ax, curves)
    ax.set_xlim(0, horizon)
    ax.set_ylim(0, 1.02)
    ax.set_xticks(np.arange(0, horizon + 1, tick_step))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    _legend([ax], loc="upper right")
    return _svg(fig, "km")


def cif_svg(
    panels: Sequence[Panel],
    *,
    horizon: float,
    xlabel: str,
    ylabel: str,
    tick_step: int = 28,
) -> str:
    """Cumulative incidence of each exit as small multiples with a shared y axis, one line per arm."""
    fig, axes = _figure(7.0, 3.0, 1, max(1, len(panels)), sharey=True)
    top = max((float(np.nanmax(c.value)) for p in panels for c in p.curves if len(c.value)), default=0.0)
    for ax, panel in zip(axes[0], panels, strict=True):
        _draw_curves(ax, panel.curves)
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlim(0, horizon)
        ax.set_xticks(np.arange(0, horizon + 1, tick_step * 2))
        ax.set_xlabel(xlabel)
        ax.grid(True, color="#dddddd", linewidth=0.6)
    axes[0][0].set_ylim(0, min(1.0, max(0.05, top * 1.1)))
    axes[0][0].set_ylabel(ylabel)
    _legend(axes[0][::-1], loc="upper left", fontsize=9)
    return _svg(fig, "cif")


def forest_svg(
    rows: Sequence[ForestRow], *, xlabel: str, reference: float = 1.0, log_scale: bool = True, decimal: str = "."
) -> str:
    """A forest plot: one estimate with its interval per row, headings in bold, a line at no effect."""
    fig, axes = _figure(7.0, 0.32 * len(rows) + 1.0)
    ax = axes[0][0]
    y = np.arange(len(rows))[::-1]
    values = [v for r in rows for v in (r.lower, r.upper, r.estimate) if v is not None and np.isfinite(v)]
    for yi, row in zip(y, rows, strict=True):
        if row.estimate is None or not np.isfinite(row.estimate):
            continue
        lo = row.lower if row.lower is not None else row.estimate
        hi = row.upper if row.upper is not None else row.estimate
        ax.plot([lo, hi], [yi, yi], color="#333333", linewidth=1.2)
        ax.plot([row.estimate], [yi], marker="s", color="#333333", markersize=5)
    ax.axvline(reference, color="#888888", linewidth=0.8, linestyle="--")
    ax.set_yticks(y)
    ax.set_yticklabels([r.label for r in rows])
    for label, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row.heading:
            label.set_fontweight("bold")
    if log_scale and values and min(values) > 0:
        ax.set_xscale("log")
        low, high = min([*values, reference]), max([*values, reference])
        ax.set_xlim(low / 1.15, high * 1.15)
        ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4) if low / 1.15 <= t <= high * 1.15]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}".replace(".", decimal) for t in ticks])
        ax.minorticks_off()
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    return _svg(fig, "forest")
