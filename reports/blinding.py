"""How a report shows its arms: their order on the page, the letters A and B, and the direction effects read in.

The analysis reports treatment relative to control. A blinded report reads "B relative to A" (differences A − B),
and which arm is A comes with the inputs (`ReportInputs.blind_order`, derived from a key the renderer never sees), so
when A is the treatment arm every difference is negated and every ratio inverted: neither the signs nor the labels
of a blinded page say which arm is which, and every language and rerun of the same trial agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from reports.formatting import finite
from reports.plots import ARM_COLOURS
from trial.errors import TrialError
from trial.protocol import Protocol
from trial.results import NO_INTERVAL, Effect, Interval, PHTest, PrimaryEffect, Test

BLIND_LETTERS = ("A", "B")

Pair = tuple[float, float]


class EffectView(TypedDict):
    """An effect as the page shows it: finite numbers, and an interval only where both of its ends are known."""

    estimate: float
    ci: Pair | None
    ci_bootstrap: Pair | None
    p: float | None
    se: float | None
    rci: Pair | None


def pair(interval: Interval | None) -> Pair | None:
    """Both ends of an interval as finite floats; None when either end is missing."""
    if interval is None:
        return None
    low, high = finite(interval[0]), finite(interval[1])
    return None if low is None or high is None else (low, high)


def _view(
    estimate: float | None,
    ci: Interval = NO_INTERVAL,
    ci_bootstrap: Interval = NO_INTERVAL,
    p: float | None = None,
    se: float | None = None,
    rci: Interval | None = None,
) -> EffectView | None:
    number = finite(estimate)
    if number is None:
        return None
    return EffectView(
        estimate=number, ci=pair(ci), ci_bootstrap=pair(ci_bootstrap), p=finite(p), se=finite(se), rci=pair(rci)
    )


def effect_view(effect: Effect | PrimaryEffect | None, ci_bootstrap: Interval = NO_INTERVAL) -> EffectView | None:
    """The page's view of a treatment-vs-control effect as the analysis gives it; None when there is no estimate."""
    if effect is None:
        return None
    return _view(effect.estimate, effect.ci, ci_bootstrap, effect.p, effect.se, effect.rci)


def statistic_view(test: Test | PHTest | None) -> EffectView | None:
    """A test as an effect-shaped view (the statistic in place of the estimate), so it is hidden like one."""
    return None if test is None else _view(test.statistic, p=test.p)


def negate(effect: EffectView | None) -> EffectView | None:
    """The same difference the other way round (B − A instead of A − B): intervals negated and swapped."""
    if effect is None:
        return None

    def turn(interval: Pair | None) -> Pair | None:
        return None if interval is None else (-interval[1], -interval[0])

    return EffectView(
        estimate=-effect["estimate"],
        ci=turn(effect["ci"]),
        ci_bootstrap=turn(effect["ci_bootstrap"]),
        p=effect["p"],
        se=effect["se"],
        rci=turn(effect["rci"]),
    )


def invert(effect: EffectView | None) -> EffectView | None:
    """The same ratio the other way round (1/HR): positive intervals inverted and swapped; a zero ratio stays."""
    if effect is None or not effect["estimate"]:
        return effect

    def turn(interval: Pair | None) -> Pair | None:
        return interval if interval is None or interval[0] <= 0 else (1.0 / interval[1], 1.0 / interval[0])

    return EffectView(
        estimate=1.0 / effect["estimate"],
        ci=turn(effect["ci"]),
        ci_bootstrap=turn(effect["ci_bootstrap"]),
        p=effect["p"],
        se=effect["se"],
        rci=turn(effect["rci"]),
    )


def arm_order(protocol: Protocol, blind: bool, blind_order: tuple[str, str] | None = None) -> list[str]:
    """Arm names in page order: treatment then control; blinded, the order the inputs carry (A first).

    A blinded page without an order is refused: a coin toss per rendering would let the Danish and English reports
    of one trial disagree about which arm is A.
    """
    order = [protocol.treatment_arm, protocol.control_arm]
    if not blind:
        return order
    if blind_order is None or sorted(blind_order) != sorted(order):
        raise TrialError("--blind: the report's inputs do not say which arm is A (see trial.evaluation.blind_order)")
    return list(blind_order)


@dataclass(frozen=True)
class ArmSlot:
    """One arm's place on the page: its number, letter and colour; its label and role only when not blind."""

    slot: str
    letter: str
    label: str | None
    role: str | None
    colour: str
    legend: str


@dataclass(frozen=True)
class Blinding:
    """The arms in page order and whether effects are turned round to read "B relative to A"."""

    order: tuple[str, str]
    blind: bool
    flip: bool

    @classmethod
    def of(cls, protocol: Protocol, blind: bool, blind_order: tuple[str, str] | None = None) -> Blinding:
        """The page's blinding: unblinded, treatment first; blinded, the given order (see `arm_order`)."""
        first, second = arm_order(protocol, blind, blind_order)
        return cls(order=(first, second), blind=blind, flip=blind and first == protocol.treatment_arm)

    def difference(
        self, effect: Effect | PrimaryEffect | None, ci_bootstrap: Interval = NO_INTERVAL
    ) -> EffectView | None:
        """A treatment − control difference, turned round when A is the treatment arm."""
        shown = effect_view(effect, ci_bootstrap)
        return negate(shown) if self.flip else shown

    def ratio(self, effect: Effect | PrimaryEffect | None) -> EffectView | None:
        """A treatment / control ratio, inverted when A is the treatment arm."""
        shown = effect_view(effect)
        return invert(shown) if self.flip else shown

    def slots(self, protocol: Protocol, lang: str, group_word: str) -> list[ArmSlot]:
        """The arms in page order; blinded, only "Group A" and "Group B" (`group_word` is the language's word)."""
        out = []
        for i, name in enumerate(self.order):
            arm = next(a for a in protocol.arms if a.name == name)
            label = (arm.label_da if lang == "da" else arm.label_en) or arm.name
            out.append(
                ArmSlot(
                    slot=str(i + 1),
                    letter=BLIND_LETTERS[i],
                    label=None if self.blind else label,
                    role=None if self.blind else arm.role,
                    colour=ARM_COLOURS[i],
                    legend=f"{group_word} {BLIND_LETTERS[i]}" if self.blind else label,
                )
            )
        return out
