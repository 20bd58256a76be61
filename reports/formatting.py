"""One formatter of numbers, intervals, p-values and money in Danish and English, for the report and the terminal.

Danish writes 2.484.000,5 and English 2,484,000.5; a missing figure is a dash. The HTML report typesets the minus
sign as U+2212; the terminal keeps the ASCII hyphen, which copies into a spreadsheet as a number.
"""

from __future__ import annotations

import math
from typing import Any

DASH = "–"


def finite(value: Any) -> float | None:
    """A float for a finite number, otherwise None (so NaN never reaches a reader)."""
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class Numbers:
    """Number formats of one language: `number`, `count`, `percent`, `pvalue`, `interval` and `money`."""

    def __init__(self, lang: str, *, minus: str = "-") -> None:
        if lang not in ("da", "en"):
            raise ValueError(f"lang must be 'da' or 'en'; got {lang!r}")
        self.lang = lang
        self.decimal = "," if lang == "da" else "."
        self.thousands = "." if lang == "da" else ","
        self.minus = minus

    def number(self, value: Any, digits: int = 1) -> str:
        """A decimal number with the language's separators; a dash when missing."""
        number = finite(value)
        if number is None:
            return DASH
        text = f"{number:,.{digits}f}"
        text = text.replace(",", "\x00").replace(".", self.decimal).replace("\x00", self.thousands)
        return text.replace("-", self.minus)

    def short(self, value: Any, digits: int = 1) -> str:
        """A number with at most `digits` decimals and no trailing zeros (575, 137,5), like Python's `:g`."""
        number = finite(value)
        if number is None:
            return DASH
        text = self.number(number, digits)
        if self.decimal in text:
            text = text.rstrip("0").rstrip(self.decimal)
        return text

    def count(self, value: Any) -> str:
        """A whole number of people or spells."""
        number = finite(value)
        return DASH if number is None else self.number(round(number), 0)

    def percent(self, value: Any, digits: int = 1, *, sign: bool = False) -> str:
        """A share 0..1 as a percentage number; with `sign`, followed by the per cent sign."""
        number = finite(value)
        if number is None:
            return DASH
        text = self.number(100 * number, digits)
        return f"{text} %" if sign and self.lang == "da" else (f"{text}%" if sign else text)

    def pvalue(self, value: Any) -> str:
        """p with three decimals, "<0,001" below that."""
        number = finite(value)
        if number is None:
            return DASH
        return "<" + self.number(0.001, 3) if number < 0.001 else self.number(number, 3)

    def interval(self, pair: Any, digits: int = 1, *, scale: float = 1.0) -> str:
        """"2,2 – 17,4": a pair of numbers, each times `scale`; a dash when either end is missing."""
        if pair is None:
            return DASH
        low, high = (finite(x) for x in pair)
        if low is None or high is None:
            return DASH
        return f"{self.number(low * scale, digits)} – {self.number(high * scale, digits)}"

    def money(self, value: Any, currency: str = "DKK", digits: int = 0) -> str:
        """An amount with its currency: "2.484.000 kr." in Danish, "2,484,000 DKK" in English."""
        text = self.number(value, digits)
        if text == DASH:
            return DASH
        unit = "kr." if self.lang == "da" and currency == "DKK" else currency
        return f"{text} {unit}"

    def words(self, danish: str, english: str) -> str:
        """The language's word for a label that has both."""
        return danish if self.lang == "da" else english
