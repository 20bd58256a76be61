"""Render the six-month report: typed inputs → disclosure-controlled context → one self-contained HTML file.

All user-facing text lives in `reports/templates/` (`text_da.html.j2`, `text_en.html.j2`); each section of the page is
one function of `reports.sections`, and `reports.blinding` decides how arms and effects are shown. Everything the
report shows is computed before it is rendered (`trial.results.ReportInputs`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from reports import disclosure, displacement, sections
from reports.blinding import Blinding
from reports.disclosure import Hidden
from reports.formatting import Numbers
from reports.sections import Page
from trial.errors import TrialError
from trial.results import ReportInputs

TEMPLATES = Path(__file__).parent / "templates"


class Formatter:
    """The templates' number filters: `Numbers` with the minus typeset as U+2212, and hidden cells as marks.

    A hidden count shows as "<min_cell"; any other hidden figure shows as the language's hidden mark.
    """

    def __init__(self, lang: str, min_cell: int, hidden_mark: str) -> None:
        self.numbers = Numbers(lang, minus="−")
        self.min_cell = min_cell
        self.hidden_mark = hidden_mark

    def filters(self) -> dict[str, Callable[..., Any]]:
        """The Jinja filters `num`, `count`, `pct` and `p`."""
        numbers = self.numbers
        return {
            "num": self._shown(numbers.number),
            "count": self._shown(numbers.count, count=True),
            "pct": self._shown(numbers.percent),
            "p": self._shown(numbers.pvalue),
        }

    def _shown(self, format_: Callable[..., str], *, count: bool = False) -> Callable[..., Any]:
        def apply(value: Any, *args: Any) -> Any:
            if not isinstance(value, Hidden):
                return format_(value, *args)
            text = f"&lt;{value.min_cell}" if count and value.primary else self.hidden_mark
            return Markup(f'<span class="hidden-cell">{text}</span>')

        return apply


def environment(lang: str, min_cell: int) -> tuple[Environment, Any]:
    """The Jinja environment of one language, and that language's text module (all the report's wording)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    fmt = Formatter(lang, min_cell, "")
    env.filters.update(fmt.filters())
    env.tests["hidden"] = disclosure.is_hidden
    text = env.get_template(f"text_{lang}.html.j2").make_module({"min_cell": min_cell})
    # The mark for a hidden estimate is part of the wording, so it comes from the language's text module.
    fmt.hidden_mark = str(text.hidden_mark)
    return env, text


def context(page: Page) -> dict[str, Any]:
    """The template context: every section of the page, in the order the page shows them."""
    protocol = page.protocol
    headline = sections.headline(page)
    return {
        "lang": page.lang,
        "blind": page.blind,
        "title": protocol.title if page.lang == "da" else (protocol.title_en or protocol.title),
        "protocol": protocol,
        "min_cell": page.min_cell,
        "horizon": int(page.horizon),
        "horizon_weeks": round(page.horizon / 7),
        "arms": page.arms,
        "headline": headline,
        "decision": sections.decision(page),
        "effects": sections.effects(page),
        "effect_rows": sections.effect_rows(page),
        "follow_up": sections.follow_up(page),
        "quality": sections.data_quality(page),
        "notes": sections.notes(page),
        "competing": sections.competing(page),
        "consort": sections.consort(page),
        "baseline": sections.baseline(page),
        "outcomes": sections.outcome_rows(page),
        "at_risk": sections.at_risk(page),
        "km_svg": sections.km_figure(page),
        "cif_svg": sections.cif_figure(page),
        "subgroups": sections.subgroups(page),
        "receipt": sections.receipt(page),
        "savings": sections.savings(page, None if headline is None else headline["view"]),
        "displacement": displacement.section(page),
        "methods": sections.methods(page),
        "landmarks": [str(d) for d in protocol.outcomes.landmarks_days],
        "T": page.text,
    }


def render_html(inputs: ReportInputs, *, lang: str | None = None, blind: bool = False) -> str:
    """The report as one self-contained HTML document (inline CSS and SVG, no scripts, no external requests).

    Blinded, the arms are named A and B in the order `inputs.blind_order` gives (the same in every language and rerun).
    """
    lang = lang or inputs.protocol.report.language
    if lang not in ("da", "en"):
        raise TrialError(f"--lang: the report is written in 'da' or 'en', not '{lang}'")
    env, text = environment(lang, inputs.protocol.report.min_cell)
    page = Page(inputs, lang, Blinding.of(inputs.protocol, blind, inputs.blind_order), text)
    return env.get_template("report.html.j2").render(context(page))
